"""Releasing (cancel, expiry) and committing (shipping) reservations: each ends once; repeats do nothing."""

from __future__ import annotations

import pytest

from clearhouse.core.errors import InvalidTransition
from clearhouse.inventory.domain import ReservationNotFound
from clearhouse.inventory.models import Reservation, StockMovement
from clearhouse.inventory.services import stock_commit, stock_receive, stock_release, stock_reserve
from tests.inventory.support import counters, log_totals


@pytest.fixture
def held(sku, sku2):
    stock_receive(variant_id=sku.pk, quantity=5)
    stock_receive(variant_id=sku2.pk, quantity=5)
    stock_reserve(lines=[(sku.pk, 2), (sku2.pk, 1)], reference="SO-1")
    return sku, sku2


def test_release_gives_the_units_back(held):
    sku, sku2 = held
    released = stock_release(reference="SO-1", actor="user:3 ann")
    assert len(released) == 2
    assert counters(sku) == (5, 0) and counters(sku2) == (5, 0)
    assert set(Reservation.objects.values_list("status", flat=True)) == {"released"}
    assert all(r.resolved_at for r in Reservation.objects.all())
    assert log_totals(sku) == (5, 0)


def test_releasing_twice_does_nothing_the_second_time(held):
    sku, _ = held
    stock_release(reference="SO-1")
    movements = StockMovement.objects.count()
    assert stock_release(reference="SO-1") == []
    assert counters(sku) == (5, 0)
    assert StockMovement.objects.count() == movements


def test_commit_takes_the_units_out_of_the_warehouse(held):
    sku, sku2 = held
    committed = stock_commit(reference="SO-1")
    assert {r.status for r in committed} == {"committed"}
    assert counters(sku) == (3, 0) and counters(sku2) == (4, 0)
    assert log_totals(sku) == (3, 0)


def test_committing_twice_does_nothing_the_second_time(held):
    sku, _ = held
    stock_commit(reference="SO-1")
    assert stock_commit(reference="SO-1") == []
    assert counters(sku) == (3, 0)


def test_a_shipped_order_cannot_be_released_nor_a_released_one_shipped(held, sku):
    stock_commit(reference="SO-1")
    with pytest.raises(InvalidTransition):
        stock_release(reference="SO-1")
    stock_reserve(lines=[(sku.pk, 1)], reference="SO-2")
    stock_release(reference="SO-2")
    with pytest.raises(InvalidTransition):
        stock_commit(reference="SO-2")
    assert counters(sku) == (3, 0)


def test_an_unknown_reference_is_not_found(db):
    for service in (stock_release, stock_commit):
        with pytest.raises(ReservationNotFound) as exc:
            service(reference="SO-nope")
        assert exc.value.code == "reservation_not_found" and exc.value.http_status == 404
