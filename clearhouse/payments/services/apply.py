"""Where an intent's status moves: `intent_apply`, the one place, monotonic through the transition table.

An answer that would move the intent backwards (a late "processing" after
"captured") changes nothing. Effects of reaching a state (ledger, order
paid, notices) run exactly once because they run only on the transition
into that state, under the intent's row lock, inside the caller's
transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from clearhouse.core.audit import actor_label
from clearhouse.orders.models import Order
from clearhouse.payments import domain
from clearhouse.payments.domain import SECURED, IntentStatus
from clearhouse.payments.models import PaymentIntent, PaymentStatusChange
from clearhouse.payments.providers.base import ProviderPayment
from clearhouse.payments.services import effects, notices


def pay_url(intent_or_order) -> str:
    number = intent_or_order.number if isinstance(intent_or_order, Order) else intent_or_order.order.number
    return f"{settings.CLEARHOUSE_PUBLIC_URL}/pay/{number}/"


def remember(intent: PaymentIntent, remote: ProviderPayment) -> None:
    """Copy what the provider told us that is not a status (references, next action, failure, fee)."""
    intent.provider_reference = intent.provider_reference or remote.provider_reference
    intent.action_url = remote.action_url or ("" if remote.status != IntentStatus.REQUIRES_ACTION
                                              else intent.action_url)
    if remote.qr_code:
        intent.qr_code = remote.qr_code
    if remote.transaction_reference:
        intent.transaction_reference = remote.transaction_reference
    if remote.failure_code:
        intent.failure_code, intent.failure_message = remote.failure_code[:60], remote.failure_message[:300]
    if remote.fee_minor is not None:
        intent.fee_minor = remote.fee_minor


def move(intent: PaymentIntent, to: IntentStatus, *, source: str, actor) -> None:
    """Record a status change (the caller saves the intent)."""
    PaymentStatusChange.objects.create(intent=intent, from_status=intent.status, to_status=to, source=source,
                                       actor=actor_label(actor))
    intent.status = to


def fail(intent: PaymentIntent, *, code: str, message: str, source: str, actor, notify: bool) -> PaymentIntent:
    """A locked intent failed; the customer may start again (and is told, when they are not on the page)."""
    intent.failure_code, intent.failure_message = code[:60], message[:300]
    intent.next_query_at = None
    move(intent, IntentStatus.FAILED, source=source, actor=actor)
    intent.save()
    if notify:
        notices.payment_failed(intent=intent, pay_url=pay_url(intent))
    return intent


def intent_apply(*, intent: PaymentIntent, remote: ProviderPayment, source: str, actor=None) -> bool:
    """Bring a locked intent up to what the provider says; True when its status moved (False: stale or no news)."""
    target = IntentStatus(remote.status.value)
    if target != intent.status and not domain.can_move(intent.status, target):
        if target == IntentStatus.CAPTURED and intent.status in (IntentStatus.CANCELLED, IntentStatus.FAILED):
            _captured_after_we_gave_up(intent, remote)
        return False
    if intent.status == IntentStatus.CAPTURED and intent.fee_minor is None and remote.fee_minor:
        # The fee became known after the capture (a provider reports it with the settlement): book it now.
        intent.fee_minor = remote.fee_minor
        intent.save(update_fields=["fee_minor", "updated_at"])
        effects.book_fee(intent=intent, actor=actor)
        return False
    before = _tracked(intent)
    remember(intent, remote)
    captured_now = target == IntentStatus.CAPTURED and intent.status != IntentStatus.CAPTURED
    secured_now = target in SECURED and intent.status not in SECURED
    if secured_now:
        intent.amount_authorized_minor = remote.amount.minor if remote.amount.currency == intent.currency \
            else intent.amount_minor
    if captured_now:
        intent.amount_captured_minor = remote.amount_captured_minor or intent.amount_minor
        intent.paid_at = timezone.now()
    moved = target != intent.status
    if moved:
        move(intent, target, source=source, actor=actor)
    if target not in (IntentStatus.PROCESSING, IntentStatus.REQUIRES_ACTION, IntentStatus.REQUIRES_PAYMENT):
        intent.next_query_at = None
    if moved or _tracked(intent) != before:
        intent.save()  # every field: callers (offline receipts) set theirs on the locked row before a move
    # else: no news (a duplicate or late notification): nothing to write
    if secured_now or captured_now:
        effects.on_secured(intent=intent, captured_now=captured_now, actor=actor)
    elif moved and target == IntentStatus.FAILED and source != "api":
        notices.payment_failed(intent=intent, pay_url=pay_url(intent))
    return moved


# What intent_apply itself may change without a move: unchanged, the row is not written again.
_APPLIED_FIELDS = ("provider_reference", "action_url", "qr_code", "transaction_reference", "failure_code",
                   "failure_message", "fee_minor", "amount_authorized_minor", "amount_captured_minor", "paid_at",
                   "next_query_at", "status")


def _tracked(intent: PaymentIntent) -> tuple:
    return tuple(getattr(intent, name) for name in _APPLIED_FIELDS)


def _captured_after_we_gave_up(intent: PaymentIntent, remote: ProviderPayment) -> None:
    """The provider took money for a payment we had cancelled or failed (the customer paid an old link):
    nothing moves here, but finance must give it back, so it goes on their exception list."""
    if intent.attention_reason:
        return
    intent.attention_reason = (f"{intent.provider} reports {remote.amount_captured_minor or remote.amount.minor} "
                               f"(minor units) captured for this {intent.status} payment: refund it at the "
                               f"provider.")[:300]
    intent.save(update_fields=["attention_reason", "updated_at"])
