"""Writes of cumulative spend and member levels."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from clearhouse.core.audit import audit_record
from clearhouse.core.errors import IdempotencyConflict, InvalidAmount
from clearhouse.core.money import Money
from clearhouse.customers.domain import clean_text, level_for_spend
from clearhouse.customers.locks import customer_select_for_update
from clearhouse.customers.models import CustomerProfile, CustomerSpend, MemberLevel
from clearhouse.customers.selectors import customer_cumulative_spend, level_rule, member_levels


def order_reference_clean(order_reference: str) -> str:
    return clean_text(order_reference, param="order_reference", max_length=100)


def _check_replay(record: CustomerSpend, customer: CustomerProfile, amount: Money) -> CustomerSpend:
    if record.customer_id != customer.pk or (record.amount_minor, record.currency) != (amount.minor, amount.currency):
        raise IdempotencyConflict(
            f"Order {record.order_reference} already added {Money(record.amount_minor, record.currency)} "
            f"to customer {record.customer_id}'s spend.", param="order_reference",
        )
    return record


@transaction.atomic
def customer_spend_record(*, customer: CustomerProfile, amount: Money, order_reference: str,
                          now: datetime | None = None) -> CustomerSpend:
    """Add a completed order's amount to the customer's cumulative spend, then re-derive their level.

    Once per order reference: a replay (same customer and amount) returns the
    first record; the same reference with another customer or amount raises
    IdempotencyConflict. Amounts are positive; refunds are not taken back here.
    """
    reference = order_reference_clean(order_reference)
    if not isinstance(amount, Money) or amount.minor <= 0:
        raise InvalidAmount("A spend is a positive Money amount.", param="amount")
    customer_select_for_update(customer_id=customer.pk)
    existing = CustomerSpend.objects.filter(order_reference=reference).first()
    if existing is not None:
        return _check_replay(existing, customer, amount)
    try:
        with transaction.atomic():
            record = CustomerSpend.objects.create(customer=customer, order_reference=reference,
                                                  amount_minor=amount.minor, currency=amount.currency,
                                                  created_at=now or timezone.now())
    except IntegrityError:  # another customer's record for this reference committed meanwhile
        return _check_replay(CustomerSpend.objects.get(order_reference=reference), customer, amount)
    customer_level_recalculate(customer=customer)
    return record


@transaction.atomic
def customer_level_recalculate(*, customer: CustomerProfile, actor=None) -> MemberLevel | None:
    """Set the customer's level to what the rules give for their cumulative spend (up or down)."""
    levels = {level.code: level for level in member_levels()}
    rule = level_for_spend([level_rule(level) for level in levels.values()],
                           customer_cumulative_spend(customer=customer))
    level = levels[rule.code] if rule else None
    if customer.member_level_id != (level.pk if level else None):
        before = customer.member_level.code if customer.member_level_id else None
        CustomerProfile.objects.filter(pk=customer.pk).update(member_level=level)
        customer.member_level = level
        audit_record(action="customers.member_level_changed", actor=actor, object_type="customer",
                     object_id=customer.pk, payload={"from": before, "to": level.code if level else None})
    return level


def customer_levels_recalculate_all(*, actor=None) -> int:
    """Re-derive every customer's level (after staff change the levels); returns how many changed."""
    changed = 0
    for customer in CustomerProfile.objects.select_related("member_level").order_by("pk").iterator(chunk_size=500):
        before = customer.member_level_id
        level = customer_level_recalculate(customer=customer, actor=actor)
        changed += before != (level.pk if level else None)
    return changed
