from django.apps import AppConfig


class SettlementConfig(AppConfig):
    name = "clearhouse.settlement"
    label = "settlement"
    verbose_name = "Settlement"

    def ready(self) -> None:
        from clearhouse.core.scheduler import schedule_register

        # Daily (after 00:00 UTC): statements are keyed per run day, so a second scheduler or a retry
        # creates nothing twice.
        schedule_register(name="settlement.run", task_path="clearhouse.settlement.tasks.settlement_run_due",
                          every_s=86400)
