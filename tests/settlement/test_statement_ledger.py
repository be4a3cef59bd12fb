"""What confirming and paying a statement posts, as worked examples that end with the trial balance.

The Tea House sells two orders in its week, both paid through the sandbox provider:

  order 1: 200.00 of tea, a 20.00 Tea House coupon -> collected 180.00; a 10.00 platform coupon and
           5.00 of points -> platform-funded 15.00; the customer pays 165.00; the provider keeps 0.99;
           our service fee (5 %) 9.00 -> net 180.00 - 9.00 - 0.99 = 170.01
  order 2: collected 50.00, paid 50.00, provider fee 0.30, service fee 2.50, 20.00 refunded before
           settlement -> net 50.00 - 2.50 - 0.30 - 20.00 = 27.20

The statement's net is 197.21. Confirming it posts one entry:

  Dr 2100 merchant payable   195.00   (165.00 + 50.00 - 20.00: what the captures and refund left owed)
  Dr 6200 platform promotions 15.00   (the platform's coupon and points, now paid to the merchant)
     Cr 4100 service fee income        11.50
     Cr 6100 payment fees               1.29   (the provider's fees, passed on to the merchant)
     Cr 2200 settlement due             197.21
"""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.base import ContentFile

from clearhouse.core.money import Money
from clearhouse.ledger import posting_recipes as recipes
from clearhouse.ledger.models import JournalEntry
from clearhouse.ledger.selectors import trial_balance
from clearhouse.ledger.verify import ledger_verify
from clearhouse.settlement.models import Statement, StatementLine
from clearhouse.settlement.services import (
    statement_adjust,
    statement_confirm,
    statement_dispute,
    statement_issue,
    statement_record_payout,
)
from clearhouse.settlement.verify import settlement_verify
from tests.settlement.lifecycle_support import (  # noqa: F401 (fixture)
    PDF,
    carry_forward_line,
    clawback_line,
    due_balance,
    media_root,
    merchant_principal,
    order_line,
    postings_of,
    statement_make,
)

pytestmark = pytest.mark.usefixtures("media_root")
DAY = date(2026, 11, 2)


def cny(minor: int) -> Money:
    return Money(minor, "CNY")


def books() -> dict[str, tuple[int, int]]:
    """The trial balance as {account code: (debit, credit)} in minor units."""
    return {row.account.code: (row.debit.minor, row.credit.minor) for row in trial_balance().rows}


@pytest.fixture
def tea_staff(merchant):
    return merchant_principal(merchant, "tea-admin")


def sold_and_refunded(merchant) -> None:
    """The payments side of the story, through the payments' own recipes."""
    recipes.payment_captured(payment_id="P1", provider="sandbox", amount=cny(16500), day=DAY, merchant=merchant)
    recipes.provider_fee_charged(payment_id="P1", provider="sandbox", fee=cny(99), day=DAY)
    recipes.payment_captured(payment_id="P2", provider="sandbox", amount=cny(5000), day=DAY, merchant=merchant)
    recipes.provider_fee_charged(payment_id="P2", provider="sandbox", fee=cny(30), day=DAY)
    recipes.refund_paid(refund_id="R1", provider="sandbox", amount=cny(2000), day=DAY, merchant=merchant)


WEEK = [order_line(order_id=1, collected=18000, merchant_coupon=2000, platform_funded=1500, service_fee=900,
                   payment_fee=99),
        order_line(order_id=2, collected=5000, service_fee=250, payment_fee=30, refunds=2000)]


