from django.apps import AppConfig


class SandboxWeChatPayConfig(AppConfig):
    """A local simulator of WeChatPay's wire protocol (its own tables, its own URLs under /sandbox/wechatpay/)."""

    name = "clearhouse.sandbox.wechatpay"
    label = "sandbox_wechatpay"
    verbose_name = "Sandbox: WeChatPay simulator"

    def ready(self) -> None:
        from clearhouse.core.scheduler import schedule_register

        # Callbacks the merchant did not acknowledge are sent again on WeChat Pay's schedule.
        schedule_register(name="sandbox_wechatpay.callback_retries", every_s=15,
                          task_path="clearhouse.sandbox.wechatpay.tasks.retry_notifications")
