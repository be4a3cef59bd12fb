"""URLs of the Alipay simulator, mounted at /sandbox/alipay/."""

app_name = "sandbox_alipay"

urlpatterns: list = []
