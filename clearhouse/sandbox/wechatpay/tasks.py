"""Background work of the WeChat Pay simulator, run by the task worker (django-tasks)."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from clearhouse.sandbox.wechatpay.callbacks import deliveries_retry, deliveries_send


@task()
def deliver_notifications(*, delivery_ids: list[int]) -> int:
    """POST these callbacks, in this order, to their notify URLs (enqueued after commit)."""
    return deliveries_send(delivery_ids=delivery_ids)


@task()
def retry_notifications() -> int:
    """Resend callbacks whose retry delay has passed (the scheduler runs this often)."""
    return deliveries_retry(now=timezone.now())


@task()
def settle_refund(*, refund_pk: int) -> str:
    """A refund reaches the buyer (PROCESSING -> SUCCESS) and the REFUND.SUCCESS callback goes out."""
    from clearhouse.sandbox.wechatpay.services import refund_settle

    return refund_settle(refund_pk=refund_pk).status
