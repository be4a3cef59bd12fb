"""Payment reminders: an unpaid order hears from us at each configured slot, once.

Slots are minutes after submission (PAYMENT_REMINDER_MINUTES). A run finds,
per slot, the orders still unpaid, not expired and past that slot, in one
query each; the notification's dedupe key (order, slot, channel) makes a
second run, or two schedulers racing, send nothing twice. Paid or cancelled
orders drop out of the query, so reminders stop by themselves.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from clearhouse.core.money import Money
from clearhouse.notifications.selectors import dedupe_keys_taken
from clearhouse.notifications.services import notification_send
from clearhouse.orders.selectors import orders_awaiting_payment

TEMPLATE = "payment_reminder"


def payment_reminders_send(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Send the reminders due now; returns how many messages went out (email and SMS count apart)."""
    now = now or timezone.now()
    sent = 0
    for slot in sorted(set(settings.PAYMENT_REMINDER_MINUTES)):
        orders = orders_awaiting_payment(submitted_before=now - timedelta(minutes=slot), now=now, limit=limit)
        keys = {o.number: f"payment_reminder:{o.number}:{slot}" for o in orders}
        taken = dedupe_keys_taken(keys=[f"{k}:{ch}" for k in keys.values() for ch in ("email", "sms")])
        for order in orders:
            sent += _remind(order, keys[order.number], taken)
    return sent


def _remind(order, key: str, taken: set[str]) -> int:
    customer = order.customer
    context = {
        "order_number": order.number, "amount": Money(order.total_minor, order.currency).format(),
        "pay_url": f"{settings.CLEARHOUSE_PUBLIC_URL}/pay/{order.number}/",
        "expires_at": timezone.localtime(order.expires_at).strftime("%Y-%m-%d %H:%M") if order.expires_at else "",
    }
    sent = 0
    for channel, recipient in (("email", customer.email), ("sms", customer.phone)):
        if f"{key}:{channel}" in taken or not recipient:
            continue
        delivery = notification_send(template=TEMPLATE, channel=channel, recipient=recipient, context=context,
                                     language=settings.LANGUAGE_CODE, dedupe_key=f"{key}:{channel}",
                                     related=("order", order.number))
        sent += delivery.status == "sent"
    return sent
