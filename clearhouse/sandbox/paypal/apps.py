from django.apps import AppConfig


class SandboxPayPalConfig(AppConfig):
    """A local simulator of PayPal's wire protocol (its own tables, its own URLs under /sandbox/paypal/)."""

    name = "clearhouse.sandbox.paypal"
    label = "sandbox_paypal"
    verbose_name = "Sandbox: PayPal simulator"

    def ready(self) -> None:
        from clearhouse.core.scheduler import schedule_register

        # Webhooks our endpoint did not accept are sent again with backoff (as PayPal does).
        schedule_register(name="sandbox_paypal.webhook_retries", every_s=30,
                          task_path="clearhouse.sandbox.paypal.tasks.retry_webhook_deliveries")
