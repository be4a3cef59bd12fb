"""Opt-in statement and commit counting per request, for benchmarks (bench/w1_payments.py).

Enabled only when the environment has CLEARHOUSE_COUNT_QUERIES=1 (settings
then puts `QueryCountMiddleware` first in MIDDLEWARE, so sessions, auth and
idempotency records are counted too). Each request appends one JSON line to
CLEARHOUSE_COUNT_QUERIES_FILE (default DATA_DIR/query_count.jsonl):

    {"pid", "method", "path", "status", "ms", "statements", "commits", "autocommit_writes", "sql": [...]}

`statements` counts what went through Django's cursor (on SQLite that
includes Django's `BEGIN IMMEDIATE`; on PostgreSQL the driver sends BEGIN
itself, uncounted). `commits` counts transactions Django committed
(outermost `atomic` blocks), `autocommit_writes` the INSERT/UPDATE/DELETE
statements run outside any transaction (each is its own commit). With
CLEARHOUSE_COUNT_QUERIES_SQL=1 the statements themselves (first 300
characters) are written as well. Connection setup (SQLite's PRAGMAs) is not seen.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_write_lock = threading.Lock()


def enabled() -> bool:
    return os.environ.get("CLEARHOUSE_COUNT_QUERIES", "") == "1"


def counts_path() -> Path:
    return Path(os.environ.get("CLEARHOUSE_COUNT_QUERIES_FILE") or Path(settings.DATA_DIR) / "query_count.jsonl")


class StatementCounter:
    """An execute wrapper, plus a wrapped `_commit`, on this thread's connection while active."""

    def __init__(self, *, keep_sql: bool) -> None:
        self.statements = 0
        self.commits = 0
        self.autocommit_writes = 0
        self.sql: list[str] | None = [] if keep_sql else None

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        if self.sql is not None:
            self.sql.append(" ".join(str(sql).split())[:300])
        if context["connection"].get_autocommit() and str(sql).lstrip()[:7].upper().startswith(WRITES):
            self.autocommit_writes += 1
        return execute(sql, params, many, context)

    def run(self, fn: Callable):
        """Call fn() with this counter installed on the thread's default connection."""
        connection = connections[DEFAULT_DB_ALIAS]
        real_commit = connection._commit

        def counting_commit():
            self.commits += 1
            return real_commit()

        connection._commit = counting_commit  # an instance attribute shadows the method while we run
        try:
            with connection.execute_wrapper(self):
                return fn()
        finally:
            del connection._commit

    def record(self, **fields) -> dict:
        row = {"pid": os.getpid(), **fields, "statements": self.statements, "commits": self.commits,
               "autocommit_writes": self.autocommit_writes}
        if self.sql is not None:
            row["sql"] = self.sql
        return row


def append(row: dict) -> None:
    line = json.dumps(row, separators=(",", ":")) + "\n"
    with _write_lock, open(counts_path(), "a", encoding="utf-8") as out:  # one write() per line, O_APPEND
        out.write(line)


class QueryCountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.keep_sql = os.environ.get("CLEARHOUSE_COUNT_QUERIES_SQL", "") == "1"

    def __call__(self, request):
        counter = StatementCounter(keep_sql=self.keep_sql)
        started = time.perf_counter()
        response = counter.run(lambda: self.get_response(request))
        append(counter.record(method=request.method, path=request.path, status=response.status_code,
                              ms=round(1000 * (time.perf_counter() - started), 2)))
        return response
