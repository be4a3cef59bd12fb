from django.urls import path

from clearhouse.web import merchant_views, order_views, shop_views, views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("shop/", shop_views.shop_catalog, name="shop"),
    path("shop/p/<int:product_id>/", shop_views.shop_product, name="product"),
    path("shop/cart/add/", shop_views.cart_add, name="cart_add"),
    path("cart/", order_views.cart_page, name="cart"),
    path("cart/<int:line_id>/quantity/", order_views.cart_line_update, name="cart_line_update"),
    path("cart/<int:line_id>/remove/", order_views.cart_line_delete, name="cart_line_remove"),
    path("checkout/", order_views.checkout_page, name="checkout"),
    path("orders/", order_views.my_orders, name="orders"),
    path("orders/<str:number>/", order_views.my_order, name="order"),
    path("orders/<str:number>/cancel/", order_views.my_order_cancel, name="order_cancel"),
    path("merchant/orders/", order_views.merchant_orders, name="merchant_orders"),
    path("merchant/orders/<str:number>/", order_views.merchant_order, name="merchant_order"),
    path("merchant/orders/<str:number>/action/", order_views.merchant_order_action, name="merchant_order_action"),
    path("merchant/stock/", merchant_views.merchant_stock, name="merchant_stock"),
    path("merchant/low-stock/", merchant_views.merchant_low_stock, name="merchant_low_stock"),
    path("ledger/trial-balance/", views.trial_balance_page, name="trial_balance"),
    path("healthz", views.healthz, name="healthz"),
]
