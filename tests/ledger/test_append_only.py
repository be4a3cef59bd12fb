"""Entries, postings and the audit trail are append-only: model guard and database triggers."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from clearhouse.core.append_only import AppendOnlyError
from clearhouse.core.audit import audit_record
from clearhouse.core.models import AuditEvent
from clearhouse.ledger.models import JournalEntry, Posting
from clearhouse.ledger.services import journal_entry_post
from tests.ledger.support import cr, dr, ledger_rows


@pytest.fixture
def entry(accounts_cny, today):
    a = accounts_cny
    return journal_entry_post(idempotency_key="e1", effective_date=today, memo="Payment 1",
                              lines=[dr(a["clearing"], "100.00"), cr(a["sales"], "100.00")])


@pytest.fixture
def audit_row(db):
    return audit_record(action="test.recorded", payload={"n": 1})


# --- model layer ------------------------------------------------------------------
def test_saving_an_entry_again_is_refused(entry):
    entry.memo = "edited"
    with pytest.raises(AppendOnlyError):
        entry.save()
    entry.refresh_from_db()
    assert entry.memo == "Payment 1"


def test_saving_a_posting_again_is_refused(entry):
    posting = entry.postings.first()
    posting.amount_minor += 1
    with pytest.raises(AppendOnlyError):
        posting.save(update_fields=["amount_minor"])
    assert Posting.objects.get(pk=posting.pk).amount_minor == posting.amount_minor - 1


def test_saving_an_audit_row_again_is_refused(audit_row):
    audit_row.actor = "someone else"
    with pytest.raises(AppendOnlyError):
        audit_row.save()
    assert AuditEvent.objects.get(pk=audit_row.pk).actor == "system"


@pytest.mark.parametrize("model", [JournalEntry, Posting, AuditEvent])
def test_deleting_an_append_only_row_is_refused(entry, audit_row, model):
    row = model.objects.first()
    with pytest.raises(AppendOnlyError):
        row.delete()
    assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize(
    ("model", "change"),
    [(JournalEntry, {"memo": "edited"}), (Posting, {"amount_minor": 1}), (AuditEvent, {"actor": "x"})],
)
def test_queryset_update_is_refused(entry, audit_row, model, change):
    before = list(model.objects.values_list(*change))
    with pytest.raises(AppendOnlyError):
        model.objects.all().update(**change)
    with pytest.raises(AppendOnlyError):
        model.objects.filter(pk=model.objects.first().pk).update(**change)
    assert list(model.objects.values_list(*change)) == before


@pytest.mark.parametrize("model", [JournalEntry, Posting, AuditEvent])
def test_queryset_delete_is_refused(entry, audit_row, model):
    count = model.objects.count()
    with pytest.raises(AppendOnlyError):
        model.objects.all().delete()
    assert model.objects.count() == count


def test_bulk_update_is_refused(entry):
    postings = list(entry.postings.all())
    for p in postings:
        p.amount_minor = 0
    with pytest.raises(AppendOnlyError):
        Posting.objects.bulk_update(postings, ["amount_minor"])
    assert sorted(Posting.objects.values_list("amount_minor", flat=True)) == [-10000, 10000]


def test_new_rows_can_still_be_added(entry, accounts_cny, today):
    a = accounts_cny
    before = ledger_rows()
    journal_entry_post(idempotency_key="e2", effective_date=today,
                       lines=[dr(a["bank"], "1.00"), cr(a["sales"], "1.00")])
    assert ledger_rows()["entries"] == before["entries"] + 1


# --- database triggers -----------------------------------------------------------
def _refused_by_the_database(sql: str, params=()) -> DatabaseError:
    with pytest.raises(DatabaseError) as exc, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)
    # SQLite's RAISE(ABORT) and PostgreSQL's integrity_constraint_violation both arrive as IntegrityError.
    assert isinstance(exc.value, IntegrityError)
    assert "append-only" in str(exc.value)
    return exc.value


def test_raw_sql_update_of_a_posting_fails_in_the_database(entry):
    posting = entry.postings.order_by("id").first()
    _refused_by_the_database("UPDATE ledger_posting SET amount_minor = amount_minor + 1 WHERE id = %s", [posting.pk])
    assert Posting.objects.get(pk=posting.pk).amount_minor == posting.amount_minor


def test_raw_sql_delete_of_a_posting_fails_in_the_database(entry):
    _refused_by_the_database("DELETE FROM ledger_posting")
    assert Posting.objects.filter(entry=entry).count() == 2


def test_raw_sql_update_of_an_entry_fails_in_the_database(entry):
    _refused_by_the_database("UPDATE ledger_journalentry SET memo = 'edited' WHERE id = %s", [entry.pk])
    entry.refresh_from_db()
    assert entry.memo == "Payment 1"


def test_raw_sql_delete_of_an_entry_fails_in_the_database(accounts_cny, today):
    # An entry with no postings yet, so no foreign key can be what refuses the delete.
    entry = JournalEntry.objects.create(effective_date=today, posted_at=today.isoformat() + "T00:00:00Z",
                                        idempotency_key="bare", fingerprint="0" * 64)
    _refused_by_the_database("DELETE FROM ledger_journalentry WHERE id = %s", [entry.pk])
    assert JournalEntry.objects.filter(pk=entry.pk).exists()


def test_raw_sql_update_of_the_audit_trail_fails_in_the_database(audit_row):
    _refused_by_the_database("UPDATE core_auditevent SET actor = 'mallory' WHERE seq = %s", [audit_row.seq])
    assert AuditEvent.objects.get(pk=audit_row.pk).actor == "system"


def test_raw_sql_delete_of_the_audit_trail_fails_in_the_database(audit_row):
    _refused_by_the_database("DELETE FROM core_auditevent")
    assert AuditEvent.objects.filter(pk=audit_row.pk).exists()


@pytest.mark.postgres_only
@pytest.mark.parametrize("table", ["ledger_posting", "ledger_journalentry", "core_auditevent"])
def test_truncate_fails_in_the_database(entry, audit_row, table):
    with connection.cursor() as cur:
        # Run the pending deferred foreign-key checks of this test's inserts
        # now: PostgreSQL refuses TRUNCATE with trigger events pending.
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    _refused_by_the_database(f"TRUNCATE {table} CASCADE")
    assert Posting.objects.count() == 2


def test_raw_sql_insert_is_still_allowed(entry):
    posting = entry.postings.first()
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, amount_minor, currency) VALUES (%s, %s, %s, %s)",
            [entry.pk, posting.account_id, 0, "CNY"],
        )
    assert entry.postings.count() == 3
