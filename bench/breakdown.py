"""Where the service's time goes: cProfile over single-entry posts, split by step.

cProfile inflates Python-heavy steps (ORM query building) more than waiting
on the database, so read the shares as an upper bound for Python work.
"""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable

from bench.harness import Report

# (label, path suffix of the defining file, function name). In the profiled
# window only journal_entry_post runs, so every commit is its.
STEPS = [
    ("check accounts+period (SELECT)", "ledger/services.py", "_check_accounts"),
    ("entry INSERT", "ledger/journal_sql.py", "insert_entry"),
    ("postings INSERT", "ledger/journal_sql.py", "insert_postings"),
    ("bucket upsert", "ledger/journal_sql.py", "add_to_buckets"),
    ("single statement (PostgreSQL)", "ledger/journal_sql.py", "post_in_one_statement"),
    ("COMMIT", "backends/base/base.py", "commit"),
    ("fingerprint (sha256)", "ledger/domain.py", "entry_fingerprint"),
]
TOTAL = ("ledger/services.py", "journal_entry_post")


def _cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    return sum(row[3] for (path, _line, func), row in stats.stats.items()
               if func == name and path.replace("\\", "/").endswith(suffix))


def report(report: Report, post_many: Callable[[], object], n: int) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(post_many)
    stats = pstats.Stats(profiler)
    total = _cumulative(stats, *TOTAL)
    parts = [(label, _cumulative(stats, suffix, name)) for label, suffix, name in STEPS]
    shares = ", ".join(f"{label} {seconds / total:.0%}" for label, seconds in parts)
    report.line(f"  W2 time per post under cProfile: {total / n * 1000:.2f} ms = {shares}")
