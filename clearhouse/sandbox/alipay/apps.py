from django.apps import AppConfig


class SandboxAlipayConfig(AppConfig):
    """A local simulator of Alipay's wire protocol (its own tables, its own URLs under /sandbox/alipay/)."""

    name = "clearhouse.sandbox.alipay"
    label = "sandbox_alipay"
    verbose_name = "Sandbox: Alipay simulator"

    def ready(self) -> None:
        from clearhouse.core.scheduler import schedule_register

        # Notifications the merchant did not acknowledge with `success` are sent again on Alipay's schedule.
        schedule_register(name="sandbox_alipay.notify_retries", every_s=60,
                          task_path="clearhouse.sandbox.alipay.tasks.retry_notification_deliveries")
