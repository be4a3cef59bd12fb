"""Periodic settlement job, run by the task worker and enqueued daily by the scheduler (DESIGN §10)."""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from django_tasks import task

from clearhouse.settlement.services import settlement_run

SCHEDULER_ACTOR = "system:settlement_scheduler"


@task()
def settlement_run_due(*, day: str | None = None) -> dict:
    """Daily: generate the statements due today (the platform's time zone) for every schedule that is due.

    Safe to run twice (two schedulers, a worker's retry): statements are keyed
    per merchant, currency and run day, so a second run for the same day
    creates nothing. `day` (YYYY-MM-DD) runs another day, e.g. one the
    scheduler missed; `clearhouse settle --date` does the same by hand.
    """
    run_day = date.fromisoformat(day) if day else timezone.localdate()
    result = settlement_run(day=run_day, actor=SCHEDULER_ACTOR)
    return {"day": run_day.isoformat(), "statements_created": result.statements_created,
            "lines_created": result.lines_created, "orders_settled": result.orders_settled,
            "clawbacks": result.clawbacks, "blocked_orders": result.blocked_orders}
