from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "clearhouse.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from clearhouse.core.scheduler import schedule_register

        # A payment whose outcome we do not know is asked about within a minute (then with backoff).
        schedule_register(name="payments.resolve_stuck", every_s=60,
                          task_path="clearhouse.payments.tasks.resolve_stuck_payments")
        schedule_register(name="payments.reminders", every_s=60,
                          task_path="clearhouse.payments.tasks.send_payment_reminders")
