from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "clearhouse.orders"
    label = "orders"
    verbose_name = "Orders"
