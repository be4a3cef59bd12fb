"""URLs of the sandbox card provider, mounted at /sandbox/: its JSON API (v1/) and its hosted pages."""

from django.urls import include, path

from clearhouse.sandbox import api, views

app_name = "sandbox"

urlpatterns = [
    path("v1/payment_intents", api.payment_intents, name="payment_intents"),
    path("v1/payment_intents/<str:intent_id>", api.payment_intent_detail, name="payment_intent"),
    path("v1/payment_intents/<str:intent_id>/confirm", api.payment_intent_confirm, name="payment_intent_confirm"),
    path("v1/payment_intents/<str:intent_id>/capture", api.payment_intent_capture, name="payment_intent_capture"),
    path("v1/payment_intents/<str:intent_id>/cancel", api.payment_intent_cancel, name="payment_intent_cancel"),
    path("v1/refunds", api.refunds, name="refunds"),
    path("v1/refunds/<str:refund_id>", api.refund_detail, name="refund"),
    path("v1/test_controls", api.test_controls, name="test_controls"),
    path("v1/test_controls/release_held", api.test_controls_release_held, name="test_controls_release_held"),
    path("checkout/<str:intent_id>/", views.checkout, name="checkout"),
    path("authenticate/<str:intent_id>/", views.authenticate, name="authenticate"),
    # Simulators of the real providers' wire protocols, one Django app each.
    path("stripe/", include("clearhouse.sandbox.stripe.urls")),
    path("paypal/", include("clearhouse.sandbox.paypal.urls")),
    path("alipay/", include("clearhouse.sandbox.alipay.urls")),
    path("wechatpay/", include("clearhouse.sandbox.wechatpay.urls")),
]
