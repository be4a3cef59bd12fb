"""Background work of orders, run by the task worker (django-tasks)."""

from __future__ import annotations

from django_tasks import task

from clearhouse.orders.services import orders_expire


@task()
def expire_unpaid_orders() -> int:
    """Cancel (reason "expired") unpaid orders past ORDER_UNPAID_EXPIRY, giving back stock, coupons and points.

    Safe to run at any time and any number of times; the scheduler enqueues it every few minutes.
    """
    return orders_expire()
