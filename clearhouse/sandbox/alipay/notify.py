"""Async notifications from the Alipay simulator to the merchant: record, sign, deliver, retry.

A paid trade records a `Notification` with its exact signed form body and one `Delivery` per copy.
Delivery runs after commit as a task and POSTs the body as application/x-www-form-urlencoded; only a
response whose body is exactly `success` counts (Alipay's rule), anything else is retried on Alipay's
schedule (4m, 10m, 10m, 1h, 2h, 6h, 15h) by `notification_deliveries_retry`, which a periodic job runs.

The app's test controls can drop, duplicate (same notify_id) or hold notifications; held ones are
released in order or reversed. Tests route deliveries in-process with `delivery_transport(...)`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlencode

import httpx
from django.db import transaction
from django.utils import timezone

from clearhouse.sandbox.alipay.domain import (
    MAX_ATTEMPTS,
    beijing,
    new_digits,
    retry_delay_s,
    sign_params,
    yuan_text,
)
from clearhouse.sandbox.alipay.models import App, Delivery, DeliveryState, Notification, Trade

logger = logging.getLogger(__name__)

DELIVERY_TIMEOUT_S = 10.0
CLAIM_S = 120  # a delivery being sent is pushed this far ahead, so the retry job leaves it alone

_transport: httpx.BaseTransport | None = None


def set_delivery_transport(transport: httpx.BaseTransport | None) -> httpx.BaseTransport | None:
    """Send notifications through `transport` (tests); None means real HTTP. Returns the old one."""
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


def notify_params(trade: Trade, *, now: datetime) -> dict[str, str]:
    """The fields of a trade_status_sync notify, as Alipay sends them (before signing)."""
    app = trade.app
    amount = yuan_text(trade.total_amount)
    params = {
        "notify_time": beijing(now), "notify_type": "trade_status_sync", "notify_id": new_digits(34),
        "charset": "utf-8", "version": "1.0", "sign_type": "RSA2", "app_id": app.app_id,
        "auth_app_id": app.app_id, "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no,
        "buyer_id": trade.buyer_user_id, "buyer_logon_id": trade.buyer_logon_id, "seller_id": app.seller_id,
        "seller_email": app.seller_email, "trade_status": trade.status, "total_amount": amount,
        "receipt_amount": amount, "invoice_amount": amount, "buyer_pay_amount": amount, "point_amount": "0.00",
        "subject": trade.subject, "gmt_create": beijing(trade.gmt_create),
    }
    if trade.gmt_payment:
        params["gmt_payment"] = beijing(trade.gmt_payment)
        params["fund_bill_list"] = f'[{{"amount":"{amount}","fundChannel":"ALIPAYACCOUNT"}}]'
    if trade.gmt_close:
        params["gmt_close"] = beijing(trade.gmt_close)
    return {k: v for k, v in params.items() if v}


def notification_emit(*, trade: Trade) -> Notification | None:
    """Record a notify about the trade as it is now and queue its delivery after commit (per controls)."""
    if not trade.notify_url:
        return None
    app = App.objects.get(pk=trade.app_id)
    params = sign_params(app.alipay_private_key, notify_params(trade, now=timezone.now()))
    notification = Notification.objects.create(notify_id=params["notify_id"], trade=trade,
                                               trade_status=trade.status, notify_url=trade.notify_url,
                                               body=urlencode(params))
    if app.drop_notifications:
        Delivery.objects.create(notification=notification, state=DeliveryState.DROPPED)
        return notification
    state = DeliveryState.HELD if app.hold_notifications else DeliveryState.PENDING
    now = timezone.now()
    ids = [Delivery.objects.create(notification=notification, state=state,
                                   next_attempt_at=now if state == DeliveryState.PENDING else None).pk
           for _ in range(max(1, app.duplicate_notifications))]
    if state == DeliveryState.PENDING:
        transaction.on_commit(partial(_enqueue, ids), robust=True)
    return notification


def notifications_release_held(*, app: App, reverse: bool = False) -> int:
    """Send the app's held deliveries now, oldest first (or newest first: out of order)."""
    held = list(Delivery.objects.filter(state=DeliveryState.HELD, notification__trade__app=app)
                .order_by("created", "id"))
    if reverse:
        held.reverse()
    ids = [d.pk for d in held]
    Delivery.objects.filter(pk__in=ids).update(state=DeliveryState.PENDING, next_attempt_at=timezone.now())
    if ids:
        transaction.on_commit(partial(_enqueue, ids), robust=True)
    return len(ids)


def _enqueue(delivery_ids: list[int]) -> None:
    from clearhouse.sandbox.alipay.tasks import deliver_notifications  # the task module imports this one

    deliver_notifications.enqueue(delivery_ids=delivery_ids)  # one task keeps the order


def notification_deliveries_send(*, delivery_ids: list[int], now: datetime | None = None) -> int:
    """POST the given pending deliveries in this order; returns how many were acknowledged with `success`."""
    accepted = 0
    for pk in delivery_ids:
        delivery = _claim(pk, now or timezone.now())
        if delivery is None:
            continue
        status_code, error = _post(delivery.notification)
        accepted += _record(delivery, status_code=status_code, error=error, now=now or timezone.now())
    return accepted


def notification_deliveries_retry(*, now: datetime) -> int:
    """Send every pending delivery whose next try is due at `now` (the periodic job calls this)."""
    due = Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
    return notification_deliveries_send(delivery_ids=list(due.order_by("created", "id").values_list("pk", flat=True)),
                                        now=now)


def _claim(pk: int, now: datetime) -> Delivery | None:
    with transaction.atomic():
        delivery = Delivery.objects.select_related("notification").filter(pk=pk, state=DeliveryState.PENDING).first()
        if delivery is None or (delivery.next_attempt_at and delivery.next_attempt_at > now):
            return None
        claimed = Delivery.objects.filter(pk=pk, state=DeliveryState.PENDING,
                                          next_attempt_at=delivery.next_attempt_at).update(
            next_attempt_at=now + timedelta(seconds=CLAIM_S))
    return delivery if claimed else None


def _post(notification: Notification) -> tuple[int | None, str]:
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
               "User-Agent": "Mozilla/4.0 (ClearhouseAlipaySimulator; notify)"}
    try:
        with httpx.Client(transport=_transport, timeout=DELIVERY_TIMEOUT_S) as client:
            response = client.post(notification.notify_url, content=notification.body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        logger.info("alipay simulator notify %s to %s failed: %s", notification.notify_id, notification.notify_url,
                    type(exc).__name__)
        return None, type(exc).__name__
    if response.status_code == 200 and response.content.strip() == b"success":
        return 200, ""
    return response.status_code, f"HTTP {response.status_code}: {response.content[:80]!r}"[:300]


def _record(delivery: Delivery, *, status_code: int | None, error: str, now: datetime) -> int:
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_error = status_code, error
    if not error:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = DeliveryState.DELIVERED, now, None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=retry_delay_s(attempts=delivery.attempts))
    delivery.save(update_fields=["attempts", "last_status_code", "last_error", "state", "delivered_at",
                                 "next_attempt_at"])
    return int(delivery.state == DeliveryState.DELIVERED)
