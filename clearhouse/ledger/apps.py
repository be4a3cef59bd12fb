from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "clearhouse.ledger"
    label = "ledger"
    verbose_name = "Ledger"
