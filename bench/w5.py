"""W5: `account_balance` on an account with a million postings.

The data is generated in SQL, not through the service (which would take
minutes): entries spread over 365 days, each with one posting on the
measured account and its counter-posting on a second one, and the balance
buckets computed from those postings exactly as the service would have
filled them (per account, effective date and stripe, stripe = entry id mod
the stripe count). Generated entries carry a placeholder fingerprint, so
`clearhouse verify` would flag them; the bench database is thrown away.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Sum
from django.utils import timezone

from bench.harness import Report, percentile
from clearhouse.ledger.models import Account, AccountType, BalanceBucket, JournalEntry, Posting
from clearhouse.ledger.selectors import account_balance

FIRST_DAY = date(2024, 1, 1)
DAYS = 365
TARGET_P99_MS = 5.0

# The rows g = 1..n, per database (SQLite has no generate_series); %s are parameters, %% a literal %.
_GENERATE = {
    "postgresql": "SELECT g FROM generate_series(1, %s) AS g",
    "sqlite": "WITH RECURSIVE gen(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM gen WHERE g < %s) SELECT g FROM gen",
}
_DAY = {
    "postgresql": "CAST(%s AS date) + (g %% {days})",
    "sqlite": "date(%s, '+' || (g %% {days}) || ' days')",
}
_FINGERPRINT = {"postgresql": "lpad(to_hex(g), 64, '0')", "sqlite": "printf('%%064x', g)"}
_AMOUNT = "((g %% 9973) * 7919 %% 10000 + 1)"  # deterministic, varied, never zero, fits int4


def build(postings: int) -> tuple[Account, Account, float]:
    """The measured account with `postings` postings, its counter account and buckets."""
    vendor = connection.vendor
    measured = Account.objects.create(code="1100", name="W5 measured", type=AccountType.ASSET, currency="USD")
    counter = Account.objects.create(code="4100", name="W5 counter", type=AccountType.INCOME, currency="USD")
    base = JournalEntry.objects.aggregate(m=Max("id"))["m"] or 0  # explicit ids: postings need them
    rows = f"({_GENERATE[vendor]}) AS gen_rows"
    day = _DAY[vendor].format(days=DAYS)
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        if vendor == "postgresql" and _superuser(cur):
            # Skip the per-row FK and insert triggers (half the build time): the
            # rows are consistent by construction, no period is closed. Only
            # superusers may; others just wait longer.
            cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(
            "INSERT INTO ledger_journalentry (id, effective_date, posted_at, memo, source_type, source_id, "
            "idempotency_key, fingerprint, posted_by) "
            f"SELECT %s + g, {day}, %s, 'W5', 'bench', g, 'w5:' || g, {_FINGERPRINT[vendor]}, 'system' FROM {rows}",
            [base, FIRST_DAY.isoformat(), connection.ops.adapt_datetimefield_value(timezone.now()), postings],
        )
        # One posting on each account per entry, interleaved as real traffic would be.
        cur.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, amount_minor, currency) "
            f"SELECT %s + g, a.id, a.sign * {_AMOUNT}, 'USD' FROM {rows} "
            "CROSS JOIN (SELECT %s AS id, 1 AS sign UNION ALL SELECT %s, -1) AS a ORDER BY g",
            [base, postings, measured.pk, counter.pk],
        )
        cur.execute(
            "INSERT INTO ledger_balancebucket (account_id, effective_date, stripe, amount_minor, posting_count) "
            "SELECT p.account_id, e.effective_date, e.id %% %s, SUM(p.amount_minor), COUNT(*) "
            "FROM ledger_posting p JOIN ledger_journalentry e ON e.id = p.entry_id "
            "WHERE e.id > %s GROUP BY p.account_id, e.effective_date, e.id %% %s",
            [settings.LEDGER_BALANCE_STRIPES, base, settings.LEDGER_BALANCE_STRIPES],
        )
        if vendor == "postgresql":  # explicit ids bypassed the identity sequence
            cur.execute("SELECT setval(pg_get_serial_sequence('ledger_journalentry', 'id'), %s)", [base + postings])
    with connection.cursor() as cur:  # statistics, as autovacuum/ANALYZE would have them in production
        cur.execute("VACUUM ANALYZE" if vendor == "postgresql" else "ANALYZE")
        if vendor == "sqlite":
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return measured, counter, time.perf_counter() - start


def _superuser(cur) -> bool:
    cur.execute("SELECT current_setting('is_superuser')")
    return cur.fetchone()[0] == "on"


def _latencies(call, days: list[date]) -> list[float]:
    out = []
    for day in days:
        t = time.perf_counter()
        call(day)
        out.append((time.perf_counter() - t) * 1000)
    return sorted(out)


def naive_balance(account: Account, as_of: date) -> int:
    """What a balance costs without buckets: sum the account's postings up to the date."""
    qs = Posting.objects.filter(account_id=account.pk, entry__effective_date__lte=as_of)
    return qs.aggregate(total=Sum("amount_minor"))["total"] or 0


def run(report: Report, postings: int, calls: int, naive_calls: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    measured, _counter, seconds = build(postings)
    buckets = BalanceBucket.objects.filter(account_id=measured.pk).count()
    report.line(f"  W5 build: {postings:,} postings on one account (+{postings:,} counter-postings), "
                f"{buckets:,} bucket rows, {seconds:.1f} s")
    exact = Posting.objects.filter(account_id=measured.pk).aggregate(t=Sum("amount_minor"))["t"]
    check = account_balance(account=measured).minor == exact
    report.line(f"  W5 check: account_balance (buckets) == SUM(postings): {'ok' if check else 'WRONG'}")
    if not check:
        report.mark("W5 bucket check", False)

    def random_days(k: int) -> list[date]:
        # Mostly inside the year; a few before it (empty) and after it (all buckets).
        return [FIRST_DAY + timedelta(days=rng.randint(-5, DAYS + 5)) for _ in range(k)]

    _latencies(lambda d: account_balance(account=measured, as_of=d), random_days(50))  # warm-up
    lat = _latencies(lambda d: account_balance(account=measured, as_of=d), random_days(calls))
    p50, p99 = percentile(lat, 50), percentile(lat, 99)
    mark = report.mark("W5 account_balance p99", p99 <= TARGET_P99_MS)
    report.line(f"  {'W5 account_balance, ' + format(calls, ',') + ' calls':<38} p50 {p50:7.2f} ms   "
                f"p99 {p99:7.2f} ms   (target p99 <= {TARGET_P99_MS:g} ms)  {mark}")
    naive_balance(measured, FIRST_DAY + timedelta(days=DAYS))  # warm-up: pages into cache
    lat = _latencies(lambda d: naive_balance(measured, d), random_days(naive_calls))
    report.line(f"  {'W5 naive SUM(postings), ' + str(naive_calls) + ' calls':<38} p50 {percentile(lat, 50):7.2f} ms"
                f"   p99 {percentile(lat, 99):7.2f} ms   (baseline, no target)")
