from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _forget_chart_accounts(sender, **kwargs) -> None:
    # After migrate or flush the accounts remembered by the chart may be gone.
    from clearhouse.ledger.chart import chart_cache_clear

    chart_cache_clear()


class LedgerConfig(AppConfig):
    name = "clearhouse.ledger"
    label = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        post_migrate.connect(_forget_chart_accounts, sender=self, dispatch_uid="ledger_chart_cache")
