"""Concurrent writers on PostgreSQL: hot accounts, one idempotency key, one reversal, one audit chain.

Real threads with their own connections, so these need PostgreSQL (row
locks, concurrent transactions) and committed data (`transaction=True`).
"""

from __future__ import annotations

from datetime import date

import pytest

from clearhouse.core.audit import audit_chain_verify, audit_record
from clearhouse.core.models import AuditEvent
from clearhouse.ledger.domain import EntryAlreadyReversed
from clearhouse.ledger.models import JournalEntry
from clearhouse.ledger.selectors import account_balance, trial_balance
from clearhouse.ledger.services import journal_entry_post, journal_entry_reverse
from clearhouse.ledger.verify import ledger_verify
from tests.ledger.support import bucket_totals_by_account, cr, dr, posting_totals_by_account
from tests.support import run_threads

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

DAY = date(2026, 11, 23)


def test_many_writers_on_one_hot_clearing_account_all_post_and_agree(accounts_cny):
    a = accounts_cny

    def writer(i: int) -> list[int]:
        ids = []
        for n in range(25):
            other = a["sales"] if n % 2 else a["fees"]
            entry = journal_entry_post(
                idempotency_key=f"t{i}:{n}", effective_date=DAY,
                lines=[dr(a["clearing"], "1.01"), cr(other, "1.00"), cr(a["bank"], "0.01")],
            )
            ids.append(entry.pk)
        return ids

    results, errors = run_threads(8, writer)
    assert errors == []
    ids = [pk for ids in results for pk in ids]
    assert len(set(ids)) == 200
    assert JournalEntry.objects.count() == 200
    assert account_balance(account=a["clearing"]).minor == 200 * 101
    assert account_balance(account=a["bank"]).minor == -200
    assert account_balance(account=a["sales"]).minor + account_balance(account=a["fees"]).minor == -200 * 100
    assert bucket_totals_by_account() == posting_totals_by_account()
    assert trial_balance().is_balanced
    report = ledger_verify()
    assert report.ok, report.problems


def test_one_idempotency_key_posted_by_ten_threads_makes_one_entry(accounts_cny):
    a = accounts_cny

    def writer(i: int) -> int:
        return journal_entry_post(
            idempotency_key="payment_captured:42", effective_date=DAY, memo="Payment 42",
            lines=[dr(a["clearing"], "100.00"), cr(a["sales"], "100.00")],
        ).pk

    results, errors = run_threads(10, writer)
    assert errors == []
    assert len(set(results)) == 1
    assert list(JournalEntry.objects.values_list("pk", flat=True)) == [results[0]]
    assert account_balance(account=a["clearing"]).minor == 10000
    assert bucket_totals_by_account() == posting_totals_by_account()
    assert ledger_verify().ok


def test_one_entry_reversed_by_eight_threads_is_reversed_once(accounts_cny):
    a = accounts_cny
    entry = journal_entry_post(idempotency_key="e1", effective_date=DAY,
                               lines=[dr(a["clearing"], "100.00"), cr(a["sales"], "100.00")])

    def reverser(i: int) -> int | str:
        try:
            return journal_entry_reverse(entry=entry, effective_date=DAY).pk
        except EntryAlreadyReversed:
            return "already reversed"

    results, errors = run_threads(8, reverser)
    assert errors == []
    reversal = JournalEntry.objects.get(reverses=entry)
    assert set(results) <= {reversal.pk, "already reversed"}
    assert reversal.pk in results
    assert JournalEntry.objects.count() == 2
    assert account_balance(account=a["clearing"]).minor == 0
    assert ledger_verify().ok


def test_concurrent_audit_records_form_one_unbroken_chain(db):
    start = AuditEvent.objects.count()

    def recorder(i: int) -> list[int]:
        return [audit_record(action="test.concurrent", actor=f"thread {i}", payload={"n": n}).seq for n in range(10)]

    results, errors = run_threads(8, recorder)
    assert errors == []
    seqs = sorted(seq for batch in results for seq in batch)
    assert len(set(seqs)) == 80
    assert seqs == list(range(start + 1, start + 81))
    assert audit_chain_verify() == []
