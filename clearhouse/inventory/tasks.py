"""Background work of the inventory, run by the task worker (django-tasks)."""

from __future__ import annotations

from django_tasks import task

from clearhouse.inventory.services import reservations_release_expired


@task()
def release_expired_reservations() -> int:
    """Give back the stock of unpaid orders whose reservation expired; returns how many were released.

    Safe to run at any time and any number of times: each reservation is
    released at most once, and one committed meanwhile is left alone. The
    scheduler enqueues it every few minutes.
    """
    return reservations_release_expired()
