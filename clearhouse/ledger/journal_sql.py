"""The posting hot path in hand-written SQL.

`journal_entry_post` runs for every money movement, so its four statements
are written by hand: building them through the ORM cost more Python time
than the database spent executing them (measured by bench W2). The SQL is
portable between SQLite (3.35+) and PostgreSQL.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import connection

from clearhouse.ledger.domain import PostingLine
from clearhouse.ledger.models import Account, AccountingPeriod, BalanceBucket, JournalEntry, Posting

ENTRY = JournalEntry._meta.db_table
POSTING = Posting._meta.db_table
BUCKET = BalanceBucket._meta.db_table
ACCOUNT = Account._meta.db_table
PERIOD = AccountingPeriod._meta.db_table


@dataclass(frozen=True, slots=True)
class AccountState:
    """What posting needs to know of an account, and whether the date is closed."""

    currency: str
    is_active: bool
    period_closed: bool


def account_states(account_ids: set[int], effective_date: date) -> dict[int, AccountState]:
    """One query: the accounts' currency and status, and whether `effective_date` is in a closed period."""
    day = connection.ops.adapt_datefield_value(effective_date)
    marks = ", ".join(["%s"] * len(account_ids))
    sql = (
        f"SELECT a.id, a.currency, a.is_active, EXISTS (SELECT 1 FROM {PERIOD} p "  # noqa: S608  names from models
        f"WHERE p.status = 'closed' AND p.start_date <= %s AND p.end_date >= %s) "
        f"FROM {ACCOUNT} a WHERE a.id IN ({marks})"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [day, day, *sorted(account_ids)])
        return {row[0]: AccountState(row[1], bool(row[2]), bool(row[3])) for row in cur.fetchall()}


def insert_entry(*, effective_date: date, posted_at: datetime, memo: str, source_type: str, source_id: str,
                 idempotency_key: str, fingerprint: str, posted_by: str, reverses_id: int | None) -> int | None:
    """Insert the entry row; its id, or None when the idempotency key is taken (a replay)."""
    ops = connection.ops
    sql = (
        f"INSERT INTO {ENTRY} (effective_date, posted_at, memo, source_type, source_id, idempotency_key, "  # noqa: S608
        f"fingerprint, posted_by, reverses_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
    )
    params = [ops.adapt_datefield_value(effective_date), ops.adapt_datetimefield_value(posted_at), memo,
              source_type, source_id, idempotency_key, fingerprint, posted_by, reverses_id]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    return row[0] if row else None


def closed_periods() -> list[tuple[date, date]]:
    """(start, end) of every closed period (a short list: one row per closed month or year)."""
    return list(AccountingPeriod.objects.filter(status="closed").values_list("start_date", "end_date"))


def insert_entries(rows: Sequence[dict]) -> dict[str, int]:
    """Insert many entry rows at once; {idempotency key: id} of those inserted (taken keys are skipped)."""
    ops = connection.ops
    columns = ("effective_date", "posted_at", "memo", "source_type", "source_id", "idempotency_key",
               "fingerprint", "posted_by", "reverses_id")
    inserted: dict[str, int] = {}
    for chunk in _chunks(rows, 500):
        values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(chunk))
        params: list = []
        for row in chunk:
            params += [ops.adapt_datefield_value(row["effective_date"]),
                       ops.adapt_datetimefield_value(row["posted_at"]),
                       *(row[c] for c in columns[2:])]
        sql = (f"INSERT INTO {ENTRY} ({', '.join(columns)}) VALUES {values} "  # noqa: S608
               f"ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key")
        with connection.cursor() as cur:
            cur.execute(sql, params)
            inserted.update({key: entry_id for entry_id, key in cur.fetchall()})
    return inserted


def insert_postings(rows: Sequence[tuple[int, PostingLine]]) -> None:
    """Insert (entry id, line) pairs as posting rows, many per statement."""
    for chunk in _chunks(rows, 2000):
        values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
        params: list = []
        for entry_id, line in chunk:
            params += [entry_id, line.account_id, line.amount.minor, line.amount.currency]
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {POSTING} (entry_id, account_id, amount_minor, currency) VALUES {values}",  # noqa: S608
                params,
            )


