"""Paying an order: start an intent, confirm it with the provider's token, capture, void, and apply
whatever a provider says about it (API answer, webhook, query) monotonically.

`intent_apply` is the one place an intent's status moves. It consults the
transition table: an answer that would move the intent backwards (a late
"processing" after "captured") changes nothing. Effects of reaching a
state (ledger, order paid, notices) run exactly once because they run only
on the transition into that state, under the intent's row lock.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clearhouse.core.audit import actor_label
from clearhouse.core.errors import InvalidTransition
from clearhouse.core.money import Money
from clearhouse.orders.domain import OrderStatus
from clearhouse.orders.models import Order
from clearhouse.orders.services import order_cancel, order_lock, order_payment_window_extend
from clearhouse.payments import domain
from clearhouse.payments.domain import (
    LIVE,
    SECURED,
    AmountMismatch,
    CaptureExceedsAuthorized,
    CaptureMethod,
    IntentStatus,
    Method,
    OrderAlreadyPaid,
    OrderNotPayable,
    PaymentMethodUnavailable,
)
from clearhouse.payments.locks import intent_select_for_update
from clearhouse.payments.models import PaymentIntent, PaymentStatusChange
from clearhouse.payments.providers import methods_available, provider_for, provider_name_for_method
from clearhouse.payments.providers.base import CreatePayment, PaymentDeclined, ProviderPayment, ProviderUnavailable
from clearhouse.payments.services import effects, notices
from clearhouse.payments.services.calls import provider_call

UNPAID = (OrderStatus.SUBMITTED, OrderStatus.APPROVED)


def pay_url(intent_or_order) -> str:
    number = intent_or_order.number if isinstance(intent_or_order, Order) else intent_or_order.order.number
    return f"{settings.CLEARHOUSE_PUBLIC_URL}/pay/{number}/"


def _check_payable(order: Order, amount: Money | None) -> Money:
    if order.status not in UNPAID:
        if order.status in effects.PAID_OR_LATER:
            raise OrderAlreadyPaid(f"Order {order.number} is already paid.", param="order")
        raise OrderNotPayable(f"Order {order.number} is {order.status}; it cannot be paid.", param="order")
    if order.expires_at is not None and timezone.now() >= order.expires_at:
        raise OrderNotPayable(f"Order {order.number} expired unpaid.", param="order")
    due = Money(order.total_minor, order.currency)
    if due.minor <= 0:
        raise OrderNotPayable(f"Order {order.number} has nothing to pay.", param="order")
    if amount is not None and amount != due:
        param = "currency" if amount.currency != due.currency else "amount"
        raise AmountMismatch(f"Order {order.number} is due {due.minor} {due.currency} (minor units), "
                             f"not {amount.minor} {amount.currency}.", param=param)
    return due


@transaction.atomic
def payment_start(*, order: Order, method: str, actor=None, amount: Money | None = None,
                  language: str = "en") -> PaymentIntent:
    """Start paying `order` by `method`, or return the payment already under way by that method.

    Locks the order: of many concurrent starts one creates the intent, the rest get it back.
    A live payment by another method (not yet in flight) is cancelled first.
    """
    if method not in methods_available():
        raise PaymentMethodUnavailable(f"{method} is not offered here.", param="method")
    provider_name = provider_name_for_method(method)
    order = order_lock(order_id=order.pk)
    due = _check_payable(order, amount)
    live = PaymentIntent.objects.filter(order=order, status__in=sorted(LIVE)).first()
    if live is not None:
        if live.status in SECURED:
            raise OrderAlreadyPaid(f"Order {order.number} is already paid.", param="order")
        if live.method == method:
            return live
        if live.status == IntentStatus.PROCESSING:
            raise InvalidTransition(f"A {live.method} payment of order {order.number} is being processed.",
                                    param="method")
        payment_void(intent=live, actor=actor)
    intent = PaymentIntent.objects.create(
        reference=domain.new_reference("PAY"), order=order, merchant_id=order.merchant_id,
        customer_id=order.customer_id, method=method, provider=provider_name,
        capture_method=_capture_method(method), currency=due.currency, amount_minor=due.minor,
        language=language[:10],
    )
    provider = provider_for(provider_name)
    remote = provider_call(
        provider=provider_name, operation="create", request_id=f"{intent.reference}:create", intent=intent,
        call=lambda: provider.create(CreatePayment(
            intent_reference=intent.reference, amount=due,
            manual_capture=intent.capture_method == CaptureMethod.MANUAL,
            return_url=f"{pay_url(order)}return/{intent.reference}/",
            notify_url=f"{settings.CLEARHOUSE_PUBLIC_URL}/webhooks/{provider_name}/",
            description=f"Order {order.number}", idempotency_key=f"{intent.reference}:create")),
    )
    _remember(intent, remote)
    intent.save(update_fields=["provider_reference", "action_url", "transaction_reference", "updated_at"])
    if method == Method.BANK_TRANSFER:
        days = getattr(settings, "BANK_TRANSFER_PAYMENT_DAYS", 3)
        order_payment_window_extend(order=order, until=timezone.now() + timedelta(days=days), actor=actor)
    return intent


def _capture_method(method: str) -> str:
    if method == Method.CARD and settings.PAYMENT_CAPTURE_METHOD == CaptureMethod.MANUAL:
        return CaptureMethod.MANUAL
    return CaptureMethod.AUTOMATIC


def _remember(intent: PaymentIntent, remote: ProviderPayment) -> None:
    """Copy what the provider told us that is not a status (references, next action, failure, fee)."""
    intent.provider_reference = intent.provider_reference or remote.provider_reference
    intent.action_url = remote.action_url or ("" if remote.status != IntentStatus.REQUIRES_ACTION
                                              else intent.action_url)
    if remote.transaction_reference:
        intent.transaction_reference = remote.transaction_reference
    if remote.failure_code:
        intent.failure_code, intent.failure_message = remote.failure_code[:60], remote.failure_message[:300]
    if remote.fee_minor is not None:
        intent.fee_minor = remote.fee_minor


def _move(intent: PaymentIntent, to: IntentStatus, *, source: str, actor) -> None:
    PaymentStatusChange.objects.create(intent=intent, from_status=intent.status, to_status=to, source=source,
                                       actor=actor_label(actor))
    intent.status = to


def intent_apply(*, intent: PaymentIntent, remote: ProviderPayment, source: str, actor=None) -> bool:
    """Bring a locked intent up to what the provider says; True when its status moved (False: stale or no news).

    The effects of reaching authorized or captured run here, once, on the transition.
    """
    target = IntentStatus(remote.status.value)
    if target != intent.status and not domain.can_move(intent.status, target):
        return False
    _remember(intent, remote)
    captured_now = target == IntentStatus.CAPTURED and intent.status != IntentStatus.CAPTURED
    secured_now = target in SECURED and intent.status not in SECURED
    if target == IntentStatus.AUTHORIZED or (secured_now and not intent.amount_authorized_minor):
        intent.amount_authorized_minor = remote.amount.minor if remote.amount.currency == intent.currency \
            else intent.amount_minor
    if captured_now:
        intent.amount_captured_minor = remote.amount_captured_minor or intent.amount_minor
        intent.paid_at = timezone.now()
    moved = target != intent.status
    if moved:
        _move(intent, target, source=source, actor=actor)
    intent.next_query_at = None if target not in (IntentStatus.PROCESSING, IntentStatus.REQUIRES_ACTION) \
        else intent.next_query_at
    intent.save()
    if secured_now or captured_now:
        effects.on_secured(intent=intent, captured_now=captured_now, actor=actor)
    elif moved and target == IntentStatus.FAILED and source != "api":
        notices.payment_failed(intent=intent, pay_url=pay_url(intent))
    return moved


def _check_order_still_payable(intent: PaymentIntent) -> None:
    order = intent.order
    if order.status not in UNPAID:
        raise OrderNotPayable(f"Order {order.number} is {order.status}; it cannot be paid.", param="order")


@transaction.atomic
def payment_confirm(*, intent: PaymentIntent, payment_token: str, actor=None) -> PaymentIntent:
    """Pay with the token from the provider's hosted form. Returns the intent as it now stands.

    A decline leaves the intent failed (the customer may start again, by any
    method); transient errors are retried; when retries run out or the call
    times out the outcome is unknown: the intent stays processing and is
    resolved by the provider's webhook or the janitor's query.
    """
    locked = intent_select_for_update(intent_id=intent.pk)
    if locked.status in SECURED:
        return locked
    if locked.status not in (IntentStatus.REQUIRES_PAYMENT, IntentStatus.REQUIRES_ACTION):
        raise InvalidTransition(f"Payment {locked.reference} is {locked.status}; it cannot be confirmed.",
                                param="status")
    _check_order_still_payable(locked)
    provider = provider_for(locked.provider)
    key = f"{locked.reference}:confirm:{payment_token}"[:200]
    try:
        remote = provider_call(
            provider=locked.provider, operation="confirm", request_id=key, intent=locked,
            call=lambda: provider.confirm(provider_reference=locked.provider_reference, payment_token=payment_token,
                                          return_url=f"{pay_url(locked)}return/{locked.reference}/",
                                          idempotency_key=key))
    except PaymentDeclined as exc:
        locked.failure_code, locked.failure_message = exc.decline_code[:60], exc.message[:300]
        _move(locked, IntentStatus.FAILED, source="api", actor=actor)
        locked.save()
        return locked
    except ProviderUnavailable as exc:
        return _outcome_unknown(locked, exc, actor=actor)
    # A provider (or an in-process simulator) may have called our webhook before answering; what that
    # applied is in the row, not in our copy of it.
    locked.refresh_from_db(fields=["status", "amount_captured_minor", "paid_at"])
    intent_apply(intent=locked, remote=remote, source="api", actor=actor)
    return locked


def _outcome_unknown(intent: PaymentIntent, exc: ProviderUnavailable, *, actor) -> PaymentIntent:
    """The provider did not answer usefully. Ask it once what happened; if it cannot say, leave it to the janitor."""
    if not exc.timed_out:
        try:
            remote = provider_call(provider=intent.provider, operation="query", intent=intent, retry=False,
                                   request_id=f"{intent.reference}:query",
                                   call=lambda: provider_for(intent.provider).query(
                                       provider_reference=intent.provider_reference))
        except ProviderUnavailable:
            remote = None
        if remote is not None and remote.status in (IntentStatus.REQUIRES_PAYMENT, IntentStatus.FAILED):
            intent.failure_code, intent.failure_message = exc.error_code[:60], exc.message[:300]
            _move(intent, IntentStatus.FAILED, source="api", actor=actor)
            intent.save()
            notices.payment_failed(intent=intent, pay_url=pay_url(intent))
            return intent
        if remote is not None:
            intent_apply(intent=intent, remote=remote, source="query", actor=actor)
            return intent
    if intent.status != IntentStatus.PROCESSING:
        _move(intent, IntentStatus.PROCESSING, source="api", actor=actor)
    intent.failure_code = exc.error_code[:60]
    intent.next_query_at = timezone.now() + timedelta(seconds=settings.PAYMENT_STUCK_AFTER_S)
    intent.save()
    return intent


@transaction.atomic
def payment_refresh(*, intent: PaymentIntent, actor=None, source: str = "query") -> PaymentIntent:
    """Ask the provider where a payment stands and apply the answer (the return page and the janitor do this)."""
    locked = intent_select_for_update(intent_id=intent.pk)
    if locked.status in (IntentStatus.CAPTURED, IntentStatus.FAILED, IntentStatus.CANCELLED) or \
            provider_for(locked.provider).offline or not locked.provider_reference:
        return locked
    remote = provider_call(provider=locked.provider, operation="query", request_id=f"{locked.reference}:query",
                           intent=locked, retry=False,
                           call=lambda: provider_for(locked.provider).query(
                               provider_reference=locked.provider_reference))
    intent_apply(intent=locked, remote=remote, source=source, actor=actor)
    return locked


@transaction.atomic
def payment_capture(*, intent: PaymentIntent, amount: Money | None = None, actor=None) -> PaymentIntent:
    """Capture an authorized payment, all of it or part (the rest of the hold is released)."""
    locked = intent_select_for_update(intent_id=intent.pk)
    if locked.status != IntentStatus.AUTHORIZED:
        raise InvalidTransition(f"Payment {locked.reference} is {locked.status}; only an authorized payment "
                                f"can be captured.", param="status")
    if amount is not None:
        if amount.currency != locked.currency:
            raise AmountMismatch("The capture's currency is not the payment's.", param="currency")
        if amount.minor <= 0 or amount.minor > locked.amount_authorized_minor:
            raise CaptureExceedsAuthorized(f"At most {locked.amount_authorized_minor} (minor units) can be "
                                           f"captured.", param="amount")
    provider = provider_for(locked.provider)
    key = f"{locked.reference}:capture"
    remote = provider_call(provider=locked.provider, operation="capture", request_id=key, intent=locked,
                           call=lambda: provider.capture(provider_reference=locked.provider_reference,
                                                         amount=amount, idempotency_key=key))
    intent_apply(intent=locked, remote=remote, source="api", actor=actor)
    return locked


@transaction.atomic
def payment_void(*, intent: PaymentIntent, actor=None, reason: str = "voided") -> PaymentIntent:
    """Cancel a payment before any money was taken (an authorization's hold is released).

    Voiding the authorization of a paid order cancels the order: it has no money behind it any more.
    """
    locked = intent_select_for_update(intent_id=intent.pk)
    if locked.status == IntentStatus.CANCELLED:
        return locked
    if locked.status not in (IntentStatus.REQUIRES_PAYMENT, IntentStatus.REQUIRES_ACTION, IntentStatus.AUTHORIZED):
        raise InvalidTransition(f"Payment {locked.reference} is {locked.status}; it cannot be voided.",
                                param="status")
    was_authorized = locked.status == IntentStatus.AUTHORIZED
    provider = provider_for(locked.provider)
    if locked.provider_reference and not provider.offline:
        key = f"{locked.reference}:cancel"
        provider_call(provider=locked.provider, operation="cancel", request_id=key, intent=locked,
                      call=lambda: provider.cancel(provider_reference=locked.provider_reference, idempotency_key=key))
    _move(locked, IntentStatus.CANCELLED, source="api", actor=actor)
    locked.save()
    if was_authorized and locked.order.status == OrderStatus.PAID:
        order_cancel(order=locked.order, reason=f"payment {reason}", actor=actor)
    return locked
