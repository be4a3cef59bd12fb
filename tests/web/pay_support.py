"""Orders to pay in web tests: products of two shops, an order placed for a customer, payments in a given state."""

from __future__ import annotations

from urllib.parse import urlsplit

from clearhouse.orders.models import Order
from tests.catalog.support import make_category, make_product, only_variant
from tests.orders.support import buy


def shop_variants(merchant, other_merchant):
    """(tea at 168.00 of `merchant`, noodles at 19.99 of `other_merchant`), 50 in stock each."""
    tea = make_category("Tea", name_zh_hans="茶")
    longjing = only_variant(make_product(merchant, tea, "Longjing", sku="PAY-TEA", price="168.00", stock=50))
    noodles = only_variant(make_product(other_merchant, tea, "Noodles", sku="PAY-NOODLE", price="19.99", stock=50))
    return longjing, noodles


def order_for(customer, variant, quantity: int = 1) -> Order:
    return buy(customer, (variant, quantity)).orders.get()


def local(url: str) -> str:
    """The path and query of an absolute URL (the test client serves every host)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
