"""Paying an order: start an intent, confirm it with the provider's token, refresh, capture, void.

No database transaction is held while a provider is called: each flow is a
short locked transaction that decides and records what is about to happen,
the provider call (idempotency key derived from our reference, so a retry
or a crash-and-retry cannot charge twice), then a second short transaction
that applies the answer through `intent_apply`. A confirm first moves the
intent to processing and commits: if the process dies before the answer is
applied, the janitor finds the intent in flight and asks the provider.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

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
    PaymentNotReady,
)
from clearhouse.payments.locks import intent_select_for_update
from clearhouse.payments.models import PaymentIntent
from clearhouse.payments.providers import methods_available, provider_for, provider_name_for_method
from clearhouse.payments.providers.base import (
    CreatePayment,
    PaymentDeclined,
    PaymentError,
    ProviderPayment,
    ProviderUnavailable,
)
from clearhouse.payments.services.apply import fail, intent_apply, move, pay_url, remember
from clearhouse.payments.services.calls import provider_call
from clearhouse.payments.services.effects import PAID_OR_LATER

UNPAID = (OrderStatus.SUBMITTED, OrderStatus.APPROVED)
S = IntentStatus


def _check_payable(order: Order, amount: Money | None) -> Money:
    if order.status not in UNPAID:
        if order.status in PAID_OR_LATER:
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


def _apply(intent_id: int, remote: ProviderPayment, *, source: str, actor) -> PaymentIntent:
    with transaction.atomic():
        locked = intent_select_for_update(intent_id=intent_id)
        intent_apply(intent=locked, remote=remote, source=source, actor=actor)
        return locked


# --- start -------------------------------------------------------------------------------------------
def payment_start(*, order: Order, method: str, actor=None, amount: Money | None = None,
                  language: str = "en") -> PaymentIntent:
    """Start paying `order` by `method`, or return the payment already under way by that method.

    Of many concurrent starts one creates the intent (under the order's lock), the rest get it back.
    A waiting payment by another method is voided first.
    """
    if method not in methods_available(merchant_id=order.merchant_id):
        raise PaymentMethodUnavailable(f"{method} is not offered here.", param="method")
    provider_name = provider_name_for_method(method, merchant_id=order.merchant_id)
    for _ in range(2):
        intent, create_at_provider = _start_record(order=order, method=method, provider_name=provider_name,
                                                   actor=actor, amount=amount, language=language)
        if intent.method == method:
            break
        # A waiting payment by another method (found under the order's lock): void it (that may call its
        # provider, so outside any transaction), then start again.
        payment_void(intent=intent, actor=actor, reason="replaced by another method")
    else:
        raise InvalidTransition(f"A {intent.method} payment of order {order.number} is under way.", param="method")
    if create_at_provider:
        return _create_at_provider(intent, actor=actor)
    return intent


@transaction.atomic
def _start_record(*, order: Order, method: str, provider_name: str, actor, amount: Money | None,
                  language: str) -> tuple[PaymentIntent, bool]:
    """Under the order's lock: the live intent by `method` (created now, or the one under way), or a live
    intent by another method that can be voided (returned as it is, for the caller to void)."""
    order = order_lock(order_id=order.pk)
    due = _check_payable(order, amount)
    live = PaymentIntent.objects.filter(order=order, status__in=sorted(LIVE)).first()
    if live is not None:
        if live.status in SECURED:
            raise OrderAlreadyPaid(f"Order {order.number} is already paid.", param="order")
        if live.method != method:
            if live.status != S.PROCESSING:
                return live, False
            raise InvalidTransition(f"A {live.method} payment of order {order.number} is under way.",
                                    param="method")
        # Created but never registered at the provider (its caller died): register it now, same key.
        unregistered = not live.provider_reference and \
            live.created_at < timezone.now() - timedelta(seconds=2 * settings.PAYMENT_PROVIDER_TIMEOUT_S)
        return live, unregistered
    offline = provider_for(provider_name, merchant_id=order.merchant_id).offline
    reference = domain.new_reference("PAY")
    intent = PaymentIntent.objects.create(
        reference=reference, order=order, merchant_id=order.merchant_id, customer_id=order.customer_id,
        method=method, provider=provider_name, capture_method=_capture_method(method), currency=due.currency,
        amount_minor=due.minor, language=language[:10], provider_reference=reference if offline else "",
    )
    if method == Method.BANK_TRANSFER:
        days = getattr(settings, "BANK_TRANSFER_PAYMENT_DAYS", 3)
        order_payment_window_extend(order=order, until=timezone.now() + timedelta(days=days), actor=actor)
    return intent, not offline


def notify_url(intent: PaymentIntent) -> str:
    """Where the provider posts its webhooks: per account, so the right keys verify them."""
    adapter = provider_for(intent.provider, merchant_id=intent.merchant_id)
    account = getattr(adapter, "account_id", None)
    suffix = f"{account}/" if account else ""
    return f"{settings.CLEARHOUSE_PUBLIC_URL}/webhooks/{intent.provider}/{suffix}"


def _capture_method(method: str) -> str:
    if method == Method.CARD and settings.PAYMENT_CAPTURE_METHOD == CaptureMethod.MANUAL:
        return CaptureMethod.MANUAL
    return CaptureMethod.AUTOMATIC


def _create_at_provider(intent: PaymentIntent, *, actor) -> PaymentIntent:
    order = intent.order
    key = f"{intent.reference}:create"
    try:
        remote = provider_call(
            provider=intent.provider, operation="create", request_id=key, intent=intent,
            call=lambda: provider_for(intent.provider, merchant_id=intent.merchant_id).create(CreatePayment(
                intent_reference=intent.reference, amount=Money(intent.amount_minor, intent.currency),
                manual_capture=intent.capture_method == CaptureMethod.MANUAL,
                return_url=f"{pay_url(order)}return/{intent.reference}/",
                notify_url=notify_url(intent),
                description=f"Order {order.number}", idempotency_key=key)))
    except PaymentError as exc:
        # Nothing can have been paid yet: fail this try so the customer can start again at once.
        with transaction.atomic():
            locked = intent_select_for_update(intent_id=intent.pk)
            if locked.status == S.REQUIRES_PAYMENT:
                fail(locked, code=getattr(exc, "error_code", exc.code), message=exc.message, source="api",
                     actor=actor, notify=False)
        raise
    with transaction.atomic():
        locked = intent_select_for_update(intent_id=intent.pk)
        remember(locked, remote)
        locked.save(update_fields=["provider_reference", "action_url", "qr_code", "transaction_reference",
                                   "updated_at"])
        return locked


# --- confirm -----------------------------------------------------------------------------------------
def payment_confirm(*, intent: PaymentIntent, payment_token: str, actor=None) -> PaymentIntent:
    """Pay with the token from the provider's hosted form. Returns the intent as it now stands.

    A decline leaves the intent failed (the customer may start again, by any
    method); transient errors are retried; when retries run out or the call
    times out the outcome is unknown: the intent stays processing and is
    resolved by the provider's webhook or the janitor's query. A second
    confirm while one is in flight returns the intent as it stands.
    """
    locked, go = _confirm_begin(intent.pk, actor)
    if not go:
        return locked
    key = f"{locked.reference}:confirm:{payment_token}"[:200]
    remote = _ask_in_flight(locked, "confirm", key, actor, lambda: provider_for(
        locked.provider, merchant_id=locked.merchant_id).confirm(
            provider_reference=locked.provider_reference, payment_token=payment_token,
            return_url=f"{pay_url(locked)}return/{locked.reference}/", idempotency_key=key))
    if isinstance(remote, PaymentIntent):
        return remote
    return _apply(locked.pk, remote, source="api", actor=actor)


def _ask_in_flight(locked: PaymentIntent, operation: str, key: str, actor, call) -> ProviderPayment | PaymentIntent:
    """Call the provider for a payment marked processing: its answer, or the intent as the failure left it.

    A decline or a refusal of the request itself (a bad or used token) fails the payment; no answer at all
    leaves the outcome unknown (see `_outcome_unknown`).
    """
    try:
        return provider_call(provider=locked.provider, operation=operation, request_id=key, intent=locked,
                             call=call)
    except PaymentDeclined as exc:
        return _failed_if_processing(locked.pk, code=exc.decline_code, message=exc.message, actor=actor)
    except ProviderUnavailable as exc:
        return _outcome_unknown(locked.pk, exc, actor=actor)
    except PaymentError as exc:
        return _failed_if_processing(locked.pk, code=getattr(exc, "error_code", exc.code), message=exc.message,
                                     actor=actor)


def payment_return(*, intent: PaymentIntent, params: dict[str, str], actor=None) -> PaymentIntent:
    """The customer is back from the provider's page: let the adapter finish (PayPal captures the approved
    order) or report, then apply. Like confirm, the intent is processing (committed) while we ask."""
    adapter = provider_for(intent.provider, merchant_id=intent.merchant_id)
    if not hasattr(adapter, "handle_return"):
        return payment_refresh(intent=intent, actor=actor)
    current = PaymentIntent.objects.select_related("order").get(pk=intent.pk)
    if current.status in (S.CAPTURED, S.FAILED, S.CANCELLED):
        return current  # settled already (a webhook got there first): the customer sees the outcome
    locked, go = _confirm_begin(intent.pk, actor)
    if not go:
        return locked
    key = f"{locked.reference}:return"
    remote = _ask_in_flight(locked, "return", key, actor, lambda: adapter.handle_return(
        provider_reference=locked.provider_reference, params=params, idempotency_key=key))
    if isinstance(remote, PaymentIntent):
        return remote
    if remote.status == S.REQUIRES_PAYMENT:
        # Nothing happened yet at the provider (the customer came back early): back to waiting.
        with transaction.atomic():
            waiting = intent_select_for_update(intent_id=locked.pk)
            if waiting.status == S.PROCESSING:
                move(waiting, S.REQUIRES_ACTION, source="api", actor=actor)
                waiting.save()
            return waiting
    return _apply(locked.pk, remote, source="api", actor=actor)


@transaction.atomic
def _confirm_begin(intent_id: int, actor) -> tuple[PaymentIntent, bool]:
    locked = intent_select_for_update(intent_id=intent_id)
    if locked.status in SECURED or locked.status == S.PROCESSING:
        return locked, False
    if locked.status not in (S.REQUIRES_PAYMENT, S.REQUIRES_ACTION):
        raise InvalidTransition(f"Payment {locked.reference} is {locked.status}; it cannot be confirmed.",
                                param="status")
    if provider_for(locked.provider, merchant_id=locked.merchant_id).offline:
        raise InvalidTransition(f"{locked.method} payments are recorded by staff, not confirmed online.",
                                param="method")
    if not locked.provider_reference:
        raise PaymentNotReady(f"Payment {locked.reference} is still being set up with {locked.provider}.")
    if locked.order.status not in UNPAID:
        raise OrderNotPayable(f"Order {locked.order.number} is {locked.order.status}; it cannot be paid.",
                              param="order")
    move(locked, S.PROCESSING, source="api", actor=actor)
    locked.save()
    return locked, True


@transaction.atomic
def _failed_if_processing(intent_id: int, *, code: str, message: str, actor) -> PaymentIntent:
    locked = intent_select_for_update(intent_id=intent_id)
    if locked.status == S.PROCESSING:
        fail(locked, code=code, message=message, source="api", actor=actor, notify=False)
    return locked


def _outcome_unknown(intent_id: int, exc: ProviderUnavailable, *, actor) -> PaymentIntent:
    """The provider did not answer usefully. Ask it once what happened; if it cannot say, the janitor will."""
    intent = PaymentIntent.objects.select_related("order").get(pk=intent_id)
    remote = None
    if not exc.timed_out:
        try:
            remote = provider_call(provider=intent.provider, operation="query", intent=intent, retry=False,
                                   request_id=f"{intent.reference}:query",
                                   call=lambda: provider_for(intent.provider, merchant_id=intent.merchant_id).query(
                                       provider_reference=intent.provider_reference))
        except PaymentError:
            remote = None
    with transaction.atomic():
        locked = intent_select_for_update(intent_id=intent_id)
        if locked.status != S.PROCESSING:
            return locked
        if remote is not None and remote.status in (S.REQUIRES_PAYMENT, S.FAILED):
            # The provider never took it: a final failure, and the customer hears how to pay again.
            return fail(locked, code=exc.error_code, message=exc.message, source="api", actor=actor, notify=True)
        if remote is not None:
            intent_apply(intent=locked, remote=remote, source="query", actor=actor)
            return locked
        locked.failure_code = exc.error_code[:60]
        locked.next_query_at = timezone.now() + timedelta(seconds=settings.PAYMENT_STUCK_AFTER_S)
        locked.save()
        return locked


# --- refresh, capture, void ---------------------------------------------------------------------------
def payment_refresh(*, intent: PaymentIntent, actor=None, source: str = "query") -> PaymentIntent:
    """Ask the provider where a payment stands and apply the answer (the return page does this)."""
    intent = PaymentIntent.objects.select_related("order").get(pk=intent.pk)
    adapter = provider_for(intent.provider, merchant_id=intent.merchant_id)
    if intent.status in (S.CAPTURED, S.FAILED, S.CANCELLED) or adapter.offline or not intent.provider_reference:
        return intent
    remote = provider_call(provider=intent.provider, operation="query", request_id=f"{intent.reference}:query",
                           intent=intent, retry=False,
                           call=lambda: provider_for(intent.provider, merchant_id=intent.merchant_id).query(
                               provider_reference=intent.provider_reference))
    return _apply(intent.pk, remote, source=source, actor=actor)


def payment_capture(*, intent: PaymentIntent, amount: Money | None = None, actor=None) -> PaymentIntent:
    """Capture an authorized payment, all of it or part (the rest of the hold is released)."""
    locked = PaymentIntent.objects.select_related("order").get(pk=intent.pk)
    if locked.status != S.AUTHORIZED:
        raise InvalidTransition(f"Payment {locked.reference} is {locked.status}; only an authorized payment "
                                f"can be captured.", param="status")
    if amount is not None:
        if amount.currency != locked.currency:
            raise AmountMismatch("The capture's currency is not the payment's.", param="currency")
        if amount.minor <= 0 or amount.minor > locked.amount_authorized_minor:
            raise CaptureExceedsAuthorized(f"At most {locked.amount_authorized_minor} (minor units) can be "
                                           f"captured.", param="amount")
    key = f"{locked.reference}:capture"
    remote = provider_call(provider=locked.provider, operation="capture", request_id=key, intent=locked,
                           call=lambda: provider_for(locked.provider, merchant_id=locked.merchant_id).capture(
                               provider_reference=locked.provider_reference, amount=amount, idempotency_key=key))
    return _apply(locked.pk, remote, source="api", actor=actor)


VOIDABLE = (S.REQUIRES_PAYMENT, S.REQUIRES_ACTION, S.AUTHORIZED)


def payment_void(*, intent: PaymentIntent, actor=None, reason: str = "voided") -> PaymentIntent:
    """Cancel a payment before any money was taken (an authorization's hold is released).

    Voiding the authorization of a paid order cancels the order: it has no money behind it any more.
    """
    current = PaymentIntent.objects.select_related("order").get(pk=intent.pk)
    if current.status == S.CANCELLED:
        return current
    if current.status not in VOIDABLE:
        raise InvalidTransition(f"Payment {current.reference} is {current.status}; it cannot be voided.",
                                param="status")
    provider = provider_for(current.provider, merchant_id=current.merchant_id)
    if current.provider_reference and not provider.offline:
        key = f"{current.reference}:cancel"
        provider_call(provider=current.provider, operation="cancel", request_id=key, intent=current,
                      call=lambda: provider.cancel(provider_reference=current.provider_reference,
                                                   idempotency_key=key))
    with transaction.atomic():
        locked = intent_select_for_update(intent_id=current.pk)
        if locked.status not in VOIDABLE:
            return locked  # a webhook moved it meanwhile; the provider refused nothing, so nothing to undo here
        was_authorized = locked.status == S.AUTHORIZED
        move(locked, S.CANCELLED, source="api", actor=actor)
        locked.next_query_at = None
        locked.save()
        if was_authorized and locked.order.status == OrderStatus.PAID:
            order_cancel(order=locked.order, reason=f"payment {reason}", actor=actor)
        return locked


def payment_give_back(*, reference: str) -> str:
    """Give back, in full, money that arrived for an order that can no longer take it (see effects)."""
    from clearhouse.payments.services.refunds import refund_request, refundable

    intent = PaymentIntent.objects.select_related("order").get(reference=reference)
    if intent.status == S.AUTHORIZED:
        payment_void(intent=intent, actor="system:payments", reason="order no longer payable")
        return "voided"
    left = refundable(intent=intent)
    if intent.status != S.CAPTURED or left.minor <= 0:
        return "nothing to give back"
    refund_request(intent=intent, amount=left, actor="system:payments",
                   reason=f"Order {intent.order.number} was no longer payable when the payment arrived",
                   needs_approval=False)
    return "refunded"