def add_to_buckets(dated_lines: Sequence[tuple[date, PostingLine]]) -> None:
    """Add postings to one random stripe of each account's day (upsert, one row per account and day)."""
    stripe = random.randrange(settings.LEDGER_BALANCE_STRIPES)
    sums: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    for day, line in dated_lines:
        sums[line.account_id, day][0] += line.amount.minor
        sums[line.account_id, day][1] += 1
    # Rows in key order: concurrent writers lock bucket rows in one order (no deadlock).
    ordered = sorted(sums.items())
    adapt = connection.ops.adapt_datefield_value
    for chunk in _chunks(ordered, 2000):
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
        params: list = []
        for (account_id, day), (amount, count) in chunk:
            params += [account_id, adapt(day), stripe, amount, count]
        sql = (
            f"INSERT INTO {BUCKET} (account_id, effective_date, stripe, amount_minor, posting_count) "  # noqa: S608
            f"VALUES {values} ON CONFLICT (account_id, effective_date, stripe) DO UPDATE SET "
            f"amount_minor = {BUCKET}.amount_minor + excluded.amount_minor, "
            f"posting_count = {BUCKET}.posting_count + excluded.posting_count"
        )
        with connection.cursor() as cur:
            cur.execute(sql, params)


def _chunks(items: Sequence, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def post_in_one_statement(row: dict, lines: Sequence[PostingLine]) -> tuple[int | None, bool]:
    """PostgreSQL: check, insert the entry, its postings and its buckets in ONE statement.

    Outside a transaction that single statement is its own atomic commit: one
    round trip per entry instead of six. Returns (entry id, refused): the id
    is None when the key was taken (a replay) or when a rule refused the
    entry (`refused`), which the caller then explains with `account_states`.
    """
    ops = connection.ops
    day = ops.adapt_datefield_value(row["effective_date"])
    values = ", ".join(["(%s::bigint, %s::bigint, %s::varchar)"] * len(lines))
    line_params = [v for line in lines for v in (line.account_id, line.amount.minor, line.amount.currency)]
    stripe = random.randrange(settings.LEDGER_BALANCE_STRIPES)
    sql = f"""
        WITH v (account_id, amount_minor, currency) AS (VALUES {values}),
        refused AS (
            SELECT 1 FROM v LEFT JOIN {ACCOUNT} a ON a.id = v.account_id
            WHERE a.id IS NULL OR NOT a.is_active OR a.currency <> v.currency
            UNION ALL
            SELECT 1 FROM {PERIOD} p WHERE p.status = 'closed' AND %s::date BETWEEN p.start_date AND p.end_date
        ),
        e AS (
            INSERT INTO {ENTRY} (effective_date, posted_at, memo, source_type, source_id, idempotency_key,
                                 fingerprint, posted_by, reverses_id)
            SELECT %s::date, %s, %s, %s, %s, %s, %s, %s, %s::bigint WHERE NOT EXISTS (SELECT 1 FROM refused)
            ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
        ),
        p AS (
            INSERT INTO {POSTING} (entry_id, account_id, amount_minor, currency)
            SELECT e.id, v.account_id, v.amount_minor, v.currency FROM e CROSS JOIN v
        ),
        b AS (
            INSERT INTO {BUCKET} (account_id, effective_date, stripe, amount_minor, posting_count)
            SELECT v.account_id, %s::date, %s, SUM(v.amount_minor), COUNT(*) FROM e CROSS JOIN v
            GROUP BY v.account_id ORDER BY v.account_id
            ON CONFLICT (account_id, effective_date, stripe) DO UPDATE SET
                amount_minor = {BUCKET}.amount_minor + excluded.amount_minor,
                posting_count = {BUCKET}.posting_count + excluded.posting_count
        )
        SELECT (SELECT id FROM e), EXISTS (SELECT 1 FROM refused)
    """  # noqa: S608  table names from the models; every value is a parameter
    params = [
        *line_params, day,
        day, ops.adapt_datetimefield_value(row["posted_at"]), row["memo"], row["source_type"], row["source_id"],
        row["idempotency_key"], row["fingerprint"], row["posted_by"], row["reverses_id"],
        day, stripe,
    ]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        entry_id, refused = cur.fetchone()
    return entry_id, bool(refused)
