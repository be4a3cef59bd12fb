"""The scheduler: periodic jobs, each enqueued at most once per period however many schedulers tick.

A job is a django-tasks task named by dotted path plus an interval. Its
period at time t is `floor(epoch_seconds(t) / every_s)`; `scheduler_tick`
inserts a `ScheduledRun(job, period_key)` row, which a unique constraint
allows once, and only the inserter enqueues the task, in the same
transaction. So ticking twice in a period, or two schedulers on two
machines, enqueue each job once per period; a failed enqueue rolls the row
back and the next tick tries again. The jobs themselves must still be safe
to run twice (they are sweeps), since a worker may retry them.

Apps register their jobs from `AppConfig.ready()`, so `core` imports no other
app and the registry is complete once Django is set up:

    class OrdersConfig(AppConfig):
        def ready(self) -> None:
            from clearhouse.core.scheduler import schedule_register

            schedule_register(name="orders.expire_unpaid", every_s=60,
                              task_path="clearhouse.orders.tasks.expire_unpaid_orders")

`clearhouse scheduler` runs `scheduler_tick` in a loop (the demo starts it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from clearhouse.core.models import ScheduledRun

logger = logging.getLogger(__name__)

# Past runs are kept this long (and at least two periods) for the admin's history, then pruned.
RUN_HISTORY = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Job:
    """A task to enqueue once every `every_s` seconds; `task_path` is the task's dotted path."""

    name: str
    task_path: str
    every_s: int

    def period_key(self, at: datetime) -> int:
        """The number of the period `at` falls in: periods are aligned to the epoch (a daily job runs after
        00:00 UTC)."""
        return int(at.timestamp()) // self.every_s


JOBS: list[Job] = []
"""Every registered job, in registration order; extended only through `schedule_register`."""


def schedule_register(*, name: str, task_path: str, every_s: int) -> Job:
    """Add a periodic job. Registering the same job again is a no-op; the same name with a different
    task or interval is a programming error."""
    if not isinstance(every_s, int) or every_s < 1:
        raise ValueError(f"job {name!r}: every_s is a whole number of seconds >= 1, not {every_s!r}")
    job = Job(name=name, task_path=task_path, every_s=every_s)
    existing = next((j for j in JOBS if j.name == name), None)
    if existing is not None:
        if existing != job:
            raise ValueError(f"job {name!r} is already registered as {existing}")
        return existing
    JOBS.append(job)
    return job


def _enqueue_once(job: Job, now: datetime) -> bool:
    """Enqueue `job` for the period of `now` unless that period already has its run; True if this call did."""
    task = import_string(job.task_path)
    with transaction.atomic():
        try:
            with transaction.atomic():  # savepoint: losing the race leaves the outer transaction usable
                run = ScheduledRun.objects.create(job=job.name, period_key=job.period_key(now), enqueued_at=now)
        except IntegrityError:
            return False  # an earlier tick, or another scheduler, enqueued this period's run
        # Same transaction as the row: with the database task backend both commit or neither does.
        result = task.enqueue()
        run.task_result_id = str(result.id)[:64]
        run.save(update_fields=["task_result_id"])
    keep = max(RUN_HISTORY, timedelta(seconds=2 * job.every_s))
    ScheduledRun.objects.filter(job=job.name, enqueued_at__lt=now - keep).delete()
    return True


def scheduler_tick(*, now: datetime | None = None) -> list[str]:
    """Enqueue each registered job whose current period has no run yet; returns the names enqueued.

    A job that cannot be imported or enqueued is logged and skipped (and
    retried next tick); it does not stop the others.
    """
    now = now or timezone.now()
    enqueued = []
    for job in list(JOBS):
        try:
            if _enqueue_once(job, now):
                enqueued.append(job.name)
        except Exception:  # one broken job must not starve the rest
            logger.exception("scheduler: could not enqueue job %s (%s)", job.name, job.task_path)
    return enqueued
