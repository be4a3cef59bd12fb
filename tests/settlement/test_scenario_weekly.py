"""The issue's "must show", as a worked example from checkout to payout, ending with the trial balance.

The Tea House settles weekly on Mondays, orders eligible 7 days after completion; the food fee rule
charges 0.6 % of what was collected, plus the provider's actual fee. Lin buys four times, paying by card
(the provider keeps 0.6 % of what she paid):

  A  completed Mon 2 Nov: 2 x Longjing 200.00, Tea House coupon -7.77, 1,000 points -10.00
     collected 192.23, platform-funded 10.00, paid 182.23, card fee 1.09, service fee 1.15 -> net 189.99
  B  completed Thu 5 Nov: 1 x Longjing 100.00 -> card fee 0.60, service fee 0.60 -> net 98.80
  C  completed Wed 11 Nov: 3 x Longjing 300.00 -> card fee 1.80, service fee 1.80 -> net 296.40
  D  completed Tue 17 Nov: 1 x Longjing 100.00, 20.00 refunded before it is settled -> net 78.80

  run Mon 9 Nov   (orders completed before 2 Nov)   nothing
  run Mon 16 Nov  (before 9 Nov)                    statement 1: A + B                  = 288.79
  -- A is refunded 50.00 after it was settled; D 20.00 before --
  run Mon 23 Nov  (before 16 Nov)                   statement 2: C + clawback of A -50.00 = 246.40
  run Mon 30 Nov  (before 23 Nov)                   statement 3: D (its refund on its line) = 78.80

Each statement is issued by finance, confirmed by the Tea House, paid out with a voucher; after each
payout the Tea House's settlement-due balance is back at zero.
"""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from clearhouse.core.money import Money
from clearhouse.ledger.models import Posting
from clearhouse.ledger.selectors import trial_balance
from clearhouse.orders.models import Order
from clearhouse.orders.services import order_complete, order_deliver, order_ship
from clearhouse.payments.services import payment_confirm, payment_start, refund_request
from clearhouse.settlement.models import Statement, StatementLine
from clearhouse.settlement.selectors import statement_list_for
from clearhouse.settlement.services import (
    settlement_run,
    statement_confirm,
    statement_issue,
    statement_record_payout,
)
from clearhouse.settlement.verify import settlement_verify
from tests.orders.conftest import longjing, rich_customer, tea, teahouse_fixed  # noqa: F401
from tests.orders.support import buy
from tests.payments.conftest import _payment_settings, card  # noqa: F401
from tests.settlement.factories import at
from tests.settlement.lifecycle_support import PDF, due_balance, media_root, merchant_principal  # noqa: F401

pytestmark = pytest.mark.usefixtures("media_root")
MONDAYS = [date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)]


def sold(customer, longjing, quantity: int, completed: date, **checkout) -> Order:
    """Lin checks out, pays by card, the parcel ships and arrives, the order completes; its completion is
    then dated `completed` (noon): the eligibility clock, set back as waiting a week would."""
    [order] = buy(customer, (longjing, quantity), **checkout).orders.all()
    payment_confirm(intent=payment_start(order=order, method="card", actor="lin"), payment_token="tok")
    order_ship(order=order, carrier="SF Express", tracking_number=f"SF{order.pk}", actor="tea house")
    order_deliver(order=order, signed_by="Lin Mei", actor="courier")
    order_complete(order=order, actor="system")
    Order.objects.filter(pk=order.pk).update(status_changed_at=at(completed))
    return Order.objects.get(pk=order.pk)


def lines_of(statement: Statement) -> list[tuple]:
    return list(StatementLine.objects.filter(statement=statement).order_by("kind", "order_id").values_list(
        "kind", "order_number", "collected_minor", "platform_funded_minor", "service_fee_minor",
        "payment_fee_minor", "refunds_minor", "net_minor"))


def run(day: date) -> list[Statement]:
    result = settlement_run(day=day, actor="scheduler")
    return list(Statement.objects.filter(pk__in=result.statement_ids).order_by("id"))


def balance(code: str, merchant=None) -> int:
    postings = Posting.objects.filter(account__code=code, account__currency="CNY")
    if merchant is not None:
        postings = postings.filter(account__merchant=merchant)
    return sum(postings.values_list("amount_minor", flat=True))


