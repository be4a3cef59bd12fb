"""URLs of the Stripe simulator, mounted at /sandbox/stripe/."""

app_name = "sandbox_stripe"

urlpatterns: list = []
