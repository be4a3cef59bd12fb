"""Refunds: requested, approved when large (maker-checker), sent to the provider or paid out by finance.

The intent's row lock serialises refund requests of one payment, so however
many requests race, what is refunded never exceeds what was captured. The
refund is recorded (pending) and committed before the provider is called,
with no transaction held during the call; a crash in between leaves a
pending refund the janitor sends again under the same idempotency key.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from clearhouse.core.audit import actor_label
from clearhouse.core.errors import InvalidTransition, ValidationFailed
from clearhouse.core.money import Money
from clearhouse.ledger.posting_recipes import offline_refund_paid, refund_paid
from clearhouse.orders.domain import OrderStatus
from clearhouse.orders.services import order_cancel, order_transition
from clearhouse.payments import domain
from clearhouse.payments.domain import (
    REFUND_COUNTS,
    AmountMismatch,
    IntentStatus,
    RefundExceedsCaptured,
    RefundState,
    SelfApprovalRefused,
)
from clearhouse.payments.locks import intent_select_for_update, refund_select_for_update
from clearhouse.payments.models import PaymentIntent, Refund
from clearhouse.payments.providers import provider_for
from clearhouse.payments.providers.base import PaymentError, ProviderRefund, ProviderUnavailable
from clearhouse.payments.providers.base import RefundStatus as RemoteRefund
from clearhouse.payments.services import notices
from clearhouse.payments.services.calls import provider_call


def approval_threshold(currency: str) -> Money:
    return Money.parse(settings.REFUND_APPROVAL_THRESHOLD, currency)


def refundable(*, intent: PaymentIntent) -> Money:
    """What can still be refunded: captured minus refunds requested, pending or done."""
    taken = Refund.objects.filter(intent=intent, status__in=sorted(REFUND_COUNTS)).aggregate(
        total=Sum("amount_minor"))["total"] or 0
    return Money(intent.amount_captured_minor - taken, intent.currency)


def refund_request(*, intent: PaymentIntent, amount: Money, reason: str, actor=None, user=None,
                   needs_approval: bool | None = None) -> Refund:
    """Ask to give `amount` back. Above the threshold it waits for a finance manager; otherwise it goes now."""
    refund = _request_record(intent=intent, amount=amount, reason=reason, actor=actor, user=user,
                             needs_approval=needs_approval)
    if refund.status == RefundState.PENDING:
        return _send(refund, actor)
    return refund


@transaction.atomic
def _request_record(*, intent: PaymentIntent, amount: Money, reason: str, actor, user,
                    needs_approval: bool | None) -> Refund:
    reason = (reason or "").strip()
    if not reason or len(reason) > 300:
        raise ValidationFailed("Say why the refund is made (1 to 300 characters).", param="reason")
    locked = intent_select_for_update(intent_id=intent.pk)
    if locked.status != IntentStatus.CAPTURED:
        raise InvalidTransition(f"Payment {locked.reference} is {locked.status}; only captured money can be "
                                f"refunded.", param="status")
    if amount.currency != locked.currency:
        raise AmountMismatch("The refund's currency is not the payment's.", param="currency")
    left = refundable(intent=locked)
    if amount.minor <= 0 or amount.minor > left.minor:
        raise RefundExceedsCaptured(f"At most {left.minor} {left.currency} (minor units) can still be refunded.",
                                    param="amount")
    if needs_approval is None:
        needs_approval = amount.minor > approval_threshold(amount.currency).minor
    return Refund.objects.create(
        reference=domain.new_reference("RF"), intent=locked, order_id=locked.order_id, merchant_id=locked.merchant_id,
        status=RefundState.AWAITING_APPROVAL if needs_approval else RefundState.PENDING, currency=amount.currency,
        amount_minor=amount.minor, reason=reason,
        offline=provider_for(locked.provider, merchant_id=locked.merchant_id).offline,
        requested_by=actor_label(actor or user), requested_by_user=user,
    )


def _check_not_requester(refund: Refund, *, approver, actor) -> None:
    """Maker-checker: a person by their account; an API key (no person behind it) by its label."""
    if refund.requested_by_user_id is not None:
        same = refund.requested_by_user_id == getattr(approver, "pk", None)
    else:
        same = approver is None and actor is not None and refund.requested_by == actor_label(actor)
    if same:
        raise SelfApprovalRefused()


def refund_approve(*, refund: Refund, approver, actor=None) -> Refund:
    """A finance manager other than the requester lets a large refund go."""
    with transaction.atomic():
        locked = refund_select_for_update(refund_id=refund.pk)
        _check_not_requester(locked, approver=approver, actor=actor)
        domain.check_refund_move(locked.status, RefundState.PENDING)
        locked.status, locked.decided_by, locked.decided_at = RefundState.PENDING, \
            actor_label(actor or approver), timezone.now()
        locked.save()
    return _send(locked, actor or approver)


@transaction.atomic
def refund_reject(*, refund: Refund, approver, reason: str = "", actor=None) -> Refund:
    locked = refund_select_for_update(refund_id=refund.pk)
    _check_not_requester(locked, approver=approver, actor=actor)
    domain.check_refund_move(locked.status, RefundState.REJECTED)
    locked.status, locked.decided_by, locked.decided_at = RefundState.REJECTED, actor_label(actor or approver), \
        timezone.now()
    locked.failure_code = (reason or "rejected")[:60]
    locked.save()
    return locked


def _send(refund: Refund, actor) -> Refund:
    """A pending refund: online ones go to the provider now (no transaction held meanwhile); offline ones
    are due for finance to pay out."""
    intent = refund.intent
    if refund.offline:
        with transaction.atomic():
            notices.refund_due_offline(refund=refund)
        return refund
    key = f"{refund.reference}:refund"
    try:
        remote = provider_call(
            provider=intent.provider, operation="refund", request_id=key, refund=refund, intent=intent,
            call=lambda: provider_for(intent.provider, merchant_id=intent.merchant_id).refund(
                provider_reference=intent.provider_reference, amount=Money(refund.amount_minor, refund.currency),
                refund_reference=refund.reference, idempotency_key=key))
    except ProviderUnavailable:
        # Unknown outcome: the janitor asks the provider about this refund (sending it again with its key).
        Refund.objects.filter(pk=refund.pk).update(next_query_at=timezone.now(), updated_at=timezone.now())
        refund.refresh_from_db()
        return refund
    except PaymentError as exc:
        remote = ProviderRefund(provider_reference="", status=RemoteRefund.FAILED,
                                amount=Money(refund.amount_minor, refund.currency),
                                failure_code=getattr(exc, "error_code", exc.code))
    with transaction.atomic():
        locked = refund_select_for_update(refund_id=refund.pk)
        refund_apply(refund=locked, remote=remote, actor=actor)
        return locked


def refund_apply(*, refund: Refund, remote: ProviderRefund, actor=None) -> bool:
    """Bring a locked pending refund up to the provider's answer; on success book it and tell the customer."""
    refund.provider_reference = refund.provider_reference or remote.provider_reference
    if remote.status == RemoteRefund.PENDING or refund.status != RefundState.PENDING:
        refund.save()
        return False
    if remote.status == RemoteRefund.FAILED:
        refund.status, refund.failure_code = RefundState.FAILED, remote.failure_code[:60]
        refund.save()
        return True
    _succeeded(refund, actor)
    refund_paid(refund_id=refund.reference, provider=refund.intent.provider,
                amount=Money(refund.amount_minor, refund.currency), day=timezone.localdate(),
                merchant=refund.merchant_id, actor=actor)
    return True


