from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "clearhouse.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox"

    def ready(self) -> None:
        from clearhouse.core.scheduler import schedule_register

        # Webhooks the receiver did not accept are sent again with backoff (as a provider would).
        schedule_register(name="sandbox.webhook_retries", every_s=30,
                          task_path="clearhouse.sandbox.tasks.retry_webhook_deliveries")
