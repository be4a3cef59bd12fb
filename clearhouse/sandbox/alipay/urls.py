"""URLs of the Alipay simulator, mounted at /sandbox/alipay/: the gateway and the buyer's pages."""

from django.urls import path

from clearhouse.sandbox.alipay import gateway, views

app_name = "sandbox_alipay"

urlpatterns = [
    path("gateway.do", gateway.gateway, name="gateway"),
    path("cashier/<str:token>/", views.cashier, name="cashier"),
    path("qr/<str:token>/", views.cashier, name="scan"),
]
