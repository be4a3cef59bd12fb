"""Background work of the Alipay simulator, run by the task worker (django-tasks)."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from clearhouse.sandbox.alipay.notify import notification_deliveries_retry, notification_deliveries_send


@task()
def deliver_notifications(*, delivery_ids: list[int]) -> int:
    """POST these notification deliveries, in this order, to their notify URLs (enqueued after commit)."""
    return notification_deliveries_send(delivery_ids=delivery_ids)


@task()
def retry_notification_deliveries() -> int:
    """Resend deliveries whose retry time has come. Safe at any time; the scheduler runs it often."""
    return notification_deliveries_retry(now=timezone.now())
