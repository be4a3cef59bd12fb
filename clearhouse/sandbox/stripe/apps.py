from django.apps import AppConfig


class SandboxStripeConfig(AppConfig):
    """A local simulator of Stripe's wire protocol (its own tables, its own URLs under /sandbox/stripe/)."""

    name = "clearhouse.sandbox.stripe"
    label = "sandbox_stripe"
    verbose_name = "Sandbox: Stripe simulator"
