"""Ledger reads: balances as of a date, per party, the trial balance, merchant scoping."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from clearhouse.core.errors import NotFound
from clearhouse.core.money import Money
from clearhouse.ledger import posting_recipes as recipes
from clearhouse.ledger.selectors import (
    account_balance,
    account_get,
    account_list,
    balances,
    entry_get,
    entry_list,
    entry_postings,
    period_get,
    period_list,
    trial_balance,
)
from clearhouse.ledger.services import account_create, journal_entry_post, period_create
from tests.ledger.support import cr, dr, money

D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)


@pytest.fixture
def story(accounts_cny):
    """Bank receives 100 on D1 and 50 on D2, pays 30 of fees on D3."""
    a = accounts_cny
    for key, day, debit, credit, amount in [
        ("e1", D1, "bank", "sales", "100.00"),
        ("e2", D2, "bank", "sales", "50.00"),
        ("e3", D3, "fees", "bank", "30.00"),
    ]:
        journal_entry_post(idempotency_key=key, effective_date=day, lines=[dr(a[debit], amount), cr(a[credit], amount)])
    return a


def test_account_balance_as_of_the_end_of_each_day(story):
    bank = story["bank"]
    assert account_balance(account=bank, as_of=D1 - timedelta(days=1)) == Money(0, "CNY")
    assert account_balance(account=bank, as_of=D1) == Money(10000, "CNY")
    assert account_balance(account=bank, as_of=D2) == Money(15000, "CNY")
    assert account_balance(account=bank, as_of=D3) == Money(12000, "CNY")
    assert account_balance(account=bank) == Money(12000, "CNY")


def test_balance_is_in_the_accounts_currency(db):
    usd = account_create(code="1000", name="Bank", type="asset", currency="USD")
    assert account_balance(account=usd) == Money(0, "USD")


def test_balances_list_non_zero_accounts_unless_asked(story):
    rows = balances(as_of=D1)
    assert {r.account.code: r.balance for r in rows} == {"1000.main": Money(10000, "CNY"), "4000": Money(-10000, "CNY")}
    with_zero = balances(as_of=D1, include_zero=True)
    assert {r.account.code for r in with_zero} == {"1000.main", "1100.sandbox", "4000", "6100"}


def test_balance_rows_split_into_debit_and_credit_columns(story):
    rows = {r.account.code: r for r in balances()}
    assert (rows["1000.main"].debit, rows["1000.main"].credit) == (Money(12000, "CNY"), Money(0, "CNY"))
    assert (rows["4000"].debit, rows["4000"].credit) == (Money(0, "CNY"), Money(15000, "CNY"))


def test_trial_balance_agrees_per_currency_on_every_day(story):
    usd_bank = account_create(code="1000", name="Bank", type="asset", currency="USD")
    usd_equity = account_create(code="3000", name="Equity", type="equity", currency="USD")
    journal_entry_post(idempotency_key="usd", effective_date=D2, lines=[dr(usd_bank, "9.99"), cr(usd_equity, "9.99")])
    for day in (D1, D2, D3, None):
        tb = trial_balance(as_of=day)
        assert tb.is_balanced
        assert tb.as_of == day
    totals = trial_balance().totals()
    assert totals["CNY"] == (Money(15000, "CNY"), Money(15000, "CNY"))
    assert totals["USD"] == (Money(999, "USD"), Money(999, "USD"))
    only_usd = trial_balance(currency="usd")
    assert set(only_usd.totals()) == {"USD"}


def test_trial_balance_of_an_empty_ledger_is_balanced(db):
    tb = trial_balance()
    assert tb.rows == []
    assert tb.totals() == {}
    assert tb.is_balanced


def test_a_trial_balance_that_does_not_agree_says_so(story):
    from clearhouse.ledger.models import BalanceBucket

    BalanceBucket.objects.filter(account=story["fees"]).update(amount_minor=1)
    assert not trial_balance().is_balanced


# --- merchant scoping ------------------------------------------------------------------
@pytest.fixture
def two_merchants(merchant, other_merchant):
    recipes.payment_captured(payment_id="P1", provider="sandbox", amount=money("100.00"), day=D1, merchant=merchant)
    recipes.payment_captured(payment_id="P2", provider="sandbox", amount=money("30.00"), day=D1,
                             merchant=other_merchant)
    return merchant, other_merchant


def test_accounts_of_a_merchant_are_only_its_sub_ledgers(two_merchants):
    mine, _ = two_merchants
    assert [a.merchant_id for a in account_list(merchant_id=mine.pk)] == [mine.pk]
    assert account_list().count() == 3
    assert [a.code for a in account_list(code="1100.sandbox")] == ["1100.sandbox"]
    assert account_list(type="liability").count() == 2
    assert account_list(currency="usd").count() == 0


def test_another_merchants_account_looks_like_no_account(two_merchants):
    mine, theirs = two_merchants
    their_account = account_list(merchant_id=theirs.pk).get()
    assert account_get(account_id=their_account.pk) == their_account
    with pytest.raises(NotFound):
        account_get(account_id=their_account.pk, merchant_id=mine.pk)
    with pytest.raises(NotFound):
        account_get(account_id=10**9)


def test_a_merchant_sees_only_entries_touching_its_accounts_and_only_its_lines(two_merchants):
    mine, theirs = two_merchants
    my_entries = list(entry_list(merchant_id=mine.pk))
    assert [e.source_id for e in my_entries] == ["P1"]
    their_entry = entry_list(merchant_id=theirs.pk).get()
    with pytest.raises(NotFound):
        entry_get(entry_id=their_entry.pk, merchant_id=mine.pk)
    assert entry_get(entry_id=their_entry.pk) == their_entry
    lines = entry_postings(my_entries, merchant_id=mine.pk)[my_entries[0].pk]
    assert [(p.account.merchant_id, p.amount_minor) for p in lines] == [(mine.pk, -10000)]
    assert len(entry_postings(my_entries)[my_entries[0].pk]) == 2  # the platform sees both lines


def test_entry_list_filters(story):
    assert entry_list().count() == 3
    assert [e.idempotency_key for e in entry_list()] == ["e3", "e2", "e1"]  # newest first
    assert entry_list(account_id=story["fees"].pk).get().idempotency_key == "e3"
    assert [e.idempotency_key for e in entry_list(effective_from=D2)] == ["e3", "e2"]
    assert [e.idempotency_key for e in entry_list(effective_to=D2)] == ["e2", "e1"]
    assert entry_list(source_type="payment").count() == 0


def test_periods_are_listed_by_start_date_and_found_by_id(db):
    later = period_create(name="2026-12", start_date=date(2026, 12, 1), end_date=date(2026, 12, 31))
    earlier = period_create(name="2026-11", start_date=date(2026, 11, 1), end_date=date(2026, 11, 30))
    assert list(period_list()) == [earlier, later]
    assert period_get(period_id=later.pk) == later
    with pytest.raises(NotFound):
        period_get(period_id=10**9)
