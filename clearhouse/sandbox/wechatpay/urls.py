"""URLs of the WeChat Pay simulator, mounted at /sandbox/wechatpay/: API v3 at the real gateway's paths
(so `api_base` is `<site>/sandbox/wechatpay`), the buyer's scan page, and test controls."""

from django.urls import path

from clearhouse.sandbox.wechatpay import api, views

app_name = "sandbox_wechatpay"

urlpatterns = [
    path("v3/pay/transactions/native", api.native, name="native"),
    path("v3/pay/transactions/out-trade-no/<str:out_trade_no>", api.transaction_by_out_trade_no,
         name="transaction"),
    path("v3/pay/transactions/out-trade-no/<str:out_trade_no>/close", api.close, name="close"),
    path("v3/pay/transactions/id/<str:transaction_id>", api.transaction_by_transaction_id, name="transaction_id"),
    path("v3/refund/domestic/refunds", api.refunds, name="refunds"),
    path("v3/refund/domestic/refunds/<str:out_refund_no>", api.refund_detail, name="refund"),
    path("v3/certificates", api.certificates, name="certificates"),
    path("test/controls", api.test_controls, name="test_controls"),
    path("test/release_held", api.test_release_held, name="test_release_held"),
    path("scan/", views.scan, name="scan"),
]
