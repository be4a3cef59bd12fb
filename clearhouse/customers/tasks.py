"""Background jobs of the customers context (run by the task worker; a scheduler enqueues them)."""

from __future__ import annotations

from django_tasks import task

from clearhouse.customers.services import customer_levels_recalculate_all, points_expire


@task()
def points_expire_task() -> int:
    """Daily: expire lapsed points. Safe to run twice: nothing expires twice."""
    return points_expire()


@task()
def member_levels_recalculate_task() -> int:
    """After staff change the member levels: re-derive every customer's level."""
    return customer_levels_recalculate_all()
