"""Writes of points: earn, redeem, restore, expire, adjust.

Every movement is a new `PointsEntry`; nothing is updated. Each service
takes the customer's lock first, so two checkouts cannot spend the same
points, and checks everything before writing, so a refusal changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from clearhouse.core.audit import actor_label, audit_record
from clearhouse.core.errors import IdempotencyConflict, ValidationFailed
from clearhouse.core.money import Money
from clearhouse.customers.domain import (
    InvalidPoints,
    check_points,
    clean_text,
    lapsed_lots,
    lots_to_consume,
    points_earned_for,
)
from clearhouse.customers.locks import customer_select_for_update
from clearhouse.customers.models import CustomerProfile, PointsEntry, PointsReason
from clearhouse.customers.selectors import customers_with_lapsed_points, points_lots, points_policy
from clearhouse.customers.services.spend import order_reference_clean


def _conflict(reference: str, what: str) -> IdempotencyConflict:
    return IdempotencyConflict(f"Order {reference} already {what}.", param="order_reference")


def _draw(customer: CustomerProfile, points: int, *, reason: str, now: datetime, order_reference: str = "",
          note: str = "", actor: str = "") -> list[PointsEntry]:
    """Take `points` from the live lots, oldest-expiring first (refused whole if they fall short)."""
    plan = lots_to_consume(points_lots(customer_id=customer.pk), points, now=now)
    return PointsEntry.objects.bulk_create(
        PointsEntry(customer=customer, delta=-take, reason=reason, lot_id=lot_id, order_reference=order_reference,
                    note=note, actor=actor, created_at=now)
        for lot_id, take in plan
    )


@transaction.atomic
def points_earn(*, customer: CustomerProfile, amount: Money, order_reference: str,
                now: datetime | None = None) -> PointsEntry | None:
    """Credit what a completed order earns: amount x the earn rate, rounded down.

    The points form one lot that lapses after the configured days. Once per
    order: a replay returns the first entry (another customer: conflict). An
    order too small to earn a whole point earns nothing (None).
    """
    reference = order_reference_clean(order_reference)
    policy = points_policy()
    points = points_earned_for(amount, policy)
    customer_select_for_update(customer_id=customer.pk)
    existing = PointsEntry.objects.filter(reason=PointsReason.EARNED, order_reference=reference).first()
    if existing is not None:
        if existing.customer_id != customer.pk:
            raise _conflict(reference, "earned points for another customer")
        return existing
    if points == 0:
        return None
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return PointsEntry.objects.create(
                customer=customer, delta=points, reason=PointsReason.EARNED, order_reference=reference,
                expires_at=now + timedelta(days=policy.valid_days), created_at=now,
            )
    except IntegrityError:  # another customer's lock does not cover this reference; the constraint does
        raise _conflict(reference, "earned points for another customer") from None


@transaction.atomic
def points_redeem(*, customer: CustomerProfile, points: int, order_reference: str,
                  now: datetime | None = None) -> list[PointsEntry]:
    """Spend points at checkout, oldest-expiring first.

    Refused with `insufficient_points` beyond the live balance, writing
    nothing. Once per order: a replay with the same points returns the first
    redemption; other points, or another customer, raise IdempotencyConflict.
    """
    reference = order_reference_clean(order_reference)
    points = check_points(points)
    customer_select_for_update(customer_id=customer.pk)
    existing = list(PointsEntry.objects.filter(reason=PointsReason.REDEEMED, order_reference=reference).order_by("id"))
    if existing:
        if {e.customer_id for e in existing} != {customer.pk} or -sum(e.delta for e in existing) != points:
            raise _conflict(reference, f"redeemed {-sum(e.delta for e in existing)} points")
        return existing
    try:
        with transaction.atomic():
            return _draw(customer, points, reason=PointsReason.REDEEMED, now=now or timezone.now(),
                         order_reference=reference)
    except IntegrityError:
        raise _conflict(reference, "redeemed points for another customer") from None


@transaction.atomic
def points_restore(*, customer: CustomerProfile, order_reference: str,
                   now: datetime | None = None) -> list[PointsEntry]:
    """Give back exactly what an order redeemed (it was cancelled).

    Points go back to the lots they came from, so they keep their original
    expiry: cancelling never extends a point's life. Idempotent: a second
    restore returns the first; an order that redeemed nothing restores nothing.
    """
    reference = order_reference_clean(order_reference)
    customer_select_for_update(customer_id=customer.pk)
    redeemed = list(PointsEntry.objects.filter(reason=PointsReason.REDEEMED, order_reference=reference).order_by("id"))
    if any(e.customer_id != customer.pk for e in redeemed):
        raise ValidationFailed(f"Order {reference} redeemed another customer's points.", param="order_reference")
    restored = list(PointsEntry.objects.filter(reason=PointsReason.RESTORED, order_reference=reference).order_by("id"))
    if restored or not redeemed:
        return restored
    now = now or timezone.now()
    return PointsEntry.objects.bulk_create(
        PointsEntry(customer=customer, delta=-e.delta, reason=PointsReason.RESTORED, lot_id=e.lot_id,
                    order_reference=reference, created_at=now)
        for e in redeemed
    )


def points_expire(*, now: datetime | None = None) -> int:
    """Expire the unused points of every lapsed lot (a scheduled task); returns the points expired.

    One transaction per customer, under that customer's lock, so a long run
    never blocks checkouts for long. Running it twice expires nothing twice.
    """
    now = now or timezone.now()
    return sum(_expire_customer(customer_id, now) for customer_id in customers_with_lapsed_points(now=now))


@transaction.atomic
def _expire_customer(customer_id: int, now: datetime) -> int:
    customer = customer_select_for_update(customer_id=customer_id)
    lapsed = lapsed_lots(points_lots(customer_id=customer_id, expired_by=now), now=now)
    PointsEntry.objects.bulk_create(
        PointsEntry(customer=customer, delta=-points, reason=PointsReason.EXPIRED, lot_id=lot_id, created_at=now)
        for lot_id, points in lapsed
    )
    return sum(points for _, points in lapsed)


@transaction.atomic
def points_adjust(*, customer: CustomerProfile, delta: int, note: str, actor=None,
                  now: datetime | None = None) -> list[PointsEntry]:
    """A staff correction, with a note saying why.

    A credit is a new lot that lives as long as earned points; a debit draws
    oldest-expiring first and cannot exceed the live balance (`insufficient_points`).
    """
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise InvalidPoints("An adjustment is a whole number of points, not zero.", param="delta")
    note = clean_text(note, param="note", max_length=200)
    customer_select_for_update(customer_id=customer.pk)
    now = now or timezone.now()
    label = actor_label(actor)
    if delta > 0:
        entries = [PointsEntry.objects.create(
            customer=customer, delta=delta, reason=PointsReason.ADJUSTED, note=note, actor=label, created_at=now,
            expires_at=now + timedelta(days=points_policy().valid_days),
        )]
    else:
        entries = _draw(customer, -delta, reason=PointsReason.ADJUSTED, now=now, note=note, actor=label)
    audit_record(action="customers.points_adjusted", actor=actor, object_type="customer", object_id=customer.pk,
                 payload={"delta": delta, "note": note})
    return entries
