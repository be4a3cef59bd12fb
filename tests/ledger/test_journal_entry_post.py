"""journal_entry_post: the only way postings come into being."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import transaction

from clearhouse.core.errors import CurrencyMismatch, DomainError, IdempotencyConflict, ValidationFailed
from clearhouse.core.money import Money
from clearhouse.ledger.domain import AccountInactive, AccountNotFound, PeriodClosed, PostingLine, UnbalancedEntry
from clearhouse.ledger.models import BalanceBucket, JournalEntry, Posting
from clearhouse.ledger.selectors import account_balance
from clearhouse.ledger.services import (
    account_create,
    account_deactivate,
    journal_entry_post,
    period_close,
    period_create,
)
from tests.ledger.support import bucket_totals_by_account, cr, dr, ledger_rows, posting_totals_by_account


@pytest.fixture
def post(today):
    def _post(key, *lines, day=None, **kwargs):
        return journal_entry_post(idempotency_key=key, effective_date=day or today, lines=list(lines), **kwargs)

    return _post


def test_balanced_entry_is_posted_with_its_postings(post, accounts_cny, today, clerk):
    a = accounts_cny
    entry = post(
        "payment_captured:1", dr(a["clearing"], "100.00"), cr(a["sales"], "99.40"), cr(a["fees"], "0.60"),
        memo="Payment 1", source_type="payment", source_id=1, actor=clerk,
    )
    entry.refresh_from_db()
    assert entry.effective_date == today
    assert entry.memo == "Payment 1"
    assert (entry.source_type, entry.source_id) == ("payment", "1")
    assert entry.idempotency_key == "payment_captured:1"
    assert entry.posted_by == f"user:{clerk.pk} clerk"
    assert entry.posted_at is not None
    assert len(entry.fingerprint) == 64
    assert entry.reverses is None
    postings = {(p.account_id, p.amount_minor, p.currency) for p in entry.postings.all()}
    assert postings == {(a["clearing"].pk, 10000, "CNY"), (a["sales"].pk, -9940, "CNY"), (a["fees"].pk, -60, "CNY")}
    assert str(entry).startswith(f"JE-{entry.pk} ")


def test_posting_updates_the_cached_balances(post, accounts_cny):
    a = accounts_cny
    post("e1", dr(a["clearing"], "100.00"), cr(a["sales"], "100.00"))
    post("e2", dr(a["fees"], "0.60"), cr(a["clearing"], "0.60"))
    assert account_balance(account=a["clearing"]) == Money(9940, "CNY")
    assert account_balance(account=a["sales"]) == Money(-10000, "CNY")
    assert account_balance(account=a["fees"]) == Money(60, "CNY")
    assert account_balance(account=a["bank"]) == Money(0, "CNY")
    assert bucket_totals_by_account() == posting_totals_by_account()


def test_posting_without_an_actor_is_posted_by_the_system(post, accounts_cny):
    entry = post("e1", dr(accounts_cny["bank"], "1.00"), cr(accounts_cny["sales"], "1.00"))
    assert entry.posted_by == "system"


def test_two_postings_on_one_account_in_one_entry_are_both_kept(post, accounts_cny):
    a = accounts_cny
    entry = post("e1", dr(a["bank"], "3.00"), dr(a["bank"], "2.00"), cr(a["sales"], "5.00"))
    assert entry.postings.count() == 3
    assert account_balance(account=a["bank"]) == Money(500, "CNY")
    assert bucket_totals_by_account()[a["bank"].pk] == (500, 2)


def test_multi_currency_entry_posts_when_each_currency_balances(post, accounts_cny):
    usd_bank = account_create(code="1000.usd", name="Bank USD", type="asset", currency="USD")
    usd_sales = account_create(code="4000", name="Sales", type="income", currency="USD")
    a = accounts_cny
    post("e1", dr(a["bank"], "7.00"), cr(a["sales"], "7.00"), dr(usd_bank, "1.00"), cr(usd_sales, "1.00"))
    assert account_balance(account=usd_bank) == Money(100, "USD")
    assert account_balance(account=a["bank"]) == Money(700, "CNY")


# --- refusals write nothing -----------------------------------------------------------
def _refused(error, post, *args, **kwargs):
    before = ledger_rows()
    with pytest.raises(error) as exc:
        post(*args, **kwargs)
    assert ledger_rows() == before
    return exc.value


def test_unbalanced_entry_is_refused_and_writes_nothing(post, accounts_cny):
    a = accounts_cny
    post("earlier", dr(a["clearing"], "5.00"), cr(a["sales"], "5.00"))
    err = _refused(UnbalancedEntry, post, "e1", dr(a["clearing"], "100.00"), cr(a["sales"], "99.99"))
    assert err.code == "unbalanced_entry"
    assert not JournalEntry.objects.filter(idempotency_key="e1").exists()


def test_entry_balanced_only_across_currencies_is_refused(post, accounts_cny):
    a = accounts_cny
    err = _refused(UnbalancedEntry, post, "e1", dr(a["clearing"], "1.00"), cr(a["sales"], "1.00", "USD"))
    assert err.code == "unbalanced_entry"


def test_single_line_entry_is_refused(post, accounts_cny):
    err = _refused(UnbalancedEntry, post, "e1", dr(accounts_cny["bank"], "1.00"))
    assert err.code == "unbalanced_entry"


def test_zero_posting_is_refused(post, accounts_cny):
    a = accounts_cny
    err = _refused(ValidationFailed, post, "e1", dr(a["bank"], "1.00"), cr(a["sales"], "1.00"), dr(a["fees"], "0"))
    assert err.code == "validation_failed"


def test_unknown_account_is_refused_and_writes_nothing(post, accounts_cny):
    a = accounts_cny
    missing = PostingLine.credit(999_999, Money(100, "CNY"))
    err = _refused(AccountNotFound, post, "e1", dr(a["bank"], "1.00"), missing)
    assert err.code == "account_not_found"
    assert err.param == "postings[1].account_id"


def test_inactive_account_is_refused_and_writes_nothing(post, accounts_cny):
    a = accounts_cny
    account_deactivate(account=a["sales"])
    err = _refused(AccountInactive, post, "e1", dr(a["bank"], "1.00"), cr(a["sales"], "1.00"))
    assert err.code == "account_inactive"
    assert err.param == "postings[1].account_id"


def test_amount_in_another_currency_than_the_account_is_refused(post, accounts_cny):
    a = accounts_cny
    err = _refused(CurrencyMismatch, post, "e1", dr(a["bank"], "1.00", "USD"), cr(a["sales"], "1.00", "USD"))
    assert err.code == "currency_mismatch"
    assert err.param == "postings[0].currency"


def test_posting_into_a_closed_period_is_refused_and_writes_nothing(post, accounts_cny, today):
    a = accounts_cny
    period = period_create(name="2026-11", start_date=date(2026, 11, 1), end_date=date(2026, 11, 30))
    period_close(period=period)
    err = _refused(PeriodClosed, post, "e1", dr(a["bank"], "1.00"), cr(a["sales"], "1.00"), day=today)
    assert err.code == "period_closed"
    assert err.param == "effective_date"


def test_missing_idempotency_key_is_refused(post, accounts_cny):
    a = accounts_cny
    err = _refused(DomainError, post, "", dr(a["bank"], "1.00"), cr(a["sales"], "1.00"))
    assert err.param == "idempotency_key"


def test_refused_entry_inside_a_caller_transaction_leaves_that_transaction_usable(post, accounts_cny):
    a = accounts_cny
    with transaction.atomic():
        first = post("e1", dr(a["bank"], "1.00"), cr(a["sales"], "1.00"))
        with pytest.raises(UnbalancedEntry):
            post("e2", dr(a["bank"], "1.00"), cr(a["sales"], "2.00"))
        second = post("e3", dr(a["bank"], "2.00"), cr(a["sales"], "2.00"))
    assert {first.pk, second.pk} == set(JournalEntry.objects.values_list("pk", flat=True))


# --- idempotency -------------------------------------------------------------------
def test_same_key_and_same_content_returns_the_first_entry_and_writes_nothing(post, accounts_cny):
    a = accounts_cny
    lines = (dr(a["clearing"], "100.00"), cr(a["sales"], "100.00"))
    first = post("payment_captured:7", *lines, memo="Payment 7", source_type="payment", source_id="7")
    before = ledger_rows()
    again = post("payment_captured:7", *lines, memo="Payment 7", source_type="payment", source_id="7")
    assert again.pk == first.pk
    assert ledger_rows() == before
    assert account_balance(account=a["clearing"]) == Money(10000, "CNY")


def test_replay_with_postings_in_another_order_is_the_same_entry(post, accounts_cny):
    a = accounts_cny
    first = post("e1", dr(a["clearing"], "100.00"), cr(a["sales"], "99.40"), cr(a["fees"], "0.60"))
    again = post("e1", cr(a["fees"], "0.60"), dr(a["clearing"], "100.00"), cr(a["sales"], "99.40"))
    assert again.pk == first.pk
    assert JournalEntry.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"amount": "100.01"},
        {"memo": "another memo"},
        {"day": date(2026, 11, 24)},
        {"source_id": "8"},
        {"account": "bank"},
    ],
)
def test_same_key_with_different_content_is_an_idempotency_conflict(post, accounts_cny, today, change):
    a = accounts_cny

    def attempt(amount="100.00", memo="m", day=today, source_id="7", account="clearing"):
        return post("payment_captured:7", dr(a[account], amount), cr(a["sales"], amount), memo=memo, day=day,
                    source_type="payment", source_id=source_id)

    first = attempt()
    before = ledger_rows()
    with pytest.raises(IdempotencyConflict) as exc:
        attempt(**change)
    assert exc.value.code == "idempotency_key_reuse"
    assert exc.value.http_status == 409
    assert f"JE-{first.pk}" in exc.value.message
    assert ledger_rows() == before


def test_replay_still_works_after_an_account_is_deactivated(post, accounts_cny):
    a = accounts_cny
    lines = (dr(a["clearing"], "100.00"), cr(a["sales"], "100.00"))
    first = post("payment_captured:7", *lines)
    account_deactivate(account=a["sales"])
    before = ledger_rows()
    assert post("payment_captured:7", *lines).pk == first.pk
    assert ledger_rows() == before
    with pytest.raises(AccountInactive):
        post("payment_captured:8", *lines)


def test_replay_still_works_after_its_period_is_closed(post, accounts_cny, today):
    a = accounts_cny
    lines = (dr(a["clearing"], "100.00"), cr(a["sales"], "100.00"))
    first = post("payment_captured:7", *lines)
    period_close(period=period_create(name="2026-11", start_date=today.replace(day=1), end_date=today))
    assert post("payment_captured:7", *lines).pk == first.pk
    with pytest.raises(PeriodClosed):
        post("payment_captured:8", *lines)


def test_changed_content_is_a_conflict_even_when_the_new_content_is_also_invalid(post, accounts_cny):
    a = accounts_cny
    post("e1", dr(a["clearing"], "1.00"), cr(a["sales"], "1.00"))
    account_deactivate(account=a["sales"])
    with pytest.raises(IdempotencyConflict):
        post("e1", dr(a["clearing"], "2.00"), cr(a["sales"], "2.00"))


def test_postings_and_buckets_carry_the_effective_date(post, accounts_cny, today):
    a = accounts_cny
    yesterday = today - timedelta(days=1)
    post("e1", dr(a["bank"], "1.00"), cr(a["sales"], "1.00"), day=yesterday)
    assert set(BalanceBucket.objects.values_list("effective_date", flat=True)) == {yesterday}
    assert Posting.objects.filter(entry__effective_date=yesterday).count() == 2
