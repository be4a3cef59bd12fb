from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "clearhouse.api"
    label = "api"
    verbose_name = "API"
