"""Concurrent buyers on PostgreSQL: the last unit is sold once, and stock never goes negative.

Real threads with their own connections, released together by a barrier,
so these need PostgreSQL (row locks, concurrent transactions) and committed
data (`transaction=True`).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from clearhouse.inventory.domain import InsufficientStock
from clearhouse.inventory.models import Reservation, StockItem
from clearhouse.inventory.services import stock_commit, stock_receive, stock_release, stock_reserve
from tests.inventory.support import counters, log_totals
from tests.support import run_threads

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def buyer(variant_id: int, quantity: int = 1) -> Callable[[int], str]:
    def buy(i: int) -> str:
        try:
            stock_reserve(lines=[(variant_id, quantity)], reference=f"SO-{i}")
        except InsufficientStock as exc:
            return exc.code
        return "reserved"

    return buy


def test_two_buyers_of_the_last_unit_exactly_one_gets_it(sku):
    stock_receive(variant_id=sku.pk, quantity=1)
    results, errors = run_threads(2, buyer(sku.pk))
    assert errors == []
    assert sorted(results) == ["insufficient_stock", "reserved"]
    assert counters(sku) == (1, 1)  # reserved == on_hand == 1
    winner = Reservation.objects.get(status="active")
    stock_commit(reference=winner.reference)
    assert counters(sku) == (0, 0)
    assert log_totals(sku) == (0, 0)


def test_ten_buyers_for_three_units_three_get_one_each(sku):
    stock_receive(variant_id=sku.pk, quantity=3)
    results, errors = run_threads(10, buyer(sku.pk))
    assert errors == []
    assert results.count("reserved") == 3 and results.count("insufficient_stock") == 7
    assert counters(sku) == (3, 3)
    for reservation in Reservation.objects.filter(status="active"):
        stock_commit(reference=reservation.reference)
    assert counters(sku) == (0, 0)
    assert StockItem.objects.get(variant=sku).on_hand == 0
    assert log_totals(sku) == (0, 0)


def test_orders_for_two_skus_in_opposite_order_never_deadlock(sku, sku2):
    stock_receive(variant_id=sku.pk, quantity=1000)
    stock_receive(variant_id=sku2.pk, quantity=1000)

    def shopper(i: int) -> int:
        for n in range(10):
            lines = [(sku.pk, 1), (sku2.pk, 1)] if i % 2 else [(sku2.pk, 1), (sku.pk, 1)]
            stock_reserve(lines=lines, reference=f"SO-{i}-{n}")
        return 10

    results, errors = run_threads(8, shopper)
    assert errors == []
    assert sum(results) == 80
    assert counters(sku) == (1000, 80) and counters(sku2) == (1000, 80)


def test_a_release_racing_a_commit_ends_the_reservation_once(sku):
    stock_receive(variant_id=sku.pk, quantity=5)
    stock_reserve(lines=[(sku.pk, 2)], reference="SO-1")

    def end(i: int) -> str:
        service = stock_commit if i % 2 else stock_release
        try:
            return f"{service.__name__}:{len(service(reference='SO-1'))}"
        except Exception as exc:  # the loser may find the state already final
            return type(exc).__name__

    results, errors = run_threads(6, end)
    assert errors == []
    reservation = Reservation.objects.get(reference="SO-1")
    winners = [r for r in results if r.endswith(":1")]
    assert len(winners) == 1
    assert counters(sku) == ((3, 0) if reservation.status == "committed" else (5, 0))
    assert log_totals(sku) == counters(sku)
