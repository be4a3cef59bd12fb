"""Background work of the Stripe simulator, run by the task worker (django-tasks)."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from clearhouse.sandbox.stripe.webhooks import deliveries_send, stripe_deliveries_retry


@task()
def deliver_stripe_events(*, delivery_ids: list[int]) -> int:
    """POST these event deliveries, in this order, to their endpoints (enqueued after commit)."""
    return deliveries_send(delivery_ids=delivery_ids)


@task()
def retry_stripe_event_deliveries() -> int:
    """Resend deliveries whose backoff has elapsed. Safe to run at any time; the scheduler runs it often."""
    return stripe_deliveries_retry(now=timezone.now())
