from django.apps import AppConfig


class SettlementConfig(AppConfig):
    name = "clearhouse.settlement"
    label = "settlement"
    verbose_name = "Settlement"
