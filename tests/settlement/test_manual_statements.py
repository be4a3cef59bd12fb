"""Manual batch statements: finance picks eligible orders of one merchant by id or by filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from clearhouse.core.errors import ValidationFailed
from clearhouse.settlement.domain import NothingToSettle
from clearhouse.settlement.models import Statement, StatementLine
from clearhouse.settlement.selectors_eligibility import blocked_orders, eligible_orders
from clearhouse.settlement.services import statement_generate_manual
from tests.settlement.factories import (
    assert_statement_consistent,
    completed_order,
    fee_rule,
    make_business_type,
    make_merchant,
    refund,
    settlement_row_counts,
    weekly_schedule,
)


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


@pytest.fixture
def shop(merchant, food_fee_rule):
    """A merchant with a fee rule and no schedule: manual statements only."""
    return merchant


def _order(shop, buyer, subtotal=5000, days=3, **kwargs):
    return completed_order(shop, buyer, subtotal_minor=subtotal, completed_at=days_ago(days), **kwargs)


def test_a_manual_statement_takes_the_orders_chosen_by_id(shop, buyer):
    first, second, third = (_order(shop, buyer, subtotal) for subtotal in (1000, 2000, 3000))

    [statement] = statement_generate_manual(merchant=shop, order_ids=[first.pk, third.pk], actor="clerk")

    assert sorted(StatementLine.objects.filter(statement=statement).values_list("order_id", flat=True)) == sorted(
        [first.pk, third.pk])
    today = timezone.localdate()
    assert statement.number == f"MS-{today:%Y%m%d}-{shop.pk}-CNY-1"
    assert (statement.kind, statement.status, statement.created_by, statement.schedule_id) == (
        "manual", "draft", "clerk", None)
    assert statement.run_key.startswith("manual:")
    assert statement.period_end == today
    assert_statement_consistent(statement)
    assert list(eligible_orders(merchant_id=shop.pk)) == [second]


def test_a_manual_statement_takes_the_orders_matching_the_filters(shop, buyer):
    old = _order(shop, buyer, days=20)
    recent = _order(shop, buyer, days=5)
    _order(shop, buyer, days=1)
    start, end = timezone.localdate(days_ago(10)), timezone.localdate(days_ago(3))

    [statement] = statement_generate_manual(merchant=shop, completed_from=start, completed_to=end,
                                            business_type=shop.business_type)

    assert list(StatementLine.objects.filter(statement=statement).values_list("order_id", flat=True)) == [recent.pk]
    assert statement.period_end == end
    assert old.pk in set(eligible_orders(merchant_id=shop.pk).values_list("pk", flat=True))


def test_a_manual_batch_of_older_orders_never_has_a_period_starting_after_it_ends(shop, buyer):
    _order(shop, buyer, days=5)
    [recent] = statement_generate_manual(merchant=shop)
    old = _order(shop, buyer, days=20)  # completed long ago, but only now recorded as such
    [older] = statement_generate_manual(merchant=shop, order_ids=[old.pk],
                                        completed_to=timezone.localdate(days_ago(15)))

    assert older.period_end < recent.period_end
    assert older.period_start is None or older.period_start <= older.period_end


def test_each_currency_gets_its_own_manual_statement_unless_one_is_chosen(shop, buyer, business_type):
    fee_rule(scope=business_type, currency="USD", rate="0.01")
    _order(shop, buyer)
    _order(shop, buyer, currency="USD")

    assert [s.currency for s in statement_generate_manual(merchant=shop, currency="usd")] == ["USD"]
    statements = statement_generate_manual(merchant=shop)
    assert [s.currency for s in statements] == ["CNY"]
    assert statements[0].number.endswith("-CNY-1")


def test_ids_that_are_not_eligible_are_refused_by_name_and_nothing_is_written(shop, buyer, other_merchant):
    good = _order(shop, buyer)
    settled = _order(shop, buyer)
    statement_generate_manual(merchant=shop, order_ids=[settled.pk])
    not_completed = _order(shop, buyer, status="delivered")
    someone_elses = _order(other_merchant, buyer)
    no_rule = _order(shop, buyer, currency="USD")
    counts = settlement_row_counts()

    with pytest.raises(ValidationFailed) as exc:
        statement_generate_manual(merchant=shop, order_ids=[good.pk, settled.pk, not_completed.pk, someone_elses.pk,
                                                            no_rule.pk, 999999])

    refused = sorted([settled.pk, not_completed.pk, someone_elses.pk, no_rule.pk, 999999])
    assert exc.value.param == "order_ids"
    assert exc.value.details["order_ids"] == refused
    assert str(settled.pk) in exc.value.message
    assert settlement_row_counts() == counts


def test_an_order_waits_for_the_merchants_eligibility_delay(shop, buyer):
    weekly_schedule(shop, eligibility_delay_days=7)
    waiting = _order(shop, buyer, days=2)
    ready = _order(shop, buyer, days=8)

    with pytest.raises(ValidationFailed):
        statement_generate_manual(merchant=shop, order_ids=[waiting.pk])
    assert list(eligible_orders(merchant_id=shop.pk)) == [ready]

    [statement] = statement_generate_manual(merchant=shop)
    assert list(StatementLine.objects.filter(statement=statement).values_list("order_id", flat=True)) == [ready.pk]


def test_nothing_to_settle_is_an_error_and_writes_nothing(shop, buyer):
    counts = settlement_row_counts()

    with pytest.raises(NothingToSettle) as exc:
        statement_generate_manual(merchant=shop)
    with pytest.raises(NothingToSettle):
        statement_generate_manual(merchant=shop, business_type=make_business_type("retail"))

    assert exc.value.code == "nothing_to_settle"
    assert settlement_row_counts() == counts


def test_the_same_run_key_again_returns_the_statements_it_made(shop, buyer):
    order = _order(shop, buyer)
    first = statement_generate_manual(merchant=shop, order_ids=[order.pk], run_key="idem-1")
    _order(shop, buyer)

    again = statement_generate_manual(merchant=shop, run_key="idem-1")

    assert [s.pk for s in again] == [s.pk for s in first]
    assert Statement.objects.count() == 1
    assert first[0].run_key == "manual:idem-1"


def test_a_manual_statement_claws_back_late_refunds_and_brings_forward_negative_balances(shop, buyer):
    order = _order(shop, buyer, subtotal=10000, days=6)
    [first] = statement_generate_manual(merchant=shop)
    refund(order, 9000, days_ago(1))
    [second] = statement_generate_manual(merchant=shop)  # the clawback alone
    assert (second.net_minor, second.line_count) == (-9000, 1)
    assert second.number.endswith("-CNY-2") and first.number.endswith("-CNY-1")
    Statement.objects.filter(pk=second.pk).update(status="carried_forward")
    later = _order(shop, buyer, subtotal=20000, days=1)

    [third] = statement_generate_manual(merchant=shop, order_ids=[later.pk])

    assert third.carried_forward_minor == -9000
    assert third.net_minor == 20000 - 120 - 9000
    assert_statement_consistent(third)


def test_blocked_orders_are_listed_with_their_reason_and_not_offered(buyer):
    retail = make_business_type("retail")
    store = make_merchant("store", retail)
    order = _order(store, buyer)

    assert [(o.pk, o.blocked_reason) for o in blocked_orders(business_type_id=retail.pk)] == [(order.pk, "no_fee_rule")]
    assert not eligible_orders(merchant_id=store.pk).exists()
    with pytest.raises(NothingToSettle):
        statement_generate_manual(merchant=store)
