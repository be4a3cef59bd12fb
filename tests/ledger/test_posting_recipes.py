"""Posting recipes, as a worked example: one order's money from capture to merchant payout.

A customer pays 100.00 CNY for a Tea House order through the sandbox
provider; the provider keeps 0.60; 10.00 is refunded; the provider pays the
remaining 89.40 to our bank; Tea House confirms its statement: 90.00 the
customer paid net of the refund, less our 2.70 service fee and the 0.60
payment fee passed on to it; we pay Tea House 86.70. Every step is checked
account by account, and posted twice to prove it posts once.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from clearhouse.core.errors import ValidationFailed
from clearhouse.core.money import Money
from clearhouse.ledger import chart
from clearhouse.ledger import posting_recipes as recipes
from clearhouse.ledger.models import Account, AccountType, JournalEntry
from clearhouse.ledger.selectors import account_balance, balances, trial_balance
from clearhouse.ledger.verify import ledger_verify
from tests.ledger.support import ledger_rows, money

DAY = date(2026, 11, 2)


def twice(recipe, **kwargs) -> JournalEntry:
    """Post through a recipe, then replay it: the second call must change nothing."""
    first = recipe(**kwargs)
    before = ledger_rows()
    again = recipe(**kwargs)
    assert again.pk == first.pk
    assert ledger_rows() == before
    return first


def account(code: str, *, merchant=None) -> Account:
    return Account.objects.get(code=code, currency="CNY", merchant=merchant, customer=None)


def balance_of(code: str, *, merchant=None, as_of=None) -> str:
    return account_balance(account=account(code, merchant=merchant), as_of=as_of).to_string()


def test_marketplace_order_from_capture_to_merchant_payout(merchant, clerk):
    # Day 1: the payment is captured; the money sits with the provider, owed to the merchant.
    captured = twice(recipes.payment_captured, payment_id="P1", provider="sandbox", amount=money("100.00"),
                     day=DAY, merchant=merchant, actor=clerk)
    assert captured.idempotency_key == "payment_captured:P1"
    assert (captured.source_type, captured.source_id) == ("payment", "P1")
    assert captured.posted_by == f"user:{clerk.pk} clerk"
    assert balance_of("1100.sandbox") == "100.00"
    assert balance_of("2100", merchant=merchant) == "-100.00"

    # The provider keeps its fee: our expense.
    twice(recipes.provider_fee_charged, payment_id="P1", provider="sandbox", fee=money("0.60"), day=DAY)
    assert balance_of("1100.sandbox") == "99.40"
    assert balance_of("6100") == "0.60"

    # Day 2: 10.00 is refunded to the customer, out of the merchant's share.
    twice(recipes.refund_paid, refund_id="R1", provider="sandbox", amount=money("10.00"),
          day=DAY + timedelta(days=1), merchant=merchant)
    assert balance_of("1100.sandbox") == "89.40"
    assert balance_of("2100", merchant=merchant) == "-90.00"

    # Day 3: the provider pays out what it holds; clearing is empty.
    twice(recipes.provider_payout_received, payout_id="PO1", provider="sandbox", amount=money("89.40"),
          day=DAY + timedelta(days=2))
    assert balance_of("1000.main") == "89.40"
    assert balance_of("1100.sandbox") == "0.00"

    # Day 4: the merchant confirms its statement: 90.00 off the payable, 2.70 our service fee, 0.60 payment fee
    # recovered from the merchant, 86.70 due to it.
    statement = twice(recipes.statement_confirmed, statement_number="ST-1", merchant=merchant,
                      merchant_payable=money("90.00"), platform_funded=money("0.00"), adjustments=money("0.00"),
                      service_fee=money("2.70"), payment_fee=money("0.60"), settlement_due=money("86.70"),
                      day=DAY + timedelta(days=3))
    assert (statement.idempotency_key, statement.source_type, statement.source_id) == (
        "statement_confirmed:ST-1", "statement", "ST-1")
    assert statement.postings.count() == 4
    assert balance_of("2100", merchant=merchant) == "0.00"
    assert balance_of("4100") == "-2.70"
    assert balance_of("6100") == "0.00"
    assert balance_of("2200", merchant=merchant) == "-86.70"

    # Day 5: we pay the merchant.
    payout = twice(recipes.merchant_paid_out, statement_number="ST-1", merchant=merchant, amount=money("86.70"),
                   day=DAY + timedelta(days=4))
    assert payout.idempotency_key == "merchant_paid_out:ST-1"
    assert balance_of("2200", merchant=merchant) == "0.00"
    assert balance_of("1000.main") == "2.70"

    # The end: we kept 2.70 of service fee; the provider's fee was passed on; the books balance.
    final = {(r.account.code, r.account.merchant_id): r.balance.to_string() for r in balances()}
    assert final == {("1000.main", None): "2.70", ("4100", None): "-2.70"}
    assert JournalEntry.objects.count() == 6
    tb = trial_balance()
    assert tb.is_balanced
    assert tb.totals() == {"CNY": (Money(270, "CNY"), Money(270, "CNY"))}
    assert ledger_verify().ok

    # Looking back: balances as of each day of the story.
    assert balance_of("1100.sandbox", as_of=DAY) == "99.40"
    assert balance_of("1100.sandbox", as_of=DAY + timedelta(days=1)) == "89.40"
    assert balance_of("2100", merchant=merchant, as_of=DAY + timedelta(days=2)) == "-90.00"
    assert balance_of("1000.main", as_of=DAY + timedelta(days=3)) == "89.40"
    assert balance_of("1000.main", as_of=DAY - timedelta(days=1)) == "0.00"
    for day in range(5):
        assert trial_balance(as_of=DAY + timedelta(days=day)).is_balanced


def test_merchant_balances_show_only_its_sub_ledger(merchant, other_merchant):
    recipes.payment_captured(payment_id="P1", provider="sandbox", amount=money("100.00"), day=DAY, merchant=merchant)
    recipes.payment_captured(payment_id="P2", provider="sandbox", amount=money("30.00"), day=DAY,
                             merchant=other_merchant)
    mine = balances(merchant_id=merchant.pk)
    assert [(r.account.code, r.balance) for r in mine] == [("2100", Money(-10000, "CNY"))]
    theirs = balances(merchant_id=other_merchant.pk)
    assert [(r.account.code, r.balance) for r in theirs] == [("2100", Money(-3000, "CNY"))]
    assert balance_of("1100.sandbox") == "130.00"  # one clearing account for both
    assert trial_balance().is_balanced


def test_own_goods_sale_is_income_not_a_merchant_payable(db):
    recipes.payment_captured(payment_id="P1", provider="alipay", amount=money("50.00"), day=DAY)
    recipes.refund_paid(refund_id="R1", provider="alipay", amount=money("5.00"), day=DAY)
    assert balance_of("4000") == "-45.00"
    assert balance_of("1100.alipay") == "45.00"
    assert not Account.objects.filter(code="2100").exists()
    assert trial_balance().is_balanced


def test_offline_transfer_credits_the_customers_receivable(clerk):
    customer = clerk  # any user can be a customer party
    twice(recipes.offline_transfer_received, transfer_id="T1", customer=customer, amount=money("20.00"), day=DAY)
    receivable = Account.objects.get(code="1200", customer=customer)
    assert receivable.type == AccountType.ASSET
    assert account_balance(account=receivable) == Money(-2000, "CNY")
    assert balance_of("1000.main") == "20.00"
    assert [r.account for r in balances(customer_id=customer.pk)] == [receivable]


def confirmed(**amounts) -> JournalEntry | None:
    """statement_confirmed for statement ST-1 with the given amounts (major units) and zero for the rest."""
    names = ("merchant_payable", "platform_funded", "adjustments", "service_fee", "payment_fee", "settlement_due")
    merchant = amounts.pop("merchant")
    return recipes.statement_confirmed(statement_number="ST-1", merchant=merchant, day=DAY,
                                       **{name: money(amounts.get(name, "0.00")) for name in names})


def test_statement_without_fees_posts_two_lines(merchant):
    recipes.payment_captured(payment_id="P1", provider="sandbox", amount=money("10.00"), day=DAY, merchant=merchant)
    entry = confirmed(merchant=merchant, merchant_payable="10.00", settlement_due="10.00")
    assert entry.postings.count() == 2
    assert balance_of("2200", merchant=merchant) == "-10.00"
    assert not Account.objects.filter(code__in=["4100", "6100", "6200", "6300"]).exists()


def test_statement_entirely_service_fee_posts_two_lines(merchant):
    entry = confirmed(merchant=merchant, merchant_payable="1.00", service_fee="1.00")
    assert entry.postings.count() == 2
    assert balance_of("4100") == "-1.00"
    assert not Account.objects.filter(code="2200").exists()


def test_statement_negative_amounts_post_on_the_other_side(merchant):
    # A clawback-only statement: 5.00 refunded after settlement comes back off the merchant's due balance,
    # and a 1.00 adjustment in the platform's favour.
    entry = confirmed(merchant=merchant, merchant_payable="-5.00", adjustments="-1.00", settlement_due="-6.00")
    postings = {(p.account.code, p.amount_minor) for p in entry.postings.select_related("account")}
    assert postings == {("2100", -500), ("6300", -100), ("2200", 600)}
    assert balance_of("2200", merchant=merchant) == "6.00"  # a debit: the merchant owes the platform


def test_statement_with_all_amounts_zero_posts_nothing(merchant):
    assert confirmed(merchant=merchant) is None
    assert JournalEntry.objects.count() == 0


def test_statement_amounts_that_do_not_balance_are_refused(merchant):
    from clearhouse.ledger.domain import UnbalancedEntry

    with pytest.raises(UnbalancedEntry):
        confirmed(merchant=merchant, merchant_payable="10.00", settlement_due="9.99")
    assert JournalEntry.objects.count() == 0


def test_statement_amounts_in_two_currencies_are_refused(merchant):
    from clearhouse.core.errors import CurrencyMismatch

    with pytest.raises(CurrencyMismatch):
        recipes.statement_confirmed(statement_number="ST-1", merchant=merchant, day=DAY,
                                    merchant_payable=money("1.00"), platform_funded=money("0.00"),
                                    adjustments=money("0.00"), service_fee=money("0.00"),
                                    payment_fee=money("0.00"), settlement_due=Money(100, "USD"))
    assert JournalEntry.objects.count() == 0


def test_recipes_in_other_currencies_open_accounts_in_that_currency(merchant):
    recipes.payment_captured(payment_id="P1", provider="sandbox", amount=Money(1000, "JPY"), day=DAY,
                             merchant=merchant)
    clearing = Account.objects.get(code="1100.sandbox", currency="JPY")
    assert account_balance(account=clearing) == Money(1000, "JPY")
    assert not Account.objects.filter(currency="CNY").exists()


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_recipes_refuse_amounts_that_are_not_positive(merchant, amount):
    value = money(amount)
    calls = [
        lambda: recipes.payment_captured(payment_id="P", provider="sandbox", amount=value, day=DAY),
        lambda: recipes.provider_fee_charged(payment_id="P", provider="sandbox", fee=value, day=DAY),
        lambda: recipes.provider_payout_received(payout_id="P", provider="sandbox", amount=value, day=DAY),
        lambda: recipes.refund_paid(refund_id="R", provider="sandbox", amount=value, day=DAY),
        lambda: recipes.merchant_paid_out(statement_number="ST-1", merchant=merchant, amount=value, day=DAY),
    ]
    for call in calls:
        with pytest.raises(ValidationFailed):
            call()
    assert JournalEntry.objects.count() == 0


def test_a_payment_event_replayed_with_another_amount_is_a_conflict(merchant):
    from clearhouse.core.errors import IdempotencyConflict

    recipes.payment_captured(payment_id="P1", provider="sandbox", amount=money("100.00"), day=DAY, merchant=merchant)
    with pytest.raises(IdempotencyConflict):
        recipes.payment_captured(payment_id="P1", provider="sandbox", amount=money("99.00"), day=DAY,
                                 merchant=merchant)
    assert balance_of("1100.sandbox") == "100.00"


# --- the chart -----------------------------------------------------------------------
def test_chart_accounts_are_opened_once_on_first_use(merchant):
    first = chart.ledger_account(chart.CLEARING, "CNY", suffix="sandbox")
    assert (first.code, first.name, first.type) == ("1100.sandbox", "Clearing: sandbox", AccountType.ASSET)
    assert chart.ledger_account(chart.CLEARING, "CNY", suffix="sandbox") == first
    assert chart.ledger_account(chart.CLEARING, "USD", suffix="sandbox") != first
    payable = chart.ledger_account(chart.MERCHANT_PAYABLE, "CNY", merchant=merchant)
    assert payable.merchant == merchant
    assert payable.name == "Merchant payable — Tea House"
    assert payable.type == AccountType.LIABILITY
    assert chart.ledger_account(chart.MERCHANT_PAYABLE, "CNY", merchant=merchant) == payable
    assert Account.objects.count() == 3
