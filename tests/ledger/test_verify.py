"""`clearhouse verify`: a clean ledger passes; every kind of tampering is named."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from clearhouse.core.audit import audit_record
from clearhouse.ledger.models import AccountingPeriod, BalanceBucket
from clearhouse.ledger.services import journal_entry_post, journal_entry_reverse, period_close, period_create
from clearhouse.ledger.verify import ledger_verify
from tests.ledger.support import cr, dr


@pytest.fixture
def books(accounts_cny, today, merchant):
    """A few entries and audit rows: the clean state every test starts from."""
    a = accounts_cny
    first = journal_entry_post(idempotency_key="e1", effective_date=today, memo="Payment 1",
                               lines=[dr(a["clearing"], "100.00"), cr(a["sales"], "99.40"), cr(a["fees"], "0.60")])
    second = journal_entry_post(idempotency_key="e2", effective_date=today - timedelta(days=1),
                                lines=[dr(a["bank"], "50.00"), cr(a["clearing"], "50.00")])
    journal_entry_reverse(entry=second, effective_date=today)
    return {"first": first, "second": second}


def run_verify() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("verify", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def verify_fails() -> str:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match=r"verify: \d+ problem\(s\) found"):
        call_command("verify", stdout=out, stderr=err)
    return err.getvalue()


def test_clean_ledger_verifies(books):
    report = ledger_verify()
    assert report.ok, report.problems
    checks = dict(report.checks)
    assert list(checks) == [
        "entries balance per currency", "entry fingerprints", "cached balances equal the journal",
        "no posting into closed periods", "audit chain",
    ]
    assert checks["entries balance per currency"] == checks["entry fingerprints"] == 3
    assert checks["cached balances equal the journal"] == 6  # (account, day) pairs with postings
    assert checks["audit chain"] >= 5  # the merchant and four accounts, at least
    out, err = run_verify()
    assert "verify: OK" in out
    assert "checked entry fingerprints: 3" in out
    assert err == ""


def test_empty_ledger_verifies(db):
    assert ledger_verify().ok
    assert "verify: OK" in run_verify()[0]


def test_edited_posting_amount_is_named_by_its_entry(books, lifted_guards):
    entry = books["first"]
    posting = entry.postings.order_by("id").first()
    with lifted_guards("ledger_posting"), connection.cursor() as cur:
        cur.execute("UPDATE ledger_posting SET amount_minor = amount_minor + 1 WHERE id = %s", [posting.pk])
    report = ledger_verify()
    assert not report.ok
    mine = [p for p in report.problems if p.startswith(f"JE-{entry.pk}:")]
    assert any("sum to 1 minor units, not 0" in p for p in mine)
    assert any("no longer matches its fingerprint" in p for p in mine)
    assert any(f"balance cache of account {posting.account_id} " in p for p in report.problems)
    assert not any(p.startswith(f"JE-{books['second'].pk}:") for p in report.problems)
    stderr = verify_fails()
    assert f"BROKEN JE-{entry.pk}: content no longer matches its fingerprint (edited)" in stderr


def test_balanced_edit_of_two_postings_is_still_caught_by_the_fingerprint(books, lifted_guards):
    entry = books["first"]
    debit, credit = entry.postings.order_by("-amount_minor")[:2]
    with lifted_guards("ledger_posting"), connection.cursor() as cur:
        cur.execute("UPDATE ledger_posting SET amount_minor = amount_minor + 100 WHERE id = %s", [debit.pk])
        cur.execute("UPDATE ledger_posting SET amount_minor = amount_minor - 100 WHERE id = %s", [credit.pk])
    problems = ledger_verify().problems
    assert f"JE-{entry.pk}: content no longer matches its fingerprint (edited)" in problems
    assert not any("sum to" in p for p in problems)  # still balanced: only the hash tells


def test_posting_moved_to_another_account_is_caught(books, accounts_cny, lifted_guards):
    entry = books["first"]
    posting = entry.postings.get(account=accounts_cny["fees"])
    with lifted_guards("ledger_posting"), connection.cursor() as cur:
        cur.execute("UPDATE ledger_posting SET account_id = %s WHERE id = %s", [accounts_cny["bank"].pk, posting.pk])
    assert f"JE-{entry.pk}: content no longer matches its fingerprint (edited)" in ledger_verify().problems
    assert f"JE-{entry.pk}" in verify_fails()


def test_edited_entry_memo_is_caught(books, lifted_guards):
    entry = books["second"]
    with lifted_guards("ledger_journalentry"), connection.cursor() as cur:
        cur.execute("UPDATE ledger_journalentry SET memo = 'nothing to see' WHERE id = %s", [entry.pk])
    assert ledger_verify().problems == [f"JE-{entry.pk}: content no longer matches its fingerprint (edited)"]


def test_deleted_posting_is_caught(books, lifted_guards):
    entry = books["second"]
    posting = entry.postings.order_by("id").first()
    with lifted_guards("ledger_posting"), connection.cursor() as cur:
        cur.execute("DELETE FROM ledger_posting WHERE id = %s", [posting.pk])
    problems = ledger_verify().problems
    assert f"JE-{entry.pk}: fewer than two postings" in problems
    assert f"JE-{entry.pk}: content no longer matches its fingerprint (edited)" in problems
    assert f"BROKEN JE-{entry.pk}: fewer than two postings" in verify_fails()


def test_changed_balance_cache_is_reported(books, accounts_cny, today):
    sales = accounts_cny["sales"]
    bucket = BalanceBucket.objects.filter(account=sales).first()
    BalanceBucket.objects.filter(pk=bucket.pk).update(amount_minor=bucket.amount_minor + 500)
    problems = ledger_verify().problems
    assert problems == [
        f"balance cache of account {sales.pk} ({sales.code}) on {today}: cached -9440 minor units over 1 postings, "
        f"journal says -9940 over 1"
    ]
    assert f"BROKEN balance cache of account {sales.pk} (4000)" in verify_fails()


def test_missing_balance_cache_row_is_reported(books, accounts_cny):
    bank = accounts_cny["bank"]
    BalanceBucket.objects.filter(account=bank).delete()
    problems = ledger_verify().problems
    assert len(problems) == 2  # two effective dates of the bank account
    assert all(p.startswith(f"balance cache of account {bank.pk} (1000.main)") for p in problems)


def test_spurious_balance_cache_row_is_reported(books, accounts_cny, today):
    bank = accounts_cny["bank"]
    BalanceBucket.objects.create(account=bank, effective_date=today - timedelta(days=30), stripe=0,
                                 amount_minor=1, posting_count=1)
    assert len(ledger_verify().problems) == 1


def test_entry_posted_into_a_period_after_it_was_closed_is_reported(books, today):
    period = period_close(period=period_create(name="2026-11", start_date=date(2026, 11, 1),
                                               end_date=date(2026, 11, 30)))
    assert ledger_verify().ok  # closed after everything was posted: fine
    # Pretend it had been closed before the entries were posted (closing is not append-only).
    earlier = books["first"].posted_at - timedelta(seconds=1)
    AccountingPeriod.objects.filter(pk=period.pk).update(closed_at=earlier)
    problems = ledger_verify().problems
    late = [f"JE-{pk}: posted into period 2026-11 after it was closed" for pk in
            sorted({books["first"].pk, books["second"].pk, books["second"].reversed_by.pk})]
    assert sorted(problems) == late
    stderr = verify_fails()
    assert f"BROKEN JE-{books['first'].pk}: posted into period 2026-11 after it was closed" in stderr


def test_entries_outside_a_closed_period_are_not_reported(books):
    period = period_close(period=period_create(name="2026-10", start_date=date(2026, 10, 1),
                                               end_date=date(2026, 10, 31)))
    AccountingPeriod.objects.filter(pk=period.pk).update(closed_at=books["first"].posted_at - timedelta(days=1))
    assert ledger_verify().ok


def test_edited_audit_payload_is_named_by_its_row(books, lifted_guards):
    row = audit_record(action="test.recorded", payload={"amount": "100.00"})
    audit_record(action="test.after")
    with lifted_guards("core_auditevent"), connection.cursor() as cur:
        cur.execute("UPDATE core_auditevent SET payload = %s WHERE seq = %s", ['{"amount": "1.00"}', row.seq])
    assert ledger_verify().problems == [f"audit row #{row.seq}: row content does not match its hash (edited)"]
    assert f"BROKEN audit row #{row.seq}: row content does not match its hash (edited)" in verify_fails()


def test_edited_audit_actor_is_named_by_its_row(books, lifted_guards):
    row = audit_record(action="test.recorded", actor="alice")
    with lifted_guards("core_auditevent"), connection.cursor() as cur:
        cur.execute("UPDATE core_auditevent SET actor = 'bob' WHERE seq = %s", [row.seq])
    assert ledger_verify().problems == [f"audit row #{row.seq}: row content does not match its hash (edited)"]
    assert f"audit row #{row.seq}" in verify_fails()


def test_deleted_audit_row_breaks_the_chain_at_the_next_row(books, lifted_guards):
    row = audit_record(action="test.recorded")
    following = audit_record(action="test.after")
    with lifted_guards("core_auditevent"), connection.cursor() as cur:
        cur.execute("DELETE FROM core_auditevent WHERE seq = %s", [row.seq])
    problems = ledger_verify().problems
    assert f"audit row #{following.seq}: sequence gap: expected #{row.seq}" in problems
    assert f"audit row #{following.seq}: link to the previous row is broken" in problems


def test_verify_reports_every_problem_at_once(books, accounts_cny, lifted_guards):
    entry = books["first"]
    row = audit_record(action="test.recorded")
    with lifted_guards("ledger_journalentry", "core_auditevent"), connection.cursor() as cur:
        cur.execute("UPDATE ledger_journalentry SET memo = 'x' WHERE id = %s", [entry.pk])
        cur.execute("UPDATE core_auditevent SET action = 'x' WHERE seq = %s", [row.seq])
    BalanceBucket.objects.filter(account=accounts_cny["fees"]).update(posting_count=9)
    err = StringIO()
    with pytest.raises(CommandError, match=r"verify: 3 problem\(s\) found"):
        call_command("verify", stdout=StringIO(), stderr=err)
    broken = [line.strip() for line in err.getvalue().splitlines() if "BROKEN" in line]
    assert len(broken) == 3
    assert f"BROKEN JE-{entry.pk}: content no longer matches its fingerprint (edited)" in broken
    assert f"BROKEN audit row #{row.seq}: row content does not match its hash (edited)" in broken
    assert any(f"balance cache of account {accounts_cny['fees'].pk}" in line for line in broken)

