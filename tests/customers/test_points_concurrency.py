"""Concurrent checkouts on PostgreSQL spending the same points: the customer's lock lets one through.

Real threads with their own connections, so these need PostgreSQL and
committed data (`transaction=True`).
"""

from __future__ import annotations

import pytest

from clearhouse.core.money import Money
from clearhouse.customers.domain import InsufficientPoints
from clearhouse.customers.models import PointsEntry
from clearhouse.customers.selectors import points_balance
from clearhouse.customers.services import points_earn, points_redeem
from tests.ledger.test_concurrency import run_threads

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_two_checkouts_spending_the_last_points_one_succeeds(customer):
    points_earn(customer=customer, amount=Money(10000, "CNY"), order_reference="SO-EARN")  # 100 points

    def checkout(i: int):
        return points_redeem(customer=customer, points=80, order_reference=f"SO-CHECKOUT-{i}")

    results, errors = run_threads(2, checkout)
    assert len(errors) == 1 and isinstance(errors[0], InsufficientPoints)
    assert sum(1 for r in results if r) == 1
    assert points_balance(customer=customer).points == 20
    assert PointsEntry.objects.filter(reason="redeemed").count() == 1


def test_one_order_redeemed_from_many_threads_redeems_once(customer):
    points_earn(customer=customer, amount=Money(10000, "CNY"), order_reference="SO-EARN")

    def checkout(i: int):
        return [e.pk for e in points_redeem(customer=customer, points=30, order_reference="SO-CHECKOUT")]

    results, errors = run_threads(4, checkout)
    assert errors == []
    assert len({tuple(r) for r in results}) == 1
    assert points_balance(customer=customer).points == 70
