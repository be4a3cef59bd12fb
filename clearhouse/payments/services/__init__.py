"""Writes of payments, one module per concern; import them from here.

    apply      intent_apply (the one place an intent's status moves)
    intents    payment_start, payment_confirm, payment_return, payment_refresh, payment_capture, payment_void,
               payment_give_back
    offline    payment_mark_received (bank transfer), payment_cash_record
    refunds    refund_request, refund_approve, refund_reject, refund_apply, refund_mark_paid_offline
    webhooks   webhook_receive
    janitor    payments_resolve_stuck
    reminders  payment_reminders_send
"""

from clearhouse.payments.services.apply import intent_apply
from clearhouse.payments.services.intents import (
    payment_capture,
    payment_confirm,
    payment_give_back,
    payment_refresh,
    payment_return,
    payment_start,
    payment_void,
)
from clearhouse.payments.services.janitor import payments_resolve_stuck
from clearhouse.payments.services.offline import payment_cash_record, payment_mark_received
from clearhouse.payments.services.refunds import (
    refund_apply,
    refund_approve,
    refund_mark_paid_offline,
    refund_reject,
    refund_request,
)
from clearhouse.payments.services.reminders import payment_reminders_send
from clearhouse.payments.services.webhooks import webhook_receive

__all__ = [
    "intent_apply",
    "payment_capture",
    "payment_cash_record",
    "payment_confirm",
    "payment_give_back",
    "payment_mark_received",
    "payment_refresh",
    "payment_return",
    "payment_reminders_send",
    "payment_start",
    "payment_void",
    "payments_resolve_stuck",
    "refund_apply",
    "refund_approve",
    "refund_mark_paid_offline",
    "refund_reject",
    "refund_request",
    "webhook_receive",
]
