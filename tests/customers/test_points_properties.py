"""Property tests of points against the database: whatever customers earn, redeem, restore and
expire, no point is created or lost, and a cancel gives back exactly what was redeemed.

Each example runs in its own savepoint, rolled back at the end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearhouse.core.money import Money
from clearhouse.customers.domain import InsufficientPoints
from clearhouse.customers.models import PointsEntry
from clearhouse.customers.selectors import points_balance, points_lots
from clearhouse.customers.services import points_adjust, points_earn, points_expire, points_redeem, points_restore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DB_PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(0, 10**6)),  # minor units spent
        st.tuples(st.just("redeem"), st.integers(1, 20_000)),
        st.tuples(st.just("restore"), st.integers(0, 20)),  # which earlier redemption
        st.tuples(st.just("adjust"), st.integers(-5000, 5000).filter(bool)),
        st.tuples(st.just("expire"), st.just(0)),
    ),
    min_size=1, max_size=15,
)
gaps = st.lists(st.integers(0, 200), min_size=15, max_size=15)  # days between operations


def log_total(customer) -> int:
    return int(PointsEntry.objects.filter(customer=customer).aggregate(total=Sum("delta"))["total"] or 0)


def check_books(customer, now) -> None:
    """The log's sum is what the lots hold; no lot is overdrawn; the balance is the live part of it."""
    credits = dict(PointsEntry.objects.filter(customer=customer, lot__isnull=True).values_list("pk", "delta"))
    lots = points_lots(customer_id=customer.pk)
    assert all(0 < lot.remaining <= credits[lot.lot_id] for lot in lots)
    assert sum(lot.remaining for lot in lots) == log_total(customer)
    live = sum(lot.remaining for lot in lots if lot.expires_at > now)
    assert points_balance(customer=customer, now=now).points == live


def apply(customer, op, arg, n, now, redemptions) -> None:
    if op == "earn":
        points_earn(customer=customer, amount=Money(arg, "CNY"), order_reference=f"E{n}", now=now)
    elif op == "redeem":
        before = list(PointsEntry.objects.order_by("id").values_list("id", flat=True))
        try:
            points_redeem(customer=customer, points=arg, order_reference=f"R{n}", now=now)
            redemptions.append(f"R{n}")
        except InsufficientPoints:
            assert list(PointsEntry.objects.order_by("id").values_list("id", flat=True)) == before
    elif op == "restore" and redemptions:
        points_restore(customer=customer, order_reference=redemptions[arg % len(redemptions)], now=now)
    elif op == "adjust":
        try:
            points_adjust(customer=customer, delta=arg, note="property", now=now)
        except InsufficientPoints:
            assert arg < 0 and -arg > points_balance(customer=customer, now=now).points
    elif op == "expire":
        points_expire(now=now)


@DB_PROPERTY
@given(ops=operations, days=gaps)
def test_no_point_is_created_or_lost_whatever_happens(customer, ops, days):
    with transaction.atomic():
        now, redemptions = T0, []
        for n, ((op, arg), gap) in enumerate(zip(ops, days, strict=False)):
            now += timedelta(days=gap)
            apply(customer, op, arg, n, now, redemptions)
            check_books(customer, now)
        # Far in the future every credit has lapsed: expiry takes the rest, and the log sums to zero.
        points_expire(now=now + timedelta(days=366))
        assert log_total(customer) == 0
        transaction.set_rollback(True)


@DB_PROPERTY
@given(earned=st.lists(st.tuples(st.integers(100, 10**6), st.integers(0, 400)), min_size=1, max_size=6),
       redeem=st.integers(1, 30_000), when=st.integers(0, 800))
def test_redeem_then_restore_returns_the_balance_exactly(customer, earned, redeem, when):
    with transaction.atomic():
        for n, (minor, day) in enumerate(earned):
            points_earn(customer=customer, amount=Money(minor, "CNY"), order_reference=f"E{n}",
                        now=T0 + timedelta(days=day))
        now = T0 + timedelta(days=when)
        before = points_balance(customer=customer, now=now).points
        lots_before = points_lots(customer_id=customer.pk)
        try:
            points_redeem(customer=customer, points=redeem, order_reference="CHECKOUT", now=now)
        except InsufficientPoints:
            assert redeem > before
        else:
            assert points_balance(customer=customer, now=now).points == before - redeem
            points_restore(customer=customer, order_reference="CHECKOUT", now=now)
        assert points_balance(customer=customer, now=now).points == before
        assert points_lots(customer_id=customer.pk) == lots_before
        transaction.set_rollback(True)
