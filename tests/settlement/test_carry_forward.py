"""A statement that ended negative carries its balance into the merchant's next statement in that currency, once."""

from __future__ import annotations

from datetime import date

from clearhouse.settlement.models import Statement, StatementLine
from clearhouse.settlement.services import settlement_run
from tests.settlement.factories import assert_statement_consistent, at, completed_order, refund

MON_23, MON_30, MON_DEC_7 = date(2026, 11, 23), date(2026, 11, 30), date(2026, 12, 7)


def _negative_statement(merchant, buyer) -> Statement:
    """A statement with a net of -4000 (a clawback bigger than its orders), confirmed and carried forward.

    The confirmation itself is another service's; the test sets the status it leaves.
    """
    order = completed_order(merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10)))
    settlement_run(day=MON_23)
    refund(order, 5000, at(date(2026, 11, 24)))
    completed_order(merchant, buyer, subtotal_minor=1000, completed_at=at(date(2026, 11, 20)))
    statement = Statement.objects.get(pk=settlement_run(day=MON_30).statement_ids[0])
    assert statement.net_minor == 1000 - 6 - 5000
    Statement.objects.filter(pk=statement.pk).update(status="carried_forward")
    return statement


def test_a_negative_balance_is_carried_into_the_next_statement(weekly_merchant, buyer):
    negative = _negative_statement(weekly_merchant, buyer)
    completed_order(weekly_merchant, buyer, subtotal_minor=20000, completed_at=at(date(2026, 11, 27)))

    statement = Statement.objects.get(pk=settlement_run(day=MON_DEC_7).statement_ids[0])

    carried = StatementLine.objects.get(statement=statement, kind="carry_forward")
    assert (carried.carried_from_id, carried.net_minor) == (negative.pk, -4006)
    assert statement.carried_forward_minor == -4006
    assert statement.net_minor == (20000 - 120) - 4006
    assert_statement_consistent(statement)


def test_a_balance_is_carried_forward_only_once(weekly_merchant, buyer):
    _negative_statement(weekly_merchant, buyer)
    completed_order(weekly_merchant, buyer, subtotal_minor=20000, completed_at=at(date(2026, 11, 27)))
    settlement_run(day=MON_DEC_7)
    completed_order(weekly_merchant, buyer, subtotal_minor=20000, completed_at=at(date(2026, 12, 3)))

    later = Statement.objects.get(pk=settlement_run(day=date(2026, 12, 14)).statement_ids[0])

    assert StatementLine.objects.filter(kind="carry_forward").count() == 1
    assert later.carried_forward_minor == 0


def test_a_balance_alone_makes_no_statement_it_waits_for_one_with_other_lines(weekly_merchant, buyer):
    _negative_statement(weekly_merchant, buyer)

    assert settlement_run(day=MON_DEC_7).statements_created == 0
    assert not StatementLine.objects.filter(kind="carry_forward").exists()


def test_only_carried_forward_statements_with_a_negative_net_are_carried(weekly_merchant, buyer):
    negative = _negative_statement(weekly_merchant, buyer)
    Statement.objects.filter(pk=negative.pk).update(status="confirmed")  # not (yet) carried forward
    completed_order(weekly_merchant, buyer, subtotal_minor=20000, completed_at=at(date(2026, 11, 27)))

    statement = Statement.objects.get(pk=settlement_run(day=MON_DEC_7).statement_ids[0])

    assert statement.carried_forward_minor == 0
    assert not StatementLine.objects.filter(kind="carry_forward").exists()


def test_a_balance_stays_in_its_currency(weekly_merchant, business_type, buyer):
    from tests.settlement.factories import fee_rule

    _negative_statement(weekly_merchant, buyer)
    fee_rule(scope=business_type, currency="USD", rate="0.01")
    completed_order(weekly_merchant, buyer, subtotal_minor=20000, currency="USD", completed_at=at(date(2026, 11, 27)))

    statement = Statement.objects.get(pk=settlement_run(day=MON_DEC_7).statement_ids[0])

    assert statement.currency == "USD" and statement.carried_forward_minor == 0
