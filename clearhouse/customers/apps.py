from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "clearhouse.customers"
    label = "customers"
    verbose_name = "Customers"