def test_a_week_of_tea_confirmed_and_paid_out(merchant, tea_staff, manager):
    sold_and_refunded(merchant)
    assert books() == {"1100.sandbox": (19371, 0), "2100": (0, 19500), "6100": (129, 0)}

    statement = statement_make(merchant, number="ST-W1", lines=WEEK)
    assert (statement.collected_minor, statement.platform_funded_minor, statement.net_minor) == (23000, 1500, 19721)

    # The merchant confirms: one entry, exactly the five postings above.
    statement_confirm(statement=statement, actor=tea_staff)
    entry = JournalEntry.objects.get(idempotency_key="statement_confirmed:ST-W1")
    assert (entry.source_type, entry.source_id, entry.memo, entry.posted_by) == (
        "statement", "ST-W1", "Statement ST-W1 confirmed", tea_staff.label)
    assert postings_of(entry) == {"2100": 19500, "6200": 1500, "4100": -1150, "6100": -129, "2200": -19721}
    assert books() == {"1100.sandbox": (19371, 0), "6200": (1500, 0), "4100": (0, 1150), "2200": (0, 19721)}

    # The provider pays out what it holds; then finance pays the merchant its net.
    recipes.provider_payout_received(payout_id="PO1", provider="sandbox", amount=cny(19371), day=DAY)
    statement_record_payout(statement=statement, amount_minor=19721, payout_date=date(2026, 11, 9),
                            reference="ICBC-1109-0001", voucher=ContentFile(PDF), actor=manager)
    payout = JournalEntry.objects.get(idempotency_key="merchant_paid_out:ST-W1")
    assert postings_of(payout) == {"2200": 19721, "1000.main": -19721}
    assert payout.effective_date == date(2026, 11, 9)
    assert due_balance(merchant) == 0

    # The end: the platform funded 15.00 of discounts, earned 11.50 of fees, and is 3.50 out of pocket.
    assert books() == {"1000.main": (0, 350), "6200": (1500, 0), "4100": (0, 1150)}
    tb = trial_balance()
    assert tb.is_balanced and tb.totals() == {"CNY": (cny(1500), cny(1500))}
    assert ledger_verify().ok and settlement_verify() == []


def test_a_negative_net_is_carried_forward_and_settled_by_the_next_statement(merchant, tea_staff, manager):
    # Week 1: one 10.00 order, and a 30.00 refund of an order settled the week before (clawed back).
    week1 = statement_make(merchant, number="ST-1", lines=[
        order_line(order_id=5, collected=1000, service_fee=50, payment_fee=6),
        clawback_line(refund_id=9, order_id=4, amount=3000)])
    assert week1.net_minor == 944 - 3000
    confirmed = statement_confirm(statement=week1, actor=tea_staff)
    assert confirmed.status == "carried_forward"
    assert [e.type for e in confirmed.events.order_by("id")] == ["confirmed", "carried_forward"]
    entry = JournalEntry.objects.get(idempotency_key="statement_confirmed:ST-1")
    # The merchant payable is debited 10.00 for the order and credited 30.00 back for the refund it already
    # bore (the refund debited it); the merchant now owes 20.56: settlement due is a debit.
    assert postings_of(entry) == {"2100": -2000, "4100": -50, "6100": -6, "2200": 2056}
    assert due_balance(merchant) == 2056

    # Week 2: a 100.00 order, and the balance brought in.
    week2 = statement_make(merchant, number="ST-2", lines=[
        order_line(order_id=6, collected=10000, service_fee=500, payment_fee=60),
        carry_forward_line(carried_from=Statement.objects.get(pk=week1.pk))])
    assert (week2.carried_forward_minor, week2.net_minor) == (-2056, 9440 - 2056)
    statement_confirm(statement=week2, actor=tea_staff)
    # Only the new order's net is credited: the carried balance was posted when week 1 was confirmed.
    assert postings_of(JournalEntry.objects.get(idempotency_key="statement_confirmed:ST-2")) == {
        "2100": 10000, "4100": -500, "6100": -60, "2200": -9440}
    assert due_balance(merchant) == -(9440 - 2056)
    statement_record_payout(statement=week2, amount_minor=7384, payout_date=date(2026, 11, 16),
                            reference="ICBC-1116-0001", voucher=ContentFile(PDF), actor=manager)
    assert due_balance(merchant) == 0
    assert settlement_verify() == []


def test_a_statement_that_nets_to_exactly_zero_carries_forward_and_posts_its_fees(merchant, tea_staff):
    statement = statement_make(merchant, number="ST-0", lines=[
        order_line(order_id=7, collected=1000, service_fee=50, payment_fee=6),
        clawback_line(refund_id=10, order_id=3, amount=944)])
    assert statement.net_minor == 0
    assert statement_confirm(statement=statement, actor=tea_staff).status == "carried_forward"
    assert postings_of(JournalEntry.objects.get()) == {"2100": 56, "4100": -50, "6100": -6}
    assert due_balance(merchant) == 0