def _succeeded(refund: Refund, actor) -> None:
    refund.status, refund.succeeded_at, refund.next_query_at = RefundState.SUCCEEDED, timezone.now(), None
    refund.save()
    PaymentIntent.objects.filter(pk=refund.intent_id).update(
        amount_refunded_minor=F("amount_refunded_minor") + refund.amount_minor, updated_at=timezone.now())
    intent = PaymentIntent.objects.select_related("order").get(pk=refund.intent_id)
    if intent.amount_refunded_minor == intent.amount_captured_minor:
        _order_refunded(intent, actor)
    notices.refund_succeeded(refund=refund)


def _order_refunded(intent: PaymentIntent, actor) -> None:
    """All the money went back: a paid, unshipped order is cancelled; a shipped one is refunded."""
    order = intent.order
    if order.status == OrderStatus.PAID:
        order_cancel(order=order, reason="refunded", actor=actor)
    elif order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED):
        order_transition(order=order, to=OrderStatus.REFUNDED, actor=actor, note="refunded in full")


@transaction.atomic
def refund_mark_paid_offline(*, refund: Refund, bank_reference: str, actor=None) -> Refund:
    """Finance transferred an offline refund to the customer: book it with the bank's reference."""
    bank_reference = (bank_reference or "").strip()
    if not bank_reference or len(bank_reference) > 100:
        raise ValidationFailed("The bank's reference for the payout is required.", param="bank_reference")
    locked = refund_select_for_update(refund_id=refund.pk)
    if not locked.offline:
        raise InvalidTransition(f"Refund {locked.reference} goes through the provider.", param="refund")
    if locked.status == RefundState.SUCCEEDED and locked.payout_reference == bank_reference:
        return locked
    domain.check_refund_move(locked.status, RefundState.SUCCEEDED)
    locked.payout_reference = bank_reference
    _succeeded(locked, actor)
    offline_refund_paid(refund_id=locked.reference, amount=Money(locked.amount_minor, locked.currency),
                        day=timezone.localdate(), merchant=locked.merchant_id, actor=actor)
    return locked