def settle(statement: Statement, *, staff, finance, merchant, paid_on: date) -> Statement:
    """Finance issues it, the merchant (who now sees it) confirms, finance pays its net with a voucher."""
    assert not statement_list_for(staff).filter(pk=statement.pk).exists()  # a draft is finance's work
    statement_issue(statement=statement, actor=finance)
    assert statement_list_for(staff).filter(pk=statement.pk).exists()
    confirmed = statement_confirm(statement=statement, actor=staff)
    assert due_balance(merchant) == -confirmed.net_minor
    paid = statement_record_payout(
        statement=confirmed, amount_minor=confirmed.net_minor, payout_date=paid_on,
        reference=f"ICBC-{confirmed.number}", actor=finance,
        voucher=SimpleUploadedFile(f"{confirmed.number}.pdf", PDF, content_type="application/pdf"))
    assert paid.status == "paid" and due_balance(merchant) == 0
    return paid


def test_weekly_statements_from_checkout_to_payout_with_a_clawback(weekly_merchant, rich_customer, longjing,
                                                                   teahouse_fixed, card, manager):
    merchant = weekly_merchant
    staff = merchant_principal(merchant, "tea house portal")
    a = sold(rich_customer, longjing, 2, date(2026, 11, 2), merchant_coupons=["TEA777"], points=1000)
    b = sold(rich_customer, longjing, 1, date(2026, 11, 5))
    c = sold(rich_customer, longjing, 3, date(2026, 11, 11))
    d = sold(rich_customer, longjing, 1, date(2026, 11, 17))
    assert (a.subtotal_minor, a.merchant_coupon_amount_minor, a.points_amount_minor, a.total_minor) == (
        20000, 777, 1000, 18223)
    # What Lin paid is owed to the Tea House until its statements settle it.
    assert balance("2100", merchant) == -(18223 + 10000 + 30000 + 10000)

    # Monday 9 November: A completed on the 2nd is not yet a week old.
    assert run(MONDAYS[0]) == []

    # Monday 16 November: A and B.
    [first] = run(MONDAYS[1])
    assert lines_of(first) == [
        ("order", a.number, 19223, 1000, 115, 109, 0, 18999),
        ("order", b.number, 10000, 0, 60, 60, 0, 9880),
    ]
    assert (first.status, first.period_end, first.net_minor) == ("draft", date(2026, 11, 8), 28879)
    assert run(MONDAYS[1]) == []  # running the day again makes nothing
    settle(first, staff=staff, finance=manager, merchant=merchant, paid_on=MONDAYS[1])
    # A's and B's captures are settled: what remains owed on the payable is C's and D's.
    assert balance("2100", merchant) == -(30000 + 10000)

    # A is refunded 50.00 after it was settled; D 20.00 before it is.
    a_intent = a.payment_intents.get(status="captured")
    refund_request(intent=a_intent, amount=Money(5000, "CNY"), reason="one tin dented", actor=manager, user=manager)
    d_intent = d.payment_intents.get(status="captured")
    refund_request(intent=d_intent, amount=Money(2000, "CNY"), reason="late", actor=manager, user=manager)

    # Monday 23 November: C, and A's refund clawed back.
    [second] = run(MONDAYS[2])
    assert lines_of(second) == [
        ("clawback", a.number, 0, 0, 0, 0, 5000, -5000),
        ("order", c.number, 30000, 0, 180, 180, 0, 29640),
    ]
    assert second.net_minor == 24640
    settle(second, staff=staff, finance=manager, merchant=merchant, paid_on=MONDAYS[2])

    # Monday 30 November: D, with its refund on its own line.
    [third] = run(MONDAYS[3])
    assert lines_of(third) == [("order", d.number, 10000, 0, 60, 60, 2000, 7880)]
    settle(third, staff=staff, finance=manager, merchant=merchant, paid_on=MONDAYS[3])

    # Every order settled once; the merchant payable, settlement due and payment fees are all back at zero.
    assert StatementLine.objects.filter(kind="order").count() == 4
    assert balance("2100", merchant) == 0 and due_balance(merchant) == 0 and balance("6100") == 0
    rows = {row.account.code: (row.debit.minor, row.credit.minor) for row in trial_balance().rows}
    paid_in = 18223 + 10000 + 30000 + 10000
    fees = 109 + 60 + 180 + 60
    paid_out = 28879 + 24640 + 7880
    assert rows == {
        "1100.sandbox": (paid_in - fees - 5000 - 2000, 0),  # with the provider: captures - its fees - refunds
        "1000.main": (0, paid_out),                            # paid to the Tea House
        "6200": (1000, 0),                                     # Lin's points, funded by the platform
        "4100": (0, 115 + 60 + 180 + 60),                      # our service fees
    }
    assert trial_balance().is_balanced
    assert settlement_verify() == []
    out, err = StringIO(), StringIO()
    call_command("verify", stdout=out, stderr=err)
    assert "verify: OK" in out.getvalue() and err.getvalue() == ""
