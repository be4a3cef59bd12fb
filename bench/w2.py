"""W2: posting throughput of `journal_entry_post` against raw SQL inserts of the same rows.

"Ours" is the service layer: validation, entry + postings through the ORM,
balance-bucket upsert, one transaction per call. "Raw" inserts the same
journal entry row (same columns: idempotency key, fingerprint, posted_at...)
and the same posting rows with hand-written SQL on the same Django
connection, and nothing else (no checks, no buckets): the cost floor of
durably writing those rows at that concurrency.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench import breakdown
from bench.harness import Report, run_writers
from clearhouse.core.money import Money
from clearhouse.ledger.domain import PostingLine, entry_fingerprint
from clearhouse.ledger.models import Account, AccountType
from clearhouse.ledger.services import EntryDraft, journal_entries_post, journal_entry_post

CURRENCY = "USD"
UNIFORM_ACCOUNTS = 1000
BATCH = 100
# Every entry on one day: the realistic worst case for a hot account (all its
# postings land in the same day's stripes).
DAY = date(2025, 6, 30)
MEMO, SOURCE_TYPE = "bench W2", "bench"
TARGET_RAW, TARGET_HOT = 0.5, 0.8


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    lines: list[PostingLine]


def create_accounts() -> tuple[int, list[int]]:
    """The clearing account (hot) and 1000 ordinary ones (uniform)."""
    clearing = Account.objects.create(code="1190", name="Bench clearing", type=AccountType.ASSET, currency=CURRENCY)
    Account.objects.bulk_create(
        Account(code=f"B{i:04d}", name=f"Bench {i}", type=AccountType.ASSET, currency=CURRENCY)
        for i in range(UNIFORM_ACCOUNTS)
    )
    others = list(Account.objects.filter(code__startswith="B").values_list("id", flat=True))
    return clearing.pk, others


def make_entries(rng: random.Random, prefix: str, n: int, others: list[int], hot: int | None) -> list[Entry]:
    """n balanced entries of 2-4 postings; with `hot`, each touches it plus 1-3 others."""
    entries = []
    for i in range(n):
        ids = rng.sample(others, rng.randint(2, 4)) if hot is None else [hot, *rng.sample(others, rng.randint(1, 3))]
        amounts = [rng.randint(1, 100_000) for _ in ids[1:]]
        amounts.append(-sum(amounts))
        rng.shuffle(amounts)  # so the hot account is debited and credited
        lines = [PostingLine(a, Money(m, CURRENCY)) for a, m in zip(ids, amounts, strict=True)]
        entries.append(Entry(f"{prefix}:{i}", lines))
    return entries


# --- the two ways of writing an entry ---------------------------------------

def post_service(entry: Entry) -> None:
    journal_entry_post(idempotency_key=entry.key, effective_date=DAY, lines=entry.lines,
                       memo=MEMO, source_type=SOURCE_TYPE, source_id=entry.key)


ENTRY_SQL = (
    "INSERT INTO ledger_journalentry (effective_date, posted_at, memo, source_type, source_id, idempotency_key, "
    "fingerprint, posted_by, reverses_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, NULL) RETURNING id"
)


def insert_raw(cur, entry: Entry) -> None:
    lines = [(line.account_id, line.amount.minor, line.amount.currency) for line in entry.lines]
    fingerprint = entry_fingerprint(effective_date=DAY, memo=MEMO, source_type=SOURCE_TYPE,
                                    source_id=entry.key, lines=lines)
    ops = connection.ops  # the same value adaptation the ORM applies (dates as text on SQLite)
    cur.execute(ENTRY_SQL, [ops.adapt_datefield_value(DAY), ops.adapt_datetimefield_value(timezone.now()),
                            MEMO, SOURCE_TYPE, entry.key, entry.key, fingerprint, "system"])
    entry_id = cur.fetchone()[0]
    values = ", ".join(["(%s, %s, %s, %s)"] * len(lines))
    params = [v for account_id, minor, cur_code in lines for v in (entry_id, account_id, minor, cur_code)]
    cur.execute(f"INSERT INTO ledger_posting (entry_id, account_id, amount_minor, currency) VALUES {values}", params)


def one_per_commit(path: str):
    def work(entries: list[Entry]) -> None:
        for entry in entries:
            if path == "ours":
                post_service(entry)  # the service opens its own transaction
            else:
                with transaction.atomic(), connection.cursor() as cur:
                    insert_raw(cur, entry)
    return work


def batched(path: str):
    def work(entries: list[Entry]) -> None:
        for start in range(0, len(entries), BATCH):
            with transaction.atomic():
                if path == "ours":  # the batch service: a few statements per batch, not per entry
                    journal_entries_post(drafts=[
                        EntryDraft(e.key, DAY, e.lines, memo=MEMO, source_type=SOURCE_TYPE, source_id=e.key)
                        for e in entries[start:start + BATCH]
                    ])
                else:
                    with connection.cursor() as cur:
                        for entry in entries[start:start + BATCH]:
                            insert_raw(cur, entry)
    return work


# --- the cases ------------------------------------------------------------------

def statements_per_entry(rng: random.Random, others: list[int], n: int, batch: bool) -> tuple[float, Counter]:
    """Statements the service sends per post, by first keyword.

    Counts what Django's CaptureQueriesContext records: every statement, plus
    the BEGIN/COMMIT markers Django logs around transactions (on SQLite the
    BEGIN is a real `BEGIN IMMEDIATE` statement; on PostgreSQL psycopg sends
    BEGIN itself and Django logs it when it leaves autocommit).
    """
    entries = make_entries(rng, f"count-{batch}", n, others, None)
    with CaptureQueriesContext(connection) as ctx:
        (batched if batch else one_per_commit)("ours")(entries)
    kinds = Counter(q["sql"].split(None, 1)[0].upper() for q in ctx.captured_queries)
    return len(ctx.captured_queries) / n, kinds


def run(report: Report, n: int, seed: int = 2) -> None:
    rng = random.Random(seed)
    clearing, others = create_accounts()
    report.line("  W2 ours = journal_entry_post (batches: journal_entries_post); raw = the same entry + posting rows")
    report.line("     by hand-written SQL on the same")
    report.line(f"     connection, no checks, no buckets. Uniform: {UNIFORM_ACCOUNTS} accounts; hot: every entry also "
                "touches one clearing account.")
    # Warm-up (caches, first-use imports, SQLite page cache) outside every measurement.
    for path in ("ours", "raw"):
        one_per_commit(path)(make_entries(rng, f"warm-{path}", 50, others, None))

    def measure(variants: list[tuple[str, str]], writers: int, batch: bool = False) -> dict[tuple[str, str], float]:
        """Entries/s per (shape, path) variant, "uniform"/"hot" x "ours"/"raw".

        Each variant runs twice on n/2 entries, in palindromic order (A B C C B A):
        slow drift (tables growing, checkpoints, other load) then weighs on all alike.
        """
        half = max(1, n // 2)
        elapsed = dict.fromkeys(variants, 0.0)
        for k, (shape, path) in enumerate([*variants, *reversed(variants)]):
            entries = make_entries(rng, f"{shape}-{path}-{writers}-{k}-{batch}", half, others,
                                   clearing if shape == "hot" else None)
            elapsed[shape, path] += run_writers(batched(path) if batch else one_per_commit(path), entries, writers)
        return {variant: 2 * half / seconds for variant, seconds in elapsed.items()}

    for writers in (1, 8):
        rates = measure([("uniform", "raw"), ("uniform", "ours"), ("hot", "ours"), ("hot", "raw")], writers)
        for shape in ("uniform", "hot"):
            report.ratio(f"W2 one-per-commit  {_writers(writers)} {shape}", rates[shape, "ours"], rates[shape, "raw"],
                         TARGET_RAW)
        report.hot(f"W2 hot/uniform     {_writers(writers)} (ours)", rates["hot", "ours"], rates["uniform", "ours"],
                   TARGET_HOT)
    rates = measure([("uniform", "raw"), ("uniform", "ours")], 1, batch=True)
    report.ratio(f"W2 batch of {BATCH}    {_writers(1)} uniform", rates["uniform", "ours"], rates["uniform", "raw"],
                 TARGET_RAW)

    count_n = min(n, 300)
    for batch in (False, True):
        per_entry, kinds = statements_per_entry(rng, others, count_n, batch)
        detail = ", ".join(f"{k} {v / count_n:.2f}" for k, v in sorted(kinds.items()))
        how = f"batch of {BATCH}" if batch else "one per commit"
        report.line(f"  W2 SQL statements per entry, ours, {how} ({count_n} posts): {per_entry:.2f}  [{detail}]")
    report.line("     raw: 2 INSERTs per entry (entry RETURNING id; multi-row postings) + BEGIN/COMMIT per transaction")
    breakdown.report(report, lambda: [post_service(e) for e in make_entries(rng, "profile", count_n, others, None)],
                     count_n)


def _writers(k: int) -> str:
    return f"{k} {'writer' if k == 1 else 'writers':<7}"
