from django.apps import AppConfig


class SandboxPayPalConfig(AppConfig):
    """A local simulator of PayPal's wire protocol (its own tables, its own URLs under /sandbox/paypal/)."""

    name = "clearhouse.sandbox.paypal"
    label = "sandbox_paypal"
    verbose_name = "Sandbox: PayPal simulator"
