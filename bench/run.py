"""Benchmark runner: `python -m bench.run [--quick] [--db sqlite|postgres|both] [--n N]`.

The parent process prepares a fresh database per engine (a SQLite file in a
temp dir; a `clearhouse_bench` database on DATABASE_URL's PostgreSQL, or on
a throwaway cluster from scripts/pg_tmp.py) and runs that engine's workloads
in a child process of its own: Django reads DATABASE_URL once at setup, so a
child per database keeps settings clean.

Durable settings only: the child prints what the database reports
(synchronous_commit / fsync, journal_mode / synchronous) before measuring.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING

from bench.databases import REPO_ROOT, postgres_url, sqlite_url

if TYPE_CHECKING:  # Django must not load in the parent
    from bench.harness import Report

# (W2 entries per case, W5 postings, W5 account_balance calls, W5 naive calls, W4 checkouts per case,
#  W1 paid orders per concurrency level)
FULL = (2000, 1_000_000, 2000, 10, 400, 200)
QUICK = (300, 100_000, 2000, 10, 100, 40)
# W3: completed orders, merchants
W3_FULL = (1_000_000, 10_000)
W3_QUICK = (100_000, 1_000)
WORKLOADS = ("w1", "w2", "w3", "w4", "w5")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="clearhouse bench", description="Benchmarks W1 (paid orders over HTTP), "
                                     "W2 (ledger posting), W3 (settlement statements), W4 (order checkout) and W5 "
                                     "(balance reads) on SQLite and PostgreSQL, durable settings.")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (W1 40 orders, W2 N=300, W3 100k orders, W4 N=100, W5 100k postings)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--n", type=int, help="W2 entries per case and path (default 2000, --quick 300)")
    parser.add_argument("--only", choices=WORKLOADS, action="append",
                        help="run only this workload (repeatable; default all)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # internal: run in this process
    args = parser.parse_args(argv)
    if args.n is not None and args.n < 2:
        parser.error("--n must be at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(list(sys.argv[1:] if argv is None else argv))
    return child(args) if args.child else parent(args)


# --- parent: one fresh database and one child process per engine --------------

def parent(args: argparse.Namespace) -> int:
    engines = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    sizes = QUICK if args.quick else FULL
    n = args.n or sizes[0]
    print(f"Clearhouse bench ({'quick' if args.quick else 'full'}): W2 N={n} entries per case, "
          f"W4 N={sizes[4]} checkouts per case, W5 {sizes[1]:,} postings, W1 {sizes[5]} paid orders per case, "
          f"W3 {(W3_QUICK if args.quick else W3_FULL)[0]:,} orders; "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs", flush=True)
    started = time.perf_counter()
    rc = 0
    # Settings create DATA_DIR/static: keep that out of the repo's var/ too.
    with tempfile.TemporaryDirectory(prefix="clearhouse-bench-data-") as data_dir:
        for engine in engines:
            try:
                with sqlite_url() if engine == "sqlite" else postgres_url() as url:
                    rc |= _spawn(engine, url, data_dir, n, args.quick, args.only)
            except (Exception, SystemExit) as exc:  # e.g. no PostgreSQL binaries: report, go on
                print(f"\n== {engine}: not run: {exc!r}", flush=True)
                rc = 1
    print(f"\nbench finished in {time.perf_counter() - started:.0f} s", flush=True)
    return rc


def _spawn(engine: str, url: str, data_dir: str, n: int, quick: bool, only: list[str] | None) -> int:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CLEARHOUSE_DATA_DIR": data_dir,
        "DJANGO_SETTINGS_MODULE": "clearhouse.settings",
        "CLEARHOUSE_DEBUG": "0",  # DEBUG would log every query in memory
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    argv = [sys.executable, "-m", "bench.run", "--child", "--db", engine, "--n", str(n)] + (["--quick"] * quick)
    argv += [arg for name in only or () for arg in ("--only", name)]
    return subprocess.run(argv, env=env, cwd=REPO_ROOT, check=False).returncode


# --- child: Django set up on one database ----------------------------------------

def child(args: argparse.Namespace) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clearhouse.settings")
    django.setup()
    from django.core.management import call_command

    from bench import w1_payments, w2, w3_settlement, w4_orders, w5
    from bench.harness import Report

    sizes = QUICK if args.quick else FULL
    report = Report()
    call_command("migrate", interactive=False, verbosity=0)
    title = _describe_database(report)
    only = set(args.only or WORKLOADS)
    if "w2" in only:
        w2.run(report, args.n or sizes[0])
    if "w5" in only:
        w5.run(report, postings=sizes[1], calls=sizes[2], naive_calls=sizes[3])
    if "w4" in only:  # last: its rows and WAL traffic stay out of W5's read latencies
        w4_orders.run(report, sizes[4])
    if "w1" in only:  # its own server and worker processes on this database; its baseline is W2's raw path
        w1_payments.run(report, sizes[5], args.n or sizes[0])
    if "w3" in only:  # last: a million orders, intents and statement lines stay out of everyone else's figures
        w3_settlement.run(report, *(W3_QUICK if args.quick else W3_FULL))
    report.summary(title)
    return 0


def _describe_database(report: Report) -> str:
    """Print engine, version and the durability settings the connection really has."""
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            import sqlite3

            cur.execute("PRAGMA journal_mode")
            journal = cur.fetchone()[0]
            cur.execute("PRAGMA synchronous")
            sync = cur.fetchone()[0]
            title = f"SQLite {sqlite3.sqlite_version}"
            durable = journal == "wal" and sync >= 2
            names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
            settings = f"journal_mode={journal}, synchronous={sync} ({names.get(sync, '?')})"
            where = connection.settings_dict["NAME"]
        else:
            values = {}
            for name in ("server_version", "synchronous_commit", "fsync"):
                cur.execute(f"SHOW {name}")
                values[name] = cur.fetchone()[0]
            title = f"PostgreSQL {values['server_version']}"
            durable = values["synchronous_commit"] != "off" and values["fsync"] == "on"
            settings = f"synchronous_commit={values['synchronous_commit']}, fsync={values['fsync']}"
            where = f"database {connection.settings_dict['NAME']}"
    report.line(f"\n== {title} ({where}) ==")
    report.line(f"  durability: {settings}  ->  {'durable' if durable else 'NON-DURABLE: numbers not comparable'}")
    if not durable:
        report.mark("durable settings", False)
    return title


if __name__ == "__main__":
    sys.exit(main())
