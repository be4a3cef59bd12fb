"""Timing helpers: concurrent writers, percentiles, and the printed table."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence

from django.db import connection, connections


def run_writers(work: Callable[[list], None], items: Sequence, writers: int) -> float:
    """Run `work` over `items` split among `writers` threads; return the seconds it took.

    Each thread opens its own Django connection before the clock starts (so
    connecting is not timed) and closes it at the end. All threads start
    together on a barrier; the clock stops when the last one finishes.
    """
    chunks = [list(items[i::writers]) for i in range(writers)]
    barrier = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def target(chunk: list) -> None:
        try:
            connection.ensure_connection()
            barrier.wait()
            work(chunk)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()  # never leave the main thread waiting on a dead writer
        finally:
            connections.close_all()  # this thread's connections only

    threads = [threading.Thread(target=target, args=(chunk,)) for chunk in chunks]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a writer failed: its error is raised below
        barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


class Report:
    """Prints rows as they are measured and counts them against their targets."""

    def __init__(self) -> None:
        self.missed: list[str] = []
        self.passed = 0

    @staticmethod
    def line(text: str) -> None:
        print(text, flush=True)

    def mark(self, label: str, ok: bool) -> str:
        if ok:
            self.passed += 1
            return "PASS"
        self.missed.append(" ".join(label.split()))
        return "MISS"

    def ratio(self, label: str, ours: float, raw: float, target: float) -> None:
        ratio = ours / raw
        mark = self.mark(label, ratio >= target)
        shown = f"{ours:7.1f}" if ours < 100 else f"{ours:7.0f}"  # W1's rates are small
        ratio_shown = f"{ratio:5.3f}" if ratio < 0.1 else f"{ratio:5.2f}"
        self.line(f"  {label:<38} ours {shown}/s   raw {raw:7.0f}/s   ratio {ratio_shown}"
                  f"  (target >= {target})  {mark}")

    def hot(self, label: str, hot: float, uniform: float, target: float) -> None:
        ratio = hot / uniform
        mark = self.mark(label, ratio >= target)
        self.line(f"  {label:<38} hot  {hot:7.0f}/s   uniform {uniform:7.0f}/s   ratio {ratio:5.2f}"
                  f"  (target >= {target})  {mark}")

    def summary(self, title: str) -> None:
        total = self.passed + len(self.missed)
        missed = f": MISS {'; '.join(self.missed)}" if self.missed else ""
        self.line(f"  {title}: {self.passed}/{total} targets met{missed}")
