"""Webhooks from the PayPal simulator to the app's webhook URL: record, sign, deliver, retry.

Each event is recorded with its exact JSON body; each transmission is signed
as PayPal signs: SHA256withRSA over `transmission_id|transmission_time|
webhook_id|crc32(body)`, sent with PAYPAL-TRANSMISSION-ID / -TIME / -SIG,
PAYPAL-CERT-URL and PAYPAL-AUTH-ALGO. Delivery runs after commit as a task; a
non-2xx answer or a connection error is retried with exponential backoff by
`paypal_deliveries_retry` (a periodic job), up to MAX_ATTEMPTS. Test controls
drop, duplicate or hold events; tests route deliveries with `delivery_transport`.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.db import transaction
from django.utils import timezone

from clearhouse.sandbox.paypal.domain import new_event_id, new_transmission_id, retry_delay_s, signed_string
from clearhouse.sandbox.paypal.models import App, DeliveryState, WebhookDelivery, WebhookEvent
from clearhouse.sandbox.paypal.selectors import api_base, controls_get

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
DELIVERY_TIMEOUT_S = 10.0
CLAIM_S = 120
AUTH_ALGO = "SHA256withRSA"

_transport: httpx.BaseTransport | None = None


def set_delivery_transport(transport: httpx.BaseTransport | None) -> httpx.BaseTransport | None:
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


def canonical(event: dict) -> bytes:
    """The bytes the simulator sends for an event (and re-derives when asked to verify one)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def webhook_event_emit(*, app: App, event_type: str, resource_type: str, resource: dict,
                       summary: str) -> WebhookEvent:
    """Record an event about `resource` as it is now and queue its delivery after commit."""
    event_id = new_event_id()
    now = timezone.now()
    body = {"id": event_id, "event_version": "1.0", "create_time": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "resource_type": resource_type, "resource_version": "2.0", "event_type": event_type,
            "summary": summary, "resource": resource,
            "links": [{"href": f"{api_base()}/v1/notifications/webhooks-events/{event_id}", "rel": "self",
                       "method": "GET"}]}
    event = WebhookEvent.objects.create(id=event_id, app=app, event_type=event_type,
                                        body=canonical(body).decode())
    if not app.webhook_url:
        return event
    controls = controls_get()
    if controls.drop_webhooks:
        WebhookDelivery.objects.create(event=event, state=DeliveryState.DROPPED)
        return event
    state = DeliveryState.HELD if controls.hold_webhooks else DeliveryState.PENDING
    ids = [WebhookDelivery.objects.create(event=event, state=state,
                                          next_attempt_at=now if state == DeliveryState.PENDING else None).pk
           for _ in range(max(1, controls.duplicate_webhooks))]
    if state == DeliveryState.PENDING:
        transaction.on_commit(partial(_enqueue, ids), robust=True)
    return event


def webhook_held_release(*, reverse: bool = False) -> int:
    """Send every held delivery now, oldest first (or newest first: out-of-order arrival)."""
    held = list(WebhookDelivery.objects.filter(state=DeliveryState.HELD).order_by("created", "id"))
    if reverse:
        held.reverse()
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in held]).update(state=DeliveryState.PENDING,
                                                                      next_attempt_at=timezone.now())
    ids = [d.pk for d in held]
    if ids:
        transaction.on_commit(partial(_enqueue, ids), robust=True)
    return len(ids)


def _enqueue(delivery_ids: list[int]) -> None:
    from clearhouse.sandbox.paypal.tasks import deliver_webhooks

    deliver_webhooks.enqueue(delivery_ids=delivery_ids)


def webhook_deliveries_send(*, delivery_ids: list[int], now: datetime | None = None) -> int:
    """POST the given pending deliveries in this order; returns how many the receiver accepted (2xx)."""
    accepted = 0
    for pk in delivery_ids:
        delivery = _claim(pk, now or timezone.now())
        if delivery is None:
            continue
        status_code, error = _post(delivery.event)
        accepted += _record(delivery, status_code=status_code, error=error, now=now or timezone.now())
    return accepted


def paypal_deliveries_retry(*, now: datetime) -> int:
    """Send every pending delivery whose next attempt is due at `now` (the periodic job calls this)."""
    due = WebhookDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
    return webhook_deliveries_send(delivery_ids=list(due.order_by("created", "id").values_list("pk", flat=True)),
                                   now=now)


def _claim(pk: int, now: datetime) -> WebhookDelivery | None:
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_related("event__app").filter(
            pk=pk, state=DeliveryState.PENDING).first()
        if delivery is None or (delivery.next_attempt_at and delivery.next_attempt_at > now):
            return None
        claimed = WebhookDelivery.objects.filter(pk=pk, state=DeliveryState.PENDING,
                                                 next_attempt_at=delivery.next_attempt_at).update(
            next_attempt_at=now + timedelta(seconds=CLAIM_S))
    return delivery if claimed else None


def transmission_headers(*, body: bytes, webhook_id: str, transmission_id: str | None = None,
                         transmission_time: str | None = None) -> dict[str, str]:
    """PayPal's signature headers for one transmission of `body` to the webhook `webhook_id`."""
    from clearhouse.sandbox.paypal.services import signing_cert_get

    cert = signing_cert_get()
    transmission_id = transmission_id or new_transmission_id()
    transmission_time = transmission_time or timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    key = serialization.load_pem_private_key(cert.private_key_pem.encode(), password=None)
    message = signed_string(transmission_id=transmission_id, transmission_time=transmission_time,
                            webhook_id=webhook_id, body=body)
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {"PAYPAL-TRANSMISSION-ID": transmission_id, "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-CERT-URL": f"{api_base()}/v1/notifications/certs/{cert.cert_id}",
            "PAYPAL-AUTH-ALGO": AUTH_ALGO}


def _post(event: WebhookEvent) -> tuple[int | None, str]:
    body = event.body.encode()
    headers = {"Content-Type": "application/json", "User-Agent": "PayPal/AUHD-214.0-58240093",
               **transmission_headers(body=body, webhook_id=event.app.webhook_id)}
    try:
        with httpx.Client(transport=_transport, timeout=DELIVERY_TIMEOUT_S) as client:
            response = client.post(event.app.webhook_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        logger.info("paypal simulator webhook %s failed: %s", event.id, type(exc).__name__)
        return None, type(exc).__name__
    ok = 200 <= response.status_code < 300
    return response.status_code, "" if ok else f"HTTP {response.status_code}"


def _record(delivery: WebhookDelivery, *, status_code: int | None, error: str, now: datetime) -> int:
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
