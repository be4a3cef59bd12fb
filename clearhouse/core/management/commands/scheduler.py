"""`clearhouse scheduler [--once] [--interval 15]`: enqueue the periodic jobs, each once per period.

Runs alongside `clearhouse db_worker`, which executes what this enqueues.
Any number of schedulers may run: the database lets one enqueue per job and
period. SIGTERM or Ctrl-C stops it between ticks.
"""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils import timezone

from clearhouse.core import scheduler


class Command(BaseCommand):
    help = "Enqueue periodic jobs (expiry sweeps, reminders, ...) once per period; loop until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Tick once and exit.")
        parser.add_argument("--interval", type=float, default=15.0,
                            help="Seconds between ticks (default 15); shorter than the shortest job period.")

    def handle(self, *args, once: bool = False, interval: float = 15.0, **options):
        if interval <= 0:
            raise CommandError("--interval must be positive")
        stop = threading.Event()
        if not once:
            # A signal only sets the flag: a tick in progress finishes its transaction, then the loop ends.
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
            jobs = ", ".join(f"{job.name} every {job.every_s}s" for job in scheduler.JOBS) or "none"
            self.stdout.write(f"scheduler: ticking every {interval:g}s; jobs: {jobs}")
        while True:
            self._tick()
            if once or stop.wait(interval):
                break
            close_old_connections()  # a long-lived loop must not keep a connection the database dropped
        if not once:
            self.stdout.write("scheduler: stopped")

    def _tick(self) -> None:
        enqueued = scheduler.scheduler_tick()
        if enqueued:
            self.stdout.write(f"{timezone.now():%Y-%m-%d %H:%M:%S} enqueued: {', '.join(enqueued)}")
