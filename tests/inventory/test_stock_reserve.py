"""Reservations for orders: all lines or none, never more than is available, safe to retry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from clearhouse.inventory.domain import (
    DuplicateLine,
    InsufficientStock,
    InvalidQuantity,
    ReservationConflict,
    UnknownSku,
)
from clearhouse.inventory.models import Reservation, StockMovement
from clearhouse.inventory.services import stock_receive, stock_release, stock_reserve
from tests.inventory.support import counters, log_totals


@pytest.fixture
def stocked(sku, sku2):
    stock_receive(variant_id=sku.pk, quantity=5)
    stock_receive(variant_id=sku2.pk, quantity=2)
    return sku, sku2


def test_a_reservation_holds_units_of_every_line(stocked):
    sku, sku2 = stocked
    expires = timezone.now() + timedelta(minutes=30)
    held = stock_reserve(lines=[(sku2.pk, 2), (sku.pk, 3)], reference="SO-20261123-000001", expires_at=expires,
                         actor="user:3 ann")
    assert [(r.variant_id, r.quantity, r.status) for r in held] == [(sku.pk, 3, "active"), (sku2.pk, 2, "active")]
    assert all(r.expires_at == expires and r.merchant_id == sku.merchant_id for r in held)
    assert counters(sku) == (5, 3) and counters(sku2) == (2, 2)
    assert log_totals(sku) == (5, 3) and log_totals(sku2) == (2, 2)
    movement = StockMovement.objects.get(kind="reserve", variant=sku)
    assert (movement.reference_id, movement.reservation_id, movement.actor) == (
        "SO-20261123-000001", held[0].pk, "user:3 ann")


def test_one_short_line_holds_nothing_at_all(stocked):
    sku, sku2 = stocked
    with pytest.raises(InsufficientStock) as exc:
        stock_reserve(lines=[(sku.pk, 3), (sku2.pk, 3)], reference="SO-1")
    assert exc.value.code == "insufficient_stock" and exc.value.http_status == 409
    assert exc.value.param == "lines[1]"  # the caller's second line
    assert "Only 2" in exc.value.message
    assert counters(sku) == (5, 0) and counters(sku2) == (2, 0)
    assert not Reservation.objects.exists()
    assert not StockMovement.objects.filter(kind="reserve").exists()


def test_units_already_reserved_are_not_available(stocked):
    sku, _ = stocked
    stock_reserve(lines=[(sku.pk, 4)], reference="SO-1")
    with pytest.raises(InsufficientStock):
        stock_reserve(lines=[(sku.pk, 2)], reference="SO-2")
    stock_reserve(lines=[(sku.pk, 1)], reference="SO-3")
    assert counters(sku) == (5, 5)


def test_a_sku_never_stocked_is_short_not_unknown(sku):
    with pytest.raises(InsufficientStock):
        stock_reserve(lines=[(sku.pk, 1)], reference="SO-1")


@pytest.mark.parametrize(("lines", "error", "param"), [
    ("zero", InvalidQuantity, "lines[0].quantity"),
    ("negative", InvalidQuantity, "lines[1].quantity"),
    ("unknown", UnknownSku, "lines[1].variant_id"),
    ("duplicate", DuplicateLine, "lines[1].variant_id"),
])
def test_bad_lines_are_refused_with_their_code_and_nothing_changes(stocked, lines, error, param):
    sku, sku2 = stocked
    lines = {"zero": [(sku.pk, 0)], "negative": [(sku.pk, 1), (sku2.pk, -1)], "unknown": [(sku.pk, 1), (987_654, 1)],
             "duplicate": [(sku.pk, 1), (sku.pk, 1)]}[lines]
    with pytest.raises(error) as exc:
        stock_reserve(lines=lines, reference="SO-1")
    assert exc.value.param == param
    assert counters(sku) == (5, 0) and counters(sku2) == (2, 0)
    assert not Reservation.objects.exists()


def test_a_reference_is_required(stocked):
    sku, _ = stocked
    for reference in ("", "  ", "x" * 101, None):
        with pytest.raises(Exception) as exc:
            stock_reserve(lines=[(sku.pk, 1)], reference=reference)
        assert exc.value.param == "reference"


def test_retrying_the_same_reservation_holds_the_units_once(stocked):
    sku, sku2 = stocked
    first = stock_reserve(lines=[(sku.pk, 2), (sku2.pk, 1)], reference="SO-1")
    again = stock_reserve(lines=[(sku2.pk, 1), (sku.pk, 2)], reference="SO-1")
    assert {r.pk for r in again} == {r.pk for r in first}
    assert counters(sku) == (5, 2)


def test_a_different_hold_under_an_active_reference_is_a_conflict(stocked):
    sku, _ = stocked
    stock_reserve(lines=[(sku.pk, 2)], reference="SO-1")
    with pytest.raises(ReservationConflict) as exc:
        stock_reserve(lines=[(sku.pk, 3)], reference="SO-1")
    assert exc.value.code == "reservation_exists"
    assert counters(sku) == (5, 2)


def test_after_a_release_the_reference_can_hold_again(stocked):
    sku, _ = stocked
    stock_reserve(lines=[(sku.pk, 2)], reference="SO-1")
    stock_release(reference="SO-1")
    stock_reserve(lines=[(sku.pk, 4)], reference="SO-1")  # the order was edited before approval
    assert counters(sku) == (5, 4)
