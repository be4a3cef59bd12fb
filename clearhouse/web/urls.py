from django.urls import path

from clearhouse.web import merchant_views, shop_views, views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("shop/", shop_views.shop_catalog, name="shop"),
    path("shop/p/<int:product_id>/", shop_views.shop_product, name="product"),
    path("shop/cart/add/", shop_views.cart_add, name="cart_add"),
    path("merchant/stock/", merchant_views.merchant_stock, name="merchant_stock"),
    path("merchant/low-stock/", merchant_views.merchant_low_stock, name="merchant_low_stock"),
    path("ledger/trial-balance/", views.trial_balance_page, name="trial_balance"),
    path("healthz", views.healthz, name="healthz"),
]
