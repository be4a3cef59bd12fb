from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "clearhouse.web"
    label = "web"
    verbose_name = "Web"
