"""Helpers shared across test packages."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def run_threads(count: int, work: Callable[[int], object]) -> tuple[list, list[BaseException]]:
    """Start `count` threads at once (a barrier), each running work(i) on its own connection.

    Returns each thread's result (None where it raised) and the exceptions raised.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # reported to the test, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    return results, errors


def database_rows_containing(needles: list[str]) -> list[tuple[str, str]]:
    """(table, needle) for every needle found in any column of any row of any table, read raw (encrypted
    columns stay ciphertext): a secret or a card number must never be among them."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # table names come from the database itself
            text = "\n".join(repr(row) for row in cursor.fetchall())
            found += [(table, needle) for needle in needles if needle in text]
    return found
