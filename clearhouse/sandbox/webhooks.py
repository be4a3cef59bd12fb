"""Webhooks from the sandbox provider to the merchant (Clearhouse): record, sign, deliver, retry.

Every status change records a `WebhookEvent` with its exact JSON body and one
`WebhookDelivery` per copy to send. Delivery runs after commit as a task and
POSTs the body with `Sandbox-Signature: t=<unix>,v1=<hex HMAC-SHA256>`; a
non-2xx answer or a connection error is retried with exponential backoff by
`sandbox_deliveries_retry`, which a periodic job calls, up to MAX_ATTEMPTS.

Test controls (see `TestControls`) can drop, duplicate or hold events so the
merchant's handling of lost, repeated and out-of-order notifications can be
exercised. Tests route deliveries in-process with `delivery_transport(...)`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clearhouse.sandbox.domain import new_id, retry_delay_s, signature_header
from clearhouse.sandbox.models import DeliveryState, WebhookDelivery, WebhookEvent
from clearhouse.sandbox.selectors import controls_get

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
DELIVERY_TIMEOUT_S = 10.0
# A delivery being sent is pushed this far into the future, so the retry job leaves it alone meanwhile.
CLAIM_S = 120
SIGNATURE_HEADER = "Sandbox-Signature"

_transport: httpx.BaseTransport | None = None


def set_delivery_transport(transport: httpx.BaseTransport | None) -> httpx.BaseTransport | None:
    """Send webhooks through `transport` (tests: in-process or recording); None means real HTTP. Returns the old one."""
    global _transport
    previous, _transport = _transport, transport
    return previous


@contextmanager
def delivery_transport(transport: httpx.BaseTransport | None) -> Iterator[None]:
    previous = set_delivery_transport(transport)
    try:
        yield
    finally:
        set_delivery_transport(previous)


def webhook_event_emit(*, type: str, obj: dict, notify_url: str) -> WebhookEvent:
    """Record an event about `obj` as it is now and queue its delivery after commit.

    Test controls decide the copies: dropped (recorded, never sent), held (sent
    on release), or `duplicate_webhooks` copies of the same event id.
    """
    event_id = new_id("evt")
    body = {"id": event_id, "object": "event", "type": type, "created": int(time.time()), "data": {"object": obj}}
    event = WebhookEvent.objects.create(id=event_id, type=type, notify_url=notify_url,
                                        body=json.dumps(body, separators=(",", ":")))
    if not notify_url:
        return event
    controls = controls_get()
    if controls.drop_webhooks:
        WebhookDelivery.objects.create(event=event, state=DeliveryState.DROPPED)
        return event
    state = DeliveryState.HELD if controls.hold_webhooks else DeliveryState.PENDING
    copies = max(1, controls.duplicate_webhooks)
    now = timezone.now()
    ids = [WebhookDelivery.objects.create(event=event, state=state,
                                          next_attempt_at=now if state == DeliveryState.PENDING else None).pk
           for _ in range(copies)]
    if state == DeliveryState.PENDING:
        transaction.on_commit(partial(_enqueue, ids), robust=True)
    return event


def webhook_held_release(*, reverse: bool = False) -> int:
    """Send every held delivery now, oldest first (or newest first, to simulate out-of-order arrival)."""
    held = list(WebhookDelivery.objects.filter(state=DeliveryState.HELD).order_by("created", "id"))
    if reverse:
        held.reverse()
    now = timezone.now()
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in held]).update(state=DeliveryState.PENDING,
                                                                      next_attempt_at=now)
    ids = [d.pk for d in held]
    if ids:
        transaction.on_commit(partial(_enqueue, ids), robust=True)
    return len(ids)


def _enqueue(delivery_ids: list[int]) -> None:
    from clearhouse.sandbox.tasks import deliver_webhooks  # the task module imports this one

    # One task for the whole list keeps the order (release reversed must arrive reversed).
    deliver_webhooks.enqueue(delivery_ids=delivery_ids)


def webhook_deliveries_send(*, delivery_ids: list[int], now: datetime | None = None) -> int:
    """POST the given pending deliveries in this order; returns how many the receiver accepted (2xx)."""
    accepted = 0
    for pk in delivery_ids:
        delivery = _claim(pk, now or timezone.now())
        if delivery is None:
            continue  # delivered, held, gave up, or another worker has it
        status_code, error = _post(delivery.event)
        accepted += _record(delivery, status_code=status_code, error=error, now=now or timezone.now())
    return accepted


def sandbox_deliveries_retry(*, now: datetime) -> int:
    """Send every pending delivery whose next attempt is due at `now` (the periodic job calls this)."""
    due = WebhookDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
    return webhook_deliveries_send(delivery_ids=list(due.order_by("created", "id").values_list("pk", flat=True)),
                                   now=now)


def _claim(pk: int, now: datetime) -> WebhookDelivery | None:
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_related("event").filter(pk=pk, state=DeliveryState.PENDING).first()
        if delivery is None or (delivery.next_attempt_at and delivery.next_attempt_at > now):
            return None
        claimed = WebhookDelivery.objects.filter(
            pk=pk, state=DeliveryState.PENDING, next_attempt_at=delivery.next_attempt_at,
        ).update(next_attempt_at=now + timedelta(seconds=CLAIM_S))
    return delivery if claimed else None


def _post(event: WebhookEvent) -> tuple[int | None, str]:
    body = event.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ClearhouseSandbox/1.0 (+webhooks)",
        SIGNATURE_HEADER: signature_header(secret=settings.CLEARHOUSE_SANDBOX_WEBHOOK_SECRET,
                                           timestamp=int(time.time()), body=body),
    }
    try:
        with httpx.Client(transport=_transport, timeout=DELIVERY_TIMEOUT_S) as client:
            response = client.post(event.notify_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        logger.info("sandbox webhook %s to %s failed: %s", event.id, event.notify_url, type(exc).__name__)
        return None, f"{type(exc).__name__}: {exc}"[:300]
    ok = 200 <= response.status_code < 300
    return response.status_code, "" if ok else f"HTTP {response.status_code}"


def _record(delivery: WebhookDelivery, *, status_code: int | None, error: str, now: datetime) -> int:
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = error
    if status_code is not None and 200 <= status_code < 300:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = DeliveryState.DELIVERED, now, None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=retry_delay_s(attempts=delivery.attempts))
    delivery.save(update_fields=["attempts", "last_status_code", "last_error", "state", "delivered_at",
                                 "next_attempt_at"])
    return int(delivery.state == DeliveryState.DELIVERED)
