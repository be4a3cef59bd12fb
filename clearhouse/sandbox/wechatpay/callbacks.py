"""Callbacks from the WeChat Pay simulator to the merchant's notify_url: record, seal, sign, deliver, retry.

Each event records a `Notification` whose body is exactly what WeChat Pay
posts: `{id, create_time, resource_type: "encrypt-resource", event_type,
summary, resource: {original_type, algorithm: "AEAD_AES_256_GCM", ciphertext,
associated_data, nonce}}`, the resource sealed with the merchant's APIv3
key. Delivery runs after commit as a task; each POST is signed afresh
(`Wechatpay-Timestamp/-Nonce/-Serial/-Signature`) with the platform key.
HTTP 200/204 means accepted; anything else (or no answer) is retried on
WeChat Pay's schedule (15 s, 15 s, 30 s, 3 min, ... 6 h).

Test controls (per merchant) drop, duplicate or hold callbacks. Tests route
deliveries in-process with `delivery_transport(...)`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial

import httpx
from django.db import transaction
from django.utils import timezone

from clearhouse.sandbox.wechatpay.domain import retry_delay_s, rfc3339_cst, seal, signed_headers
from clearhouse.sandbox.wechatpay.models import Delivery, DeliveryState, Merchant, Notification, TestControls

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 16  # the first try and WeChat Pay's 15 retries
DELIVERY_TIMEOUT_S = 5.0
CLAIM_S = 120

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


def notification_emit(*, merchant: Merchant, event_type: str, summary: str, original_type: str,
                      resource: dict, notify_url: str) -> Notification:
    """Record a callback about `resource` (sealed with the APIv3 key) and queue its delivery after commit."""
    notification_id = str(uuid.uuid4())
    sealed = seal(json.dumps(resource, ensure_ascii=False, separators=(",", ":")), apiv3_key=merchant.apiv3_key,
                  associated_data=original_type)
    body = {"id": notification_id, "create_time": rfc3339_cst(timezone.now()), "resource_type": "encrypt-resource",
            "event_type": event_type, "summary": summary, "resource": {"original_type": original_type, **sealed}}
    notification = Notification.objects.create(id=notification_id, merchant=merchant, event_type=event_type,
                                               notify_url=notify_url,
                                               body=json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    if not notify_url:
        return notification
    controls = TestControls.objects.get_or_create(merchant=merchant)[0]
    if controls.drop_notifications:
        Delivery.objects.create(notification=notification, state=DeliveryState.DROPPED)
        return notification
    state = DeliveryState.HELD if controls.hold_notifications else DeliveryState.PENDING
    now = timezone.now()
    ids = [Delivery.objects.create(notification=notification, state=state,
                                   next_attempt_at=now if state == DeliveryState.PENDING else None).pk
           for _ in range(max(1, controls.duplicate_notifications))]
    if state == DeliveryState.PENDING:
        transaction.on_commit(partial(_enqueue, ids), robust=True)
    return notification


def notifications_held_release(*, merchant: Merchant, reverse: bool = False) -> int:
    """Send the merchant's held callbacks now, oldest first (or newest first: out of order)."""
    held = list(Delivery.objects.filter(state=DeliveryState.HELD, notification__merchant=merchant)
                .order_by("created", "id"))
    if reverse:
        held.reverse()
    ids = [d.pk for d in held]
    Delivery.objects.filter(pk__in=ids).update(state=DeliveryState.PENDING, next_attempt_at=timezone.now())
    if ids:
        transaction.on_commit(partial(_enqueue, ids), robust=True)
    return len(ids)


def _enqueue(delivery_ids: list[int]) -> None:
    from clearhouse.sandbox.wechatpay.tasks import deliver_notifications

    deliver_notifications.enqueue(delivery_ids=delivery_ids)


def deliveries_send(*, delivery_ids: list[int], now: datetime | None = None) -> int:
    """POST these pending deliveries in this order; returns how many the receiver accepted."""
    accepted = 0
    for pk in delivery_ids:
        delivery = _claim(pk, now or timezone.now())
        if delivery is not None:
            status_code, error = _post(delivery.notification)
            accepted += _record(delivery, status_code=status_code, error=error, now=now or timezone.now())
    return accepted


def deliveries_retry(*, now: datetime) -> int:
    """Send every pending delivery whose next attempt is due (the scheduler calls this often)."""
    due = Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now).order_by("created", "id")
    return deliveries_send(delivery_ids=list(due.values_list("pk", flat=True)), now=now)


def _claim(pk: int, now: datetime) -> Delivery | None:
    with transaction.atomic():
        delivery = Delivery.objects.select_related("notification__merchant").filter(
            pk=pk, state=DeliveryState.PENDING).first()
        if delivery is None or (delivery.next_attempt_at and delivery.next_attempt_at > now):
            return None
        claimed = Delivery.objects.filter(pk=pk, state=DeliveryState.PENDING,
                                          next_attempt_at=delivery.next_attempt_at).update(
            next_attempt_at=now + timedelta(seconds=CLAIM_S))
    return delivery if claimed else None


def _post(notification: Notification) -> tuple[int | None, str]:
    merchant = notification.merchant
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               "User-Agent": "Mozilla/4.0 (Clearhouse WeChat Pay simulator)",
               **signed_headers(platform_private_key_pem=merchant.platform_private_key,
                                platform_serial=merchant.platform_serial, body=notification.body,
                                timestamp=int(time.time()))}
    try:
        with httpx.Client(transport=_transport, timeout=DELIVERY_TIMEOUT_S) as client:
            response = client.post(notification.notify_url, content=notification.body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        logger.info("wechatpay simulator callback %s failed: %s", notification.id, type(exc).__name__)
        return None, f"{type(exc).__name__}: {exc}"[:300]
    ok = response.status_code in (200, 204)
    return response.status_code, "" if ok else f"HTTP {response.status_code}: {response.text[:200]}"


def _record(delivery: Delivery, *, status_code: int | None, error: str, now: datetime) -> int:
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_error = status_code, error
    if status_code in (200, 204):
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = DeliveryState.DELIVERED, now, None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=retry_delay_s(attempts=delivery.attempts))
    delivery.save(update_fields=["attempts", "last_status_code", "last_error", "state", "delivered_at",
                                 "next_attempt_at"])
    return int(delivery.state == DeliveryState.DELIVERED)
