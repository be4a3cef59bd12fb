from django.apps import AppConfig


class SandboxAlipayConfig(AppConfig):
    """A local simulator of Alipay's wire protocol (its own tables, its own URLs under /sandbox/alipay/)."""

    name = "clearhouse.sandbox.alipay"
    label = "sandbox_alipay"
    verbose_name = "Sandbox: Alipay simulator"
