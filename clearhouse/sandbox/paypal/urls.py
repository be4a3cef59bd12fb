"""URLs of the PayPal simulator, mounted at /sandbox/paypal/."""

app_name = "sandbox_paypal"

urlpatterns: list = []
