"""journal_entry_reverse: a mistake is fixed by a mirror entry, once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from clearhouse.core.errors import InvalidTransition
from clearhouse.core.money import Money
from clearhouse.ledger.domain import EntryAlreadyReversed, PeriodClosed
from clearhouse.ledger.models import JournalEntry
from clearhouse.ledger.selectors import account_balance, trial_balance
from clearhouse.ledger.services import journal_entry_post, journal_entry_reverse, period_close, period_create
from tests.ledger.support import cr, dr, ledger_rows


@pytest.fixture
def entry(accounts_cny, today):
    a = accounts_cny
    return journal_entry_post(
        idempotency_key="payment_captured:1", effective_date=today, memo="Payment 1",
        lines=[dr(a["clearing"], "100.00"), cr(a["sales"], "99.40"), cr(a["fees"], "0.60")],
    )


def test_reversal_posts_the_mirror_entry(entry, accounts_cny, today, manager):
    a = accounts_cny
    reversal = journal_entry_reverse(entry=entry, effective_date=today, actor=manager)
    assert reversal.pk != entry.pk
    assert reversal.reverses_id == entry.pk
    assert (reversal.source_type, reversal.source_id) == ("reversal", str(entry.pk))
    assert reversal.memo == f"Reversal of JE-{entry.pk}"
    assert reversal.posted_by == f"user:{manager.pk} manager"
    original = sorted((p.account_id, p.amount_minor) for p in entry.postings.all())
    mirrored = sorted((p.account_id, -p.amount_minor) for p in reversal.postings.all())
    assert mirrored == original
    entry.refresh_from_db()
    assert entry.reversed_by == reversal
    for account in a.values():
        assert account_balance(account=account) == Money(0, "CNY")
    assert trial_balance().is_balanced


def test_reversal_can_carry_its_own_date_and_memo(entry, today):
    later = today + timedelta(days=3)
    reversal = journal_entry_reverse(entry=entry, effective_date=later, memo="Wrong customer")
    assert reversal.effective_date == later
    assert reversal.memo == "Wrong customer"


def test_reversal_defaults_to_today(entry):
    from django.utils import timezone

    assert journal_entry_reverse(entry=entry).effective_date == timezone.localdate()


def test_balances_before_the_reversal_date_keep_the_original(entry, accounts_cny, today):
    journal_entry_reverse(entry=entry, effective_date=today + timedelta(days=1))
    clearing = accounts_cny["clearing"]
    assert account_balance(account=clearing, as_of=today) == Money(10000, "CNY")
    assert account_balance(account=clearing, as_of=today + timedelta(days=1)) == Money(0, "CNY")


@pytest.mark.parametrize(
    "second",
    [{}, {"days_later": 1}, {"memo": "another reason"}],
    ids=["same-content", "other-date", "other-memo"],
)
def test_an_entry_is_reversed_at_most_once(entry, today, second):
    first = journal_entry_reverse(entry=entry, effective_date=today)
    before = ledger_rows()
    with pytest.raises(EntryAlreadyReversed) as exc:
        journal_entry_reverse(entry=entry, effective_date=today + timedelta(days=second.get("days_later", 0)),
                              memo=second.get("memo", ""))
    assert exc.value.code == "entry_already_reversed"
    assert exc.value.http_status == 409
    assert f"JE-{first.pk}" in exc.value.message
    assert ledger_rows() == before
    assert list(JournalEntry.objects.filter(reverses=entry)) == [first]


def test_a_reversal_cannot_itself_be_reversed(entry, today):
    reversal = journal_entry_reverse(entry=entry, effective_date=today)
    before = ledger_rows()
    with pytest.raises(InvalidTransition) as exc:
        journal_entry_reverse(entry=reversal, effective_date=today)
    assert exc.value.code == "invalid_transition"
    assert ledger_rows() == before


def test_entry_in_a_closed_period_is_reversed_in_an_open_one(entry, accounts_cny, today):
    period_close(period=period_create(name="2026-11", start_date=date(2026, 11, 1), end_date=date(2026, 11, 30)))
    with pytest.raises(PeriodClosed):
        journal_entry_reverse(entry=entry, effective_date=today)
    reversal = journal_entry_reverse(entry=entry, effective_date=date(2026, 12, 1))
    assert reversal.reverses_id == entry.pk
    assert account_balance(account=accounts_cny["clearing"], as_of=date(2026, 11, 30)) == Money(10000, "CNY")
    assert account_balance(account=accounts_cny["clearing"]) == Money(0, "CNY")
