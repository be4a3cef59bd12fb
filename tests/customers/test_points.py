"""Points: earned on completed orders, redeemed at checkout oldest-expiring first, restored on
cancel, expired when lapsed, adjusted by staff. Refusals change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clearhouse.core.errors import CurrencyMismatch, IdempotencyConflict, ValidationFailed
from clearhouse.core.models import AuditEvent
from clearhouse.core.money import Money
from clearhouse.customers.domain import InsufficientPoints, InvalidPoints
from clearhouse.customers.models import PointsEntry
from clearhouse.customers.selectors import points_balance, points_lots, points_redeemed_for
from clearhouse.customers.services import (
    points_adjust,
    points_earn,
    points_expire,
    points_redeem,
    points_restore,
)
from clearhouse.customers.tasks import points_expire_task

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
YEAR = timedelta(days=365)
LATER = T0 + timedelta(days=61)  # both lots of `two_lots` exist


def cny(amount: str) -> Money:
    return Money.parse(amount, "CNY")


def earn(customer, amount: str, reference: str, at: datetime = T0):
    return points_earn(customer=customer, amount=cny(amount), order_reference=reference, now=at)


def balance(customer, at: datetime = T0) -> int:
    return points_balance(customer=customer, now=at).points


def log(customer) -> list[tuple[int, str, str]]:
    return list(PointsEntry.objects.filter(customer=customer).order_by("id").values_list("delta", "reason",
                                                                                         "order_reference"))


@pytest.fixture
def two_lots(customer):
    """300 points earned in January (lapse January next year) and 200 in March."""
    january = earn(customer, "300.99", "SO-JAN")
    march = earn(customer, "200.00", "SO-MAR", at=T0 + timedelta(days=60))
    return january, march


# --- earn ----------------------------------------------------------------------------------
def test_a_completed_order_earns_a_point_per_yuan_valid_for_a_year(customer):
    entry = earn(customer, "123.45", "SO-1")
    assert (entry.delta, entry.reason, entry.order_reference) == (123, "earned", "SO-1")
    assert entry.expires_at == T0 + YEAR
    assert balance(customer) == 123


def test_the_earn_rate_comes_from_settings(customer, settings):
    settings.POINTS_EARN_RATE = "2.5"
    assert earn(customer, "10.00", "SO-1").delta == 25


def test_an_order_earns_once_however_often_it_is_reported(customer):
    first = earn(customer, "123.45", "SO-1")
    assert earn(customer, "123.45", "SO-1", at=T0 + timedelta(days=1)) == first
    assert balance(customer) == 123


def test_another_customer_cannot_earn_on_the_same_order(customer, other_customer):
    earn(customer, "10.00", "SO-1")
    with pytest.raises(IdempotencyConflict):
        earn(other_customer, "10.00", "SO-1")
    assert balance(other_customer) == 0


def test_an_order_below_one_yuan_earns_nothing(customer):
    assert earn(customer, "0.99", "SO-1") is None
    assert log(customer) == []


def test_spend_in_another_currency_earns_nothing_and_is_refused(customer):
    with pytest.raises(CurrencyMismatch):
        points_earn(customer=customer, amount=Money(1000, "USD"), order_reference="SO-1")
    assert log(customer) == []


# --- balance -------------------------------------------------------------------------------
def test_the_balance_says_what_points_are_worth_and_which_lapse_next(customer, two_lots):
    now = LATER
    result = points_balance(customer=customer, now=now)
    assert (result.points, result.value) == (500, cny("5.00"))
    assert (result.next_expiry_at, result.next_expiry_points) == (T0 + YEAR, 300)


def test_lapsed_points_are_not_in_the_balance(customer, two_lots):
    assert balance(customer, T0 + YEAR) == 200
    assert balance(customer, T0 + YEAR + timedelta(days=60)) == 0


# --- redeem --------------------------------------------------------------------------------
def test_redeeming_takes_the_oldest_expiring_points_first(customer, two_lots):
    january, march = two_lots
    entries = points_redeem(customer=customer, points=350, order_reference="SO-CHECKOUT", now=LATER)
    assert [(e.delta, e.lot_id) for e in entries] == [(-300, january.pk), (-50, march.pk)]
    assert balance(customer, T0 + timedelta(days=61)) == 150
    assert points_redeemed_for(order_reference="SO-CHECKOUT") == 350


def test_redeeming_beyond_the_balance_is_refused_and_nothing_changes(customer, two_lots):
    now = LATER
    before = log(customer)
    with pytest.raises(InsufficientPoints) as exc:
        points_redeem(customer=customer, points=501, order_reference="SO-CHECKOUT", now=now)
    assert exc.value.code == "insufficient_points"
    assert log(customer) == before
    assert balance(customer, now) == 500


def test_lapsed_points_cannot_be_redeemed(customer, two_lots):
    with pytest.raises(InsufficientPoints):
        points_redeem(customer=customer, points=201, order_reference="SO-LATE", now=T0 + YEAR)
    assert [e.lot_id for e in points_redeem(customer=customer, points=200, order_reference="SO-LATE",
                                            now=T0 + YEAR)] == [two_lots[1].pk]


def test_a_redemption_replayed_returns_the_first_and_takes_nothing_more(customer, two_lots):
    first = points_redeem(customer=customer, points=100, order_reference="SO-1", now=LATER)
    assert points_redeem(customer=customer, points=100, order_reference="SO-1", now=LATER) == first
    assert balance(customer, LATER) == 400


def test_a_redemption_replayed_with_other_points_or_customer_is_a_conflict(customer, other_customer, two_lots):
    points_redeem(customer=customer, points=100, order_reference="SO-1", now=LATER)
    earn(other_customer, "500.00", "SO-W")
    with pytest.raises(IdempotencyConflict):
        points_redeem(customer=customer, points=101, order_reference="SO-1", now=LATER)
    with pytest.raises(IdempotencyConflict):
        points_redeem(customer=other_customer, points=100, order_reference="SO-1", now=LATER)
    assert (balance(customer, LATER), balance(other_customer, LATER)) == (400, 500)


@pytest.mark.parametrize("points", [0, -10, True, "100"])
def test_points_to_redeem_are_a_whole_number_above_zero(customer, two_lots, points):
    with pytest.raises(InvalidPoints):
        points_redeem(customer=customer, points=points, order_reference="SO-1", now=T0)


def test_a_redemption_needs_an_order_reference(customer, two_lots):
    with pytest.raises(ValidationFailed) as exc:
        points_redeem(customer=customer, points=1, order_reference="  ", now=T0)
    assert exc.value.param == "order_reference"


# --- restore -------------------------------------------------------------------------------
def test_cancelling_gives_back_exactly_what_the_order_redeemed_to_the_same_lots(customer, two_lots):
    now = LATER
    lots_before = points_lots(customer_id=customer.pk)
    points_redeem(customer=customer, points=350, order_reference="SO-1", now=now)
    restored = points_restore(customer=customer, order_reference="SO-1", now=now)
    assert sorted((e.delta, e.lot_id) for e in restored) == [(50, two_lots[1].pk), (300, two_lots[0].pk)]
    assert balance(customer, now) == 500
    assert points_lots(customer_id=customer.pk) == lots_before
    assert points_redeemed_for(order_reference="SO-1") == 0


def test_restoring_twice_gives_back_once(customer, two_lots):
    points_redeem(customer=customer, points=120, order_reference="SO-1", now=LATER)
    first = points_restore(customer=customer, order_reference="SO-1", now=LATER)
    assert points_restore(customer=customer, order_reference="SO-1", now=LATER) == first
    assert balance(customer, LATER) == 500


def test_an_order_that_redeemed_nothing_restores_nothing(customer, two_lots):
    assert points_restore(customer=customer, order_reference="SO-NONE") == []
    assert len(log(customer)) == 2


def test_another_customer_cannot_restore_an_orders_points(customer, other_customer, two_lots):
    points_redeem(customer=customer, points=120, order_reference="SO-1", now=T0)
    with pytest.raises(ValidationFailed):
        points_restore(customer=other_customer, order_reference="SO-1")
    assert balance(other_customer) == 0


def test_restored_points_keep_their_expiry(customer, two_lots):
    points_redeem(customer=customer, points=300, order_reference="SO-1", now=T0)
    points_restore(customer=customer, order_reference="SO-1", now=T0 + YEAR)  # cancelled after they lapsed
    assert balance(customer, T0 + YEAR) == 200  # the March lot only
    assert points_expire(now=T0 + YEAR) == 300


# --- expire --------------------------------------------------------------------------------
def test_expiry_takes_only_the_unused_points_of_lapsed_lots(customer, two_lots):
    points_redeem(customer=customer, points=250, order_reference="SO-1", now=LATER)
    assert points_expire(now=T0 + YEAR) == 50
    assert log(customer)[-1] == (-50, "expired", "")
    assert balance(customer, T0 + YEAR) == 200


def test_running_expiry_twice_expires_nothing_twice(customer, other_customer, two_lots):
    earn(other_customer, "42.00", "SO-W")
    later = T0 + YEAR + timedelta(days=61)
    assert points_expire(now=later) == 542
    assert points_expire(now=later) == 0
    assert sum(e.delta for e in PointsEntry.objects.all()) == 0


def test_nothing_expires_before_its_time(customer, two_lots):
    assert points_expire(now=T0 + YEAR - timedelta(seconds=1)) == 0


def test_the_expiry_task_runs_the_same_service(customer, two_lots):
    earn(customer, "10.00", "SO-OLD", at=datetime(2020, 1, 1, tzinfo=UTC))
    assert points_expire_task.call() == 10


# --- adjust --------------------------------------------------------------------------------
def test_staff_credit_points_with_a_note_and_it_is_audited(customer, manager):
    (entry,) = points_adjust(customer=customer, delta=500, note="Parcel arrived damaged", actor=manager, now=T0)
    assert (entry.delta, entry.reason, entry.expires_at, entry.actor) == (500, "adjusted", T0 + YEAR,
                                                                           manager.audit_label())
    event = AuditEvent.objects.get(action="customers.points_adjusted")
    assert event.payload == {"delta": 500, "note": "Parcel arrived damaged"}


def test_staff_debits_draw_oldest_expiring_first_and_not_beyond_the_balance(customer, two_lots):
    now = LATER
    entries = points_adjust(customer=customer, delta=-320, note="Earned on a refunded order", now=now)
    assert [(e.delta, e.lot_id) for e in entries] == [(-300, two_lots[0].pk), (-20, two_lots[1].pk)]
    with pytest.raises(InsufficientPoints):
        points_adjust(customer=customer, delta=-181, note="Too much", now=now)
    assert balance(customer, now) == 180


@pytest.mark.parametrize("delta, note, error", [(0, "why", InvalidPoints), (True, "why", InvalidPoints),
                                                (10, " ", ValidationFailed)])
def test_an_adjustment_needs_points_and_a_reason(customer, delta, note, error):
    with pytest.raises(error):
        points_adjust(customer=customer, delta=delta, note=note)
    assert log(customer) == []
