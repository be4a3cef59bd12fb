"""Row locks of orders, taken inside services only (DESIGN §12.7).

Lock order, everywhere: a customer's cart, the number counter, an order,
coupons, then (inside the customers and inventory services) the customer's
profile and stock rows. Checkout and cancel take them in this order, so
they can wait for one another but never deadlock.
"""

from __future__ import annotations

from clearhouse.orders.models import Cart, Order


def cart_select_for_update(*, customer_id: int) -> Cart:
    """The customer's cart, made if missing, locked: one checkout or cart change per customer at a time."""
    Cart.objects.bulk_create([Cart(customer_id=customer_id)], ignore_conflicts=True)
    return Cart.objects.select_for_update().get(customer_id=customer_id)


def order_select_for_update(*, order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)
