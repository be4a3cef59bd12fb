"""Batch posting: many entries in one transaction, same rules as one, all or nothing."""

from __future__ import annotations

from datetime import date

import pytest

from clearhouse.core.errors import IdempotencyConflict
from clearhouse.core.money import Money
from clearhouse.ledger.domain import AccountInactive, PeriodClosed, PostingLine, UnbalancedEntry
from clearhouse.ledger.models import BalanceBucket, JournalEntry, Posting
from clearhouse.ledger.selectors import account_balance
from clearhouse.ledger.services import (
    EntryDraft,
    account_deactivate,
    journal_entries_post,
    journal_entry_post,
    period_close,
    period_create,
)
from clearhouse.ledger.verify import ledger_verify

DAY = date(2026, 11, 23)


def draft(accounts, key, minor=1000, day=DAY, debit="clearing", credit="sales"):
    return EntryDraft(key, day, [PostingLine(accounts[debit].pk, Money(minor, "CNY")),
                                 PostingLine(accounts[credit].pk, Money(-minor, "CNY"))], memo=key)


def test_a_batch_posts_every_entry_and_the_balances_follow(accounts_cny):
    drafts = [draft(accounts_cny, f"k{i}", 100 + i) for i in range(250)]
    entries = journal_entries_post(drafts=drafts)
    assert [e.idempotency_key for e in entries] == [d.idempotency_key for d in drafts]
    assert Posting.objects.count() == 500
    assert account_balance(account=accounts_cny["clearing"]) == Money(sum(100 + i for i in range(250)), "CNY")
    assert ledger_verify().ok


def test_a_batch_replays_entries_already_posted_one_by_one(accounts_cny):
    single = journal_entry_post(idempotency_key="k1", effective_date=DAY, memo="k1",
                                lines=draft(accounts_cny, "k1").lines)
    entries = journal_entries_post(drafts=[draft(accounts_cny, "k1"), draft(accounts_cny, "k2")])
    assert entries[0].pk == single.pk
    assert JournalEntry.objects.count() == 2
    assert ledger_verify().ok


def test_a_key_used_for_other_content_refuses_the_whole_batch(accounts_cny):
    journal_entries_post(drafts=[draft(accounts_cny, "k1")])
    with pytest.raises(IdempotencyConflict) as err:
        journal_entries_post(drafts=[draft(accounts_cny, "k2"), draft(accounts_cny, "k1", minor=5)])
    assert err.value.param == "entries[1].idempotency_key"
    assert JournalEntry.objects.count() == 1


@pytest.mark.parametrize("spoil", ["unbalanced", "inactive", "closed"])
def test_one_bad_draft_refuses_the_batch_and_names_it(accounts_cny, spoil):
    bad = draft(accounts_cny, "bad")
    expected = UnbalancedEntry
    if spoil == "unbalanced":
        bad = EntryDraft("bad", DAY, [bad.lines[0], PostingLine(accounts_cny["sales"].pk, Money(-1, "CNY"))])
    elif spoil == "inactive":
        account_deactivate(account=accounts_cny["fees"])
        bad = draft(accounts_cny, "bad", debit="fees")
        expected = AccountInactive
    else:
        period_close(period=period_create(name="2026-10", start_date=date(2026, 10, 1), end_date=date(2026, 10, 31)))
        bad = draft(accounts_cny, "bad", day=date(2026, 10, 5))
        expected = PeriodClosed
    with pytest.raises(expected) as err:
        journal_entries_post(drafts=[draft(accounts_cny, "ok"), bad])
    assert err.value.param.startswith("entries[1]")
    assert (JournalEntry.objects.count(), Posting.objects.count(), BalanceBucket.objects.count()) == (0, 0, 0)
