from django.apps import AppConfig


class SandboxStripeConfig(AppConfig):
    """A local simulator of Stripe's wire protocol (its own tables, its own URLs under /sandbox/stripe/)."""

    name = "clearhouse.sandbox.stripe"
    label = "sandbox_stripe"
    verbose_name = "Sandbox: Stripe simulator"

    def ready(self) -> None:
        from clearhouse.core.scheduler import schedule_register

        # Events the endpoint did not accept are sent again with backoff, as Stripe does.
        schedule_register(name="sandbox_stripe.event_retries", every_s=30,
                          task_path="clearhouse.sandbox.stripe.tasks.retry_stripe_event_deliveries")