def test_a_statement_of_nothing_posts_nothing(merchant, tea_staff):
    statement = statement_make(merchant, number="ST-E", lines=[])
    assert statement_confirm(statement=statement, actor=tea_staff).status == "carried_forward"
    assert JournalEntry.objects.count() == 0
    assert settlement_verify() == []


def test_an_adjustment_posts_to_settlement_adjustments(merchant, tea_staff, clerk):
    statement = statement_make(merchant, number="ST-A", lines=[
        order_line(order_id=8, collected=10000, service_fee=500, payment_fee=60)], status="draft")
    statement_issue(statement=statement, actor=clerk)
    statement_dispute(statement=statement, reason="You promised a 3.00 goodwill credit", actor=tea_staff)
    statement_adjust(statement=statement, amount_minor=300, note="Goodwill credit", actor=clerk)
    statement_confirm(statement=statement, actor=tea_staff)
    assert postings_of(JournalEntry.objects.get()) == {
        "2100": 10000, "6300": 300, "4100": -500, "6100": -60, "2200": -9740}
    assert settlement_verify() == []


def test_adjusting_and_reissuing_do_not_post_and_the_confirmation_is_keyed_by_number(merchant, tea_staff, clerk):
    statement = statement_make(merchant, number="ST-K", lines=[order_line(order_id=9, collected=1000)])
    statement_dispute(statement=statement, reason="Fee missing", actor=tea_staff)
    statement_adjust(statement=statement, amount_minor=-100, note="Fee", actor=clerk)
    assert JournalEntry.objects.count() == 0
    statement_confirm(statement=statement, actor=tea_staff)
    assert list(JournalEntry.objects.values_list("idempotency_key", flat=True)) == ["statement_confirmed:ST-K"]


def test_verify_notices_a_statement_whose_totals_or_ledger_disagree_with_its_lines(merchant, tea_staff):
    statement = statement_make(merchant, number="ST-V", lines=[order_line(order_id=11, collected=1000)])
    statement_confirm(statement=statement, actor=tea_staff)
    assert settlement_verify() == []
    # Someone edits a line behind the services' back: the totals and the posted entry no longer agree with it.
    StatementLine.objects.filter(statement=statement).update(collected_minor=1100, net_minor=1100)
    problems = settlement_verify()
    assert any("ST-V: totals disagree with its lines" in p for p in problems), problems
    assert any("ST-V: confirmation entry" in p for p in problems), problems


def test_verify_notices_a_paid_statement_without_its_payout_entry(merchant):
    statement_make(merchant, number="ST-P", lines=[order_line(order_id=12, collected=1000)], status="paid")
    Statement.objects.filter(number="ST-P").update(payout_amount_minor=1000)
    problems = settlement_verify()
    assert "statement ST-P is paid but has no payout entry" in problems
    assert any("ST-P: confirmation entry" in p and "missing" in p for p in problems)


def test_verify_notices_an_order_in_two_statements(merchant):
    from django.db import connection

    statement_make(merchant, number="ST-X", lines=[order_line(order_id=13, collected=1000)])
    statement_make(merchant, number="ST-Y", lines=[order_line(order_id=14, collected=1000)])
    with connection.cursor() as cursor:  # around the unique constraint, as a careless script might
        cursor.execute("DROP INDEX line_order_once")
        cursor.execute("UPDATE settlement_statementline SET order_id = 13 WHERE order_id = 14")
    assert "order #13 is in 2 order lines (2 statements)" in settlement_verify()


def test_clearhouse_verify_reports_settlement_problems(merchant):
    from io import StringIO

    from django.core.management import CommandError, call_command

    statement_make(merchant, number="ST-Z", lines=[order_line(order_id=15, collected=1000)])
    out = StringIO()
    call_command("verify", stdout=out, stderr=StringIO())
    assert "checked confirmed and paid statements agree with the ledger" in out.getvalue()
    Statement.objects.filter(number="ST-Z").update(net_minor=999)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("verify", stdout=StringIO(), stderr=err)
    assert "statement ST-Z: totals disagree with its lines: net_minor 999 != 1000" in err.getvalue()
