"""Building carts and checking out in order tests, and reading back what a refusal must leave alone."""

from __future__ import annotations

from clearhouse.customers.selectors import points_balance
from clearhouse.inventory.models import StockItem
from clearhouse.orders.models import CartLine, CheckoutGroup, Coupon, CouponRedemption, Order
from clearhouse.orders.services import ShippingAddress, cart_line_add, checkout_submit

HOME = ShippingAddress(recipient="Lin Mei", phone="13800000000", region="Zhejiang", city="Hangzhou",
                       line="1 West Lake Road", postal_code="310000")


def fill_cart(customer, *items) -> None:
    """items: (variant, quantity) pairs."""
    for variant, quantity in items:
        cart_line_add(customer=customer, variant_id=variant.pk, quantity=quantity)


def buy(customer, *items, **checkout):
    fill_cart(customer, *items)
    return checkout_submit(customer=customer, address=HOME, **checkout)


def world(customer) -> dict:
    """Everything a refused checkout or order change must leave as it was."""
    return {
        "stock": sorted(StockItem.objects.values_list("variant_id", "on_hand", "reserved")),
        "coupons": sorted(Coupon.objects.values_list("code", "used_count")),
        "redemptions": CouponRedemption.objects.filter(released_at__isnull=True).count(),
        "points": points_balance(customer=customer).points,
        "orders": sorted(Order.objects.values_list("number", "status", "total_minor")),
        "groups": CheckoutGroup.objects.count(),
        "cart": sorted(CartLine.objects.filter(cart__customer=customer).values_list("variant_id", "quantity")),
    }
