"""Inventory rules without a database: quantities, reservation lines and states, movements, crossings."""

from __future__ import annotations

import pytest

from clearhouse.core.errors import InvalidTransition
from clearhouse.inventory.domain import (
    MAX_QUANTITY,
    TRANSITIONS,
    Crossing,
    DuplicateLine,
    InvalidQuantity,
    MovementKind,
    ReservationStatus,
    UnknownSku,
    check_quantity,
    check_transition,
    low_stock_crossing,
    movement_deltas,
    reserve_lines,
)


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1, 1.0, "1", True, None])
def test_quantities_are_positive_whole_numbers(quantity):
    with pytest.raises(InvalidQuantity) as exc:
        check_quantity(quantity)
    assert exc.value.code == "invalid_quantity" and exc.value.http_status == 400


def test_a_signed_adjustment_may_be_negative_but_not_zero():
    assert check_quantity(-3, signed=True) == -3
    with pytest.raises(InvalidQuantity):
        check_quantity(0, signed=True)


def test_lines_come_back_in_variant_order_and_remember_their_place():
    lines = reserve_lines([(9, 1), (3, 2), (5, 1)])
    assert [(ln.variant_id, ln.quantity, ln.param) for ln in lines] == [
        (3, 2, "lines[1]"), (5, 1, "lines[2]"), (9, 1, "lines[0]")]


@pytest.mark.parametrize(("lines", "error", "param"), [
    ([(1, 0)], InvalidQuantity, "lines[0].quantity"),
    ([(1, 1), (2, -5)], InvalidQuantity, "lines[1].quantity"),
    ([(1, 1), (1, 2)], DuplicateLine, "lines[1].variant_id"),
    ([(0, 1)], UnknownSku, "lines[0].variant_id"),
    ([("TEA-1", 1)], UnknownSku, "lines[0].variant_id"),
    ([], InvalidQuantity, "lines"),
])
def test_bad_lines_are_refused_naming_the_line(lines, error, param):
    with pytest.raises(error) as exc:
        reserve_lines(lines)
    assert exc.value.param == param


def test_each_movement_moves_the_counters_one_fixed_way():
    assert movement_deltas(MovementKind.RECEIVE, 5) == (5, 0)
    assert movement_deltas(MovementKind.ADJUST, -2) == (-2, 0)
    assert movement_deltas(MovementKind.RESERVE, 3) == (0, 3)
    assert movement_deltas(MovementKind.RELEASE, 3) == (0, -3)
    assert movement_deltas(MovementKind.COMMIT, 3) == (-3, -3)


def test_a_reservation_ends_once_released_or_committed():
    assert TRANSITIONS[ReservationStatus.ACTIVE] == {ReservationStatus.RELEASED, ReservationStatus.COMMITTED}
    assert check_transition("active", "committed") == ReservationStatus.COMMITTED
    for done in ("released", "committed"):
        for to in ("active", "released", "committed"):
            with pytest.raises(InvalidTransition):
                check_transition(done, to)


@pytest.mark.parametrize(("was_low", "available", "threshold", "crossing"), [
    (False, 6, 5, Crossing.NONE),
    (False, 5, 5, Crossing.ENTERED_LOW),  # "drops to or below"
    (False, 0, 0, Crossing.ENTERED_LOW),
    (True, 3, 5, Crossing.NONE),  # still low: no second alert
    (True, 6, 5, Crossing.LEFT_LOW),
    (False, 100, 0, Crossing.NONE),
])
def test_low_stock_alerts_fire_on_crossing_the_threshold_only(was_low, available, threshold, crossing):
    assert low_stock_crossing(was_low=was_low, available=available, threshold=threshold) == crossing
