"""A refund that arrives after its order was settled is clawed back, once, in the merchant's next statement."""

from __future__ import annotations

from datetime import date

from clearhouse.settlement.models import SettledRefund, Statement, StatementLine
from clearhouse.settlement.selectors_eligibility import pending_clawbacks
from clearhouse.settlement.services import settlement_run
from tests.settlement.factories import assert_statement_consistent, at, completed_order, refund

MON_23, MON_30, MON_DEC_7 = date(2026, 11, 23), date(2026, 11, 30), date(2026, 12, 7)


def test_a_refund_after_settlement_is_clawed_back_in_the_next_statement(weekly_merchant, buyer):
    order = completed_order(weekly_merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10)),
                            fee_minor=60)
    settlement_run(day=MON_23)
    late = refund(order, 2500, at(date(2026, 11, 25)))
    assert list(pending_clawbacks(merchant_id=weekly_merchant.pk)) == [late]
    completed_order(weekly_merchant, buyer, subtotal_minor=3000, completed_at=at(date(2026, 11, 20)), fee_minor=18)

    result = settlement_run(day=MON_30)

    assert result.clawbacks == 1
    statement = Statement.objects.get(pk=result.statement_ids[0])
    clawback = StatementLine.objects.get(statement=statement, kind="clawback")
    assert (clawback.order_id, clawback.order_number, clawback.refund_id) == (order.pk, order.number, late.pk)
    assert (clawback.refunds_minor, clawback.net_minor, clawback.collected_minor) == (2500, -2500, 0)
    assert statement.net_minor == (3000 - 18 - 18) - 2500
    assert statement.refunds_minor == 2500
    assert SettledRefund.objects.get(refund_id=late.pk).as_clawback
    assert not pending_clawbacks(merchant_id=weekly_merchant.pk).exists()
    assert_statement_consistent(statement)


def test_a_clawback_alone_makes_a_statement_on_the_merchants_run_day(weekly_merchant, buyer):
    order = completed_order(weekly_merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10)))
    settlement_run(day=MON_23)
    refund(order, 10000, at(date(2026, 11, 24)))

    statement = Statement.objects.get(pk=settlement_run(day=MON_30).statement_ids[0])

    assert (statement.order_count, statement.line_count, statement.net_minor) == (0, 1, -10000)


def test_a_refund_is_clawed_back_only_once(weekly_merchant, buyer):
    order = completed_order(weekly_merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10)))
    settlement_run(day=MON_23)
    refund(order, 1000, at(date(2026, 11, 24)))
    settlement_run(day=MON_30)

    later = settlement_run(day=MON_DEC_7)

    assert later.statements_created == 0
    assert StatementLine.objects.filter(kind="clawback").count() == 1


def test_a_refund_counted_on_the_orders_line_is_not_clawed_back_later(weekly_merchant, buyer):
    order = completed_order(weekly_merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10)))
    refund(order, 1000, at(date(2026, 11, 12)))
    settlement_run(day=MON_23)

    assert settlement_run(day=MON_30).statements_created == 0
    assert not StatementLine.objects.filter(kind="clawback").exists()


def test_refunds_that_did_not_succeed_are_not_clawed_back(weekly_merchant, buyer):
    order = completed_order(weekly_merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10)))
    settlement_run(day=MON_23)
    for status in ("pending", "failed", "awaiting_approval", "rejected"):
        refund(order, 100, None, status=status)

    assert settlement_run(day=MON_30).statements_created == 0
    assert not pending_clawbacks(merchant_id=weekly_merchant.pk).exists()


def test_a_clawback_waits_for_the_merchants_next_run_day(weekly_merchant, buyer):
    order = completed_order(weekly_merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10)))
    settlement_run(day=MON_23)
    refund(order, 500, at(date(2026, 11, 24)))

    assert settlement_run(day=date(2026, 11, 26)).statements_created == 0  # a Thursday
    assert settlement_run(day=MON_30).clawbacks == 1
