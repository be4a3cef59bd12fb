"""URLs of the PayPal simulator, mounted at /sandbox/paypal/ (paths as on api-m.paypal.com and paypal.com)."""

from django.urls import path

from clearhouse.sandbox.paypal import api, views

app_name = "sandbox_paypal"

urlpatterns = [
    path("v1/oauth2/token", api.oauth2_token, name="oauth2_token"),
    path("v2/checkout/orders", api.orders, name="orders"),
    path("v2/checkout/orders/<str:order_id>", api.order_detail, name="order"),
    path("v2/checkout/orders/<str:order_id>/capture", api.order_capture, name="order_capture"),
    path("v2/payments/captures/<str:capture_id>", api.capture_detail, name="capture"),
    path("v2/payments/captures/<str:capture_id>/refund", api.capture_refund, name="capture_refund"),
    path("v2/payments/refunds/<str:refund_id>", api.refund_detail, name="refund"),
    path("v1/notifications/verify-webhook-signature", api.verify_webhook_signature, name="verify_webhook_signature"),
    path("v1/notifications/certs/<str:cert_id>", api.cert, name="cert"),
    path("v1/test_controls", api.test_controls, name="test_controls"),
    path("v1/test_controls/release_held", api.test_controls_release_held, name="test_controls_release_held"),
    path("v1/test_controls/expire_tokens", api.test_controls_expire_tokens, name="test_controls_expire_tokens"),
    path("v1/test_controls/captures/<str:capture_id>", api.test_controls_settle_capture,
         name="test_controls_settle_capture"),
    path("checkoutnow", views.checkoutnow, name="checkoutnow"),
]
