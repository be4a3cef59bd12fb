"""Concurrent checkouts on PostgreSQL: the last unit goes to exactly one order."""

from __future__ import annotations

import pytest

from clearhouse.core.errors import DomainError
from clearhouse.customers.services import customer_profile_ensure
from clearhouse.orders.models import Order
from clearhouse.orders.services import checkout_submit, order_approve, order_mark_paid, order_ship
from tests.inventory.support import counters
from tests.orders.support import HOME, fill_cart
from tests.support import run_threads

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_two_customers_checking_out_the_last_unit_one_order_wins(customer, other_customer_user, merchant, tea):
    from tests.catalog.support import make_product, only_variant

    last = only_variant(make_product(merchant, tea, "Last tin", sku="LAST-1", price="88.00", stock=1))
    buyers = [customer, customer_profile_ensure(user=other_customer_user)]
    for buyer in buyers:
        fill_cart(buyer, (last, 1))  # both carts see one available

    def work(i: int):
        return checkout_submit(customer=buyers[i], address=HOME).pk

    results, errors = run_threads(2, work)
    assert len([r for r in results if r is not None]) == 1
    assert len(errors) == 1 and isinstance(errors[0], DomainError) and errors[0].code == "insufficient_stock"
    assert counters(last) == (1, 1)  # 0 available
    order = Order.objects.get()
    assert order.lines.get().quantity == 1
    order_approve(order=order)
    order_mark_paid(order=order)
    order_ship(order=order, carrier="SF", tracking_number="1")
    assert counters(last) == (0, 0)


def test_concurrent_checkouts_spanning_two_merchants_in_opposite_orders_never_deadlock(
        customer, other_customer_user, merchant, other_merchant, tea):
    from tests.catalog.support import make_product, only_variant

    a = only_variant(make_product(merchant, tea, "A", sku="A-1", price="10.00", stock=50))
    b = only_variant(make_product(other_merchant, tea, "B", sku="B-1", price="10.00", stock=50))
    buyers = [customer, customer_profile_ensure(user=other_customer_user)]
    fill_cart(buyers[0], (a, 1), (b, 1))
    fill_cart(buyers[1], (b, 1), (a, 1))

    _, errors = run_threads(2, lambda i: checkout_submit(customer=buyers[i], address=HOME).pk)
    assert errors == []
    assert Order.objects.count() == 4
    assert counters(a) == (50, 2) and counters(b) == (50, 2)
