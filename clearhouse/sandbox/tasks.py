"""Background work of the sandbox provider, run by the task worker (django-tasks)."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from clearhouse.sandbox.webhooks import sandbox_deliveries_retry, webhook_deliveries_send


@task()
def deliver_webhooks(*, delivery_ids: list[int]) -> int:
    """POST these webhook deliveries, in this order, to their notify URLs (enqueued after commit)."""
    return webhook_deliveries_send(delivery_ids=delivery_ids)


@task()
def retry_webhook_deliveries() -> int:
    """Resend webhook deliveries whose backoff has elapsed. Safe to run at any time; the scheduler runs it often."""
    return sandbox_deliveries_retry(now=timezone.now())
