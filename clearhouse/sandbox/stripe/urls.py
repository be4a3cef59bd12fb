"""URLs of the Stripe simulator, mounted at /sandbox/stripe/: its v1 API (the adapter's api_base is this
prefix, the SDK adds /v1/...), its test controls, and the customer's payment and 3-D Secure pages."""

from django.urls import path

from clearhouse.sandbox.stripe import api, views

app_name = "sandbox_stripe"

urlpatterns = [
    path("v1/payment_intents", api.payment_intents, name="payment_intents"),
    path("v1/payment_intents/<str:intent_id>", api.payment_intent, name="payment_intent"),
    path("v1/payment_intents/<str:intent_id>/confirm", api.payment_intent_confirm, name="payment_intent_confirm"),
    path("v1/payment_intents/<str:intent_id>/capture", api.payment_intent_capture, name="payment_intent_capture"),
    path("v1/payment_intents/<str:intent_id>/cancel", api.payment_intent_cancel, name="payment_intent_cancel"),
    path("v1/refunds", api.refunds, name="refunds"),
    path("v1/refunds/<str:refund_id>", api.refund, name="refund"),
    path("_test/controls", api.test_controls, name="test_controls"),
    path("_test/controls/release_held", api.test_controls_release_held, name="test_controls_release_held"),
    path("_test/controls/settle_refunds", api.test_controls_settle_refunds, name="test_controls_settle_refunds"),
    path("pay/<str:intent_id>/", views.pay, name="pay"),
    path("authenticate/<str:intent_id>/", views.authenticate, name="authenticate"),
]
