"""Background work of the PayPal simulator, run by the task worker (django-tasks)."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from clearhouse.sandbox.paypal.webhooks import paypal_deliveries_retry, webhook_deliveries_send


@task()
def deliver_webhooks(*, delivery_ids: list[int]) -> int:
    """POST these webhook deliveries, in this order, to the app's webhook URL (enqueued after commit)."""
    return webhook_deliveries_send(delivery_ids=delivery_ids)


@task()
def retry_webhook_deliveries() -> int:
    """Resend deliveries whose backoff has elapsed; safe to run at any time (the scheduler should run it)."""
    return paypal_deliveries_retry(now=timezone.now())
