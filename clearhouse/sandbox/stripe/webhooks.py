"""Events of the Stripe simulator: recorded, signed per endpoint, delivered after commit, retried with backoff.

Every state change records an `Event` (Stripe's event object, its exact JSON
body kept) and one `EventDelivery` per endpoint listening to that type.
Delivery runs after commit as a task and POSTs the body with
`Stripe-Signature: t=<now>,v1=<HMAC-SHA256(endpoint secret, "<t>.<body>")>`;
a non-2xx answer or a connection error is retried by
`stripe_deliveries_retry` (the scheduler calls it) with exponential backoff, up
to MAX_ATTEMPTS. Test controls on the account drop, duplicate or hold events
(release them in order or reversed). Tests route deliveries in-process with
`delivery_transport(...)`.
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
from django.db import transaction
from django.utils import timezone

from clearhouse.sandbox.stripe.domain import new_id, retry_delay_s, signature_header
from clearhouse.sandbox.stripe.models import Account, DeliveryState, Event, EventDelivery

logger = logging.getLogger(__name__)

API_VERSION = "2026-10-28.endive"  # what the events say they are shaped as (the SDK's current version)
MAX_ATTEMPTS = 8
DELIVERY_TIMEOUT_S = 10.0
CLAIM_S = 120  # a delivery being sent is pushed this far ahead so the retry job leaves it alone

_transport: httpx.BaseTransport | None = None


@contextmanager
def delivery_transport(transport: httpx.BaseTransport | None) -> Iterator[None]:
    """Send the simulator's webhooks through `transport` (tests); None means real HTTP."""
    global _transport
    previous, _transport = _transport, transport
    try:
        yield
    finally:
        _transport = previous


def event_emit(*, account: Account, type: str, obj: dict, idempotency_key: str = "") -> Event:
    """Record an event about `obj` as it is now and queue its deliveries after commit."""
    event_id = new_id("evt")
    body = {"id": event_id, "object": "event", "api_version": API_VERSION, "created": int(time.time()),
            "data": {"object": obj}, "livemode": False, "pending_webhooks": 0,
            "request": {"id": new_id("req", 14), "idempotency_key": idempotency_key or None}, "type": type}
    endpoints = [e for e in account.endpoints.all() if e.listens_to(type)]
    body["pending_webhooks"] = len(endpoints)
    event = Event.objects.create(id=event_id, account=account, type=type, body=json.dumps(body, separators=(",", ":")))
    if account.drop_webhooks:
        EventDelivery.objects.bulk_create([EventDelivery(event=event, endpoint=e, state=DeliveryState.DROPPED)
                                           for e in endpoints])
        return event
    state = DeliveryState.HELD if account.hold_webhooks else DeliveryState.PENDING
    now = timezone.now()
    ids = [EventDelivery.objects.create(event=event, endpoint=endpoint, state=state,
                                        next_attempt_at=now if state == DeliveryState.PENDING else None).pk
           for endpoint in endpoints for _ in range(max(1, account.duplicate_webhooks))]
    if ids and state == DeliveryState.PENDING:
        transaction.on_commit(partial(_enqueue, ids), robust=True)
    return event


def held_release(*, account: Account, reverse: bool = False) -> int:
    """Send the account's held deliveries now, oldest first, or newest first (out of order)."""
    held = list(EventDelivery.objects.filter(event__account=account, state=DeliveryState.HELD)
                .order_by("created", "id").values_list("pk", flat=True))
    if reverse:
        held.reverse()
    EventDelivery.objects.filter(pk__in=held).update(state=DeliveryState.PENDING, next_attempt_at=timezone.now())
    if held:
        transaction.on_commit(partial(_enqueue, held), robust=True)
    return len(held)


def _enqueue(delivery_ids: list[int]) -> None:
    from clearhouse.sandbox.stripe.tasks import deliver_stripe_events  # the task module imports this one

    deliver_stripe_events.enqueue(delivery_ids=delivery_ids)  # one task keeps the order


def deliveries_send(*, delivery_ids: list[int], now: datetime | None = None) -> int:
    """POST these pending deliveries in this order; returns how many the receiver accepted (2xx)."""
    accepted = 0
    for pk in delivery_ids:
        delivery = _claim(pk, now or timezone.now())
        if delivery is not None:
            status_code, error = _post(delivery)
            accepted += _record(delivery, status_code=status_code, error=error, now=now or timezone.now())
    return accepted


def stripe_deliveries_retry(*, now: datetime) -> int:
    """Send every pending delivery whose next attempt is due (the periodic job)."""
    due = EventDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
    return deliveries_send(delivery_ids=list(due.order_by("created", "id").values_list("pk", flat=True)), now=now)


def _claim(pk: int, now: datetime) -> EventDelivery | None:
    with transaction.atomic():
        delivery = EventDelivery.objects.select_related("event", "endpoint").filter(
            pk=pk, state=DeliveryState.PENDING).first()
        if delivery is None or (delivery.next_attempt_at and delivery.next_attempt_at > now):
            return None
        claimed = EventDelivery.objects.filter(pk=pk, state=DeliveryState.PENDING,
                                               next_attempt_at=delivery.next_attempt_at).update(
            next_attempt_at=now + timedelta(seconds=CLAIM_S))
    return delivery if claimed else None


def _post(delivery: EventDelivery) -> tuple[int | None, str]:
    body = delivery.event.body.encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "Stripe-Signature": signature_header(secret=delivery.endpoint.secret, timestamp=int(time.time()), body=body),
    }
    try:
        with httpx.Client(transport=_transport, timeout=DELIVERY_TIMEOUT_S) as client:
            response = client.post(delivery.endpoint.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        logger.info("stripe simulator: event %s to %s failed: %s", delivery.event_id, delivery.endpoint.url,
                    type(exc).__name__)
        return None, type(exc).__name__
    ok = 200 <= response.status_code < 300
    return response.status_code, "" if ok else f"HTTP {response.status_code}"


def _record(delivery: EventDelivery, *, status_code: int | None, error: str, now: datetime) -> int:
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_error = status_code, error[:300]
    if status_code is not None and 200 <= status_code < 300:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = DeliveryState.DELIVERED, now, None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=retry_delay_s(attempts=delivery.attempts))
    delivery.save(update_fields=["attempts", "last_status_code", "last_error", "state", "delivered_at",
                                 "next_attempt_at"])
    return int(delivery.state == DeliveryState.DELIVERED)
