from django.apps import AppConfig


class SandboxWeChatPayConfig(AppConfig):
    """A local simulator of WeChatPay's wire protocol (its own tables, its own URLs under /sandbox/wechatpay/)."""

    name = "clearhouse.sandbox.wechatpay"
    label = "sandbox_wechatpay"
    verbose_name = "Sandbox: WeChatPay simulator"
