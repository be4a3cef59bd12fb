"""URLs of the WeChatPay simulator, mounted at /sandbox/wechatpay/."""

app_name = "sandbox_wechatpay"

urlpatterns: list = []
