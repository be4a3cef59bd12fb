"""Cumulative spend and member levels: recorded once per order, levels follow the rules."""

from __future__ import annotations

import pytest

from clearhouse.core.errors import IdempotencyConflict, InvalidAmount, ValidationFailed
from clearhouse.core.models import AuditEvent
from clearhouse.core.money import Money
from clearhouse.customers.models import CustomerSpend
from clearhouse.customers.selectors import customer_cumulative_spend, member_level_progress
from clearhouse.customers.services import (
    customer_level_recalculate,
    customer_levels_recalculate_all,
    customer_spend_record,
)


def cny(amount: str) -> Money:
    return Money.parse(amount, "CNY")


def spend(customer, amount: str, reference: str):
    return customer_spend_record(customer=customer, amount=cny(amount), order_reference=reference)


def test_spend_adds_up_per_currency(customer):
    spend(customer, "120.50", "SO-20261123-000001")
    spend(customer, "79.50", "SO-20261123-000002")
    customer_spend_record(customer=customer, amount=Money(1000, "USD"), order_reference="SO-20261123-000003")
    assert customer_cumulative_spend(customer=customer) == {"CNY": cny("200.00"), "USD": Money(1000, "USD")}


def test_an_order_counts_once_however_often_it_is_recorded(customer):
    first = spend(customer, "120.50", "SO-1")
    assert spend(customer, "120.50", " SO-1 ") == first
    assert customer_cumulative_spend(customer=customer) == {"CNY": cny("120.50")}


def test_the_same_order_with_another_amount_or_customer_is_a_conflict(customer, other_customer):
    spend(customer, "120.50", "SO-1")
    with pytest.raises(IdempotencyConflict) as exc:
        spend(customer, "99.00", "SO-1")
    assert exc.value.code == "idempotency_key_reuse"
    with pytest.raises(IdempotencyConflict):
        spend(other_customer, "120.50", "SO-1")
    assert CustomerSpend.objects.count() == 1


@pytest.mark.parametrize("amount, reference, error", [
    (Money(0, "CNY"), "SO-1", InvalidAmount), (Money(-1, "CNY"), "SO-1", InvalidAmount),
    ("10.00", "SO-1", InvalidAmount), (Money(100, "CNY"), " ", ValidationFailed),
])
def test_spend_is_a_positive_amount_for_a_named_order(customer, amount, reference, error):
    with pytest.raises(error):
        customer_spend_record(customer=customer, amount=amount, order_reference=reference)
    assert not CustomerSpend.objects.exists()


def test_a_customer_climbs_levels_as_spend_crosses_thresholds(customer, member_levels):
    spend(customer, "999.99", "SO-1")
    assert customer.member_level is None
    spend(customer, "0.01", "SO-2")
    assert customer.member_level == member_levels["silver"]
    spend(customer, "4000.00", "SO-3")
    customer.refresh_from_db()
    assert customer.member_level == member_levels["gold"]
    changes = AuditEvent.objects.filter(action="customers.member_level_changed", object_id=str(customer.pk))
    assert [e.payload for e in changes] == [{"from": None, "to": "silver"}, {"from": "silver", "to": "gold"}]


def test_raising_a_threshold_moves_customers_down_on_recalculation(customer, member_levels):
    spend(customer, "5000.00", "SO-1")
    gold = member_levels["gold"]
    gold.min_cumulative_spend_minor = 1000000
    gold.save()
    assert customer_levels_recalculate_all() == 1
    customer.refresh_from_db()
    assert customer.member_level == member_levels["silver"]
    assert customer_levels_recalculate_all() == 0


def test_recalculating_an_unchanged_level_writes_nothing(customer, member_levels):
    spend(customer, "1000.00", "SO-1")
    events = AuditEvent.objects.count()
    assert customer_level_recalculate(customer=customer) == member_levels["silver"]
    assert AuditEvent.objects.count() == events


def test_progress_shows_the_level_and_what_is_left_to_the_next(customer, member_levels):
    spend(customer, "1200.00", "SO-1")
    progress = member_level_progress(customer=customer)
    assert progress.level == member_levels["silver"]
    assert progress.next_level == member_levels["gold"]
    assert progress.to_next_level == cny("3800.00")
