"""Fresh, throwaway databases for one benchmark run (parent process only).

Nothing here imports Django: the parent only prepares a DATABASE_URL, and
each child process configures Django from it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "clearhouse_bench"


def _pg_tmp():
    """scripts/ is not a package, so load pg_tmp.py from its path."""
    spec = importlib.util.spec_from_file_location("clearhouse_pg_tmp", REPO_ROOT / "scripts" / "pg_tmp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_dbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def _recreate(server_url: str, *, drop_only: bool = False) -> None:
    import psycopg

    # CREATE/DROP DATABASE cannot run in a transaction, hence autocommit.
    with psycopg.connect(with_dbname(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        if not drop_only:
            conn.execute(f"CREATE DATABASE {BENCH_DB}")


@contextlib.contextmanager
def postgres_url() -> Iterator[str]:
    """A fresh `clearhouse_bench` database: on DATABASE_URL's server, else on a throwaway cluster."""
    given = os.environ.get("DATABASE_URL", "")
    if given.startswith(("postgres://", "postgresql://")):
        _recreate(given)
        try:
            yield with_dbname(given, BENCH_DB)
        finally:
            _recreate(given, drop_only=True)  # 1M+ rows: do not leave them on someone's server
        return
    pg_tmp = _pg_tmp()
    # Its own mkdtemp under /tmp: pg_tmp chowns this dir to `postgres`, which
    # must be able to traverse every parent directory.
    base = Path(tempfile.mkdtemp(prefix="clearhouse-bench-pg-"))
    try:
        server = pg_tmp.start(base)
        _recreate(server)
        yield with_dbname(server, BENCH_DB)
    finally:
        pg_tmp.stop(base)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="clearhouse-bench-sqlite-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
