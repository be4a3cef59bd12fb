"""Writes of the sandbox card provider: payment intents, cards, refunds and test controls.

Each service is one transaction and emits a webhook on every status change.
Errors are `SandboxError`s, which the API turns into Stripe-style JSON errors.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F

from clearhouse.sandbox.domain import (
    CANCELABLE,
    CARD_BY_TOKEN,
    Behaviour,
    IntentStatus,
    SandboxError,
    card_behaviour,
    card_brand,
    expiry_in_future,
    fee_minor,
    invalid_request,
    luhn_valid,
    new_id,
    unexpected_state,
)
from clearhouse.sandbox.models import PaymentIntent, PaymentMethod, Refund, TestControls
from clearhouse.sandbox.selectors import controls_get, intent_get, intent_json, refund_json
from clearhouse.sandbox.webhooks import webhook_event_emit


def _locked(intent_id: str) -> PaymentIntent:
    intent_get(intent_id=intent_id)  # 404 if unknown
    return PaymentIntent.objects.select_for_update(of=("self",)).select_related("payment_method").get(pk=intent_id)


def _emit(intent: PaymentIntent, type: str) -> None:
    webhook_event_emit(type=f"payment_intent.{type}", obj=intent_json(intent), notify_url=intent.notify_url)


def _positive_int(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise invalid_request("parameter_invalid_integer", f"{name} must be a positive integer (minor units).")
    return value


def payment_intent_create(*, amount: int, currency: str, capture_method: str, reference: str,
                          description: str = "", notify_url: str = "", return_url: str = "") -> PaymentIntent:
    """A new payment waiting for a card (requires_payment_method). No webhook: nothing has happened yet."""
    _positive_int(amount, "amount")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise invalid_request("parameter_invalid_currency", "currency must be a three-letter code such as cny.")
    if capture_method not in ("automatic", "manual"):
        raise invalid_request("parameter_invalid_capture_method", "capture_method is automatic or manual.")
    return PaymentIntent.objects.create(
        id=new_id("pi"), amount=amount, currency=currency.lower(), capture_method=capture_method,
        reference=str(reference or "")[:200], description=str(description or "")[:500],
        notify_url=str(notify_url or ""), return_url=str(return_url or ""),
    )


def payment_method_create(*, intent: PaymentIntent, number: str, exp_month: int, exp_year: int,
                          today: date) -> PaymentMethod:
    """Tokenise a card typed on the hosted form. Keeps brand, last four, expiry and test behaviour only."""
    if not luhn_valid(number) or not expiry_in_future(month=exp_month, year=exp_year, today=today):
        raise invalid_request("invalid_card", "The card number or expiry is not valid.")
    return PaymentMethod.objects.create(
        id=new_id("pm"), intent=intent, brand=card_brand(number), last4=number[-4:],
        exp_month=exp_month, exp_year=exp_year, behaviour=card_behaviour(number),
    )


def _payment_method_for(intent: PaymentIntent, payment_method_id: str) -> PaymentMethod:
    """A card from this intent's hosted form, or a documented test token such as pm_card_visa."""
    card = CARD_BY_TOKEN.get(payment_method_id)
    if card is not None:
        return PaymentMethod.objects.create(id=new_id("pm"), intent=intent, brand="visa", last4=card.number[-4:],
                                            exp_month=12, exp_year=date.today().year + 5, behaviour=card.behaviour)
    method = PaymentMethod.objects.filter(pk=payment_method_id, intent=intent).first()
    if method is None:
        raise SandboxError(status=400, type="invalid_request_error", code="resource_missing",
                           message=f"No such payment_method for this payment intent: {payment_method_id!r}.")
    return method


def _complete(intent: PaymentIntent) -> None:
    """The card was charged: captured at once (automatic) or held for a later capture (manual)."""
    intent.charge = new_id("ch")
    if intent.capture_method == "manual":
        intent.status, intent.amount_capturable = IntentStatus.REQUIRES_CAPTURE, intent.amount
        intent.save()
        _emit(intent, "amount_capturable_updated")
    else:
        _capture(intent, intent.amount)


def _capture(intent: PaymentIntent, amount: int) -> None:
    rate = Decimal(settings.CLEARHOUSE_SANDBOX_FEE_RATE)
    intent.status, intent.amount_capturable, intent.amount_received = IntentStatus.SUCCEEDED, 0, amount
    intent.fee = fee_minor(amount_received_minor=amount, fee_rate=rate)
    intent.save()
    _emit(intent, "succeeded")


def _fail(intent: PaymentIntent, *, code: str, decline_code: str, message: str) -> None:
    intent.status = IntentStatus.REQUIRES_PAYMENT_METHOD
    intent.last_error_code, intent.last_error_decline_code, intent.last_error_message = code, decline_code, message
    intent.save()
    _emit(intent, "payment_failed")


def card_declined(intent: PaymentIntent) -> SandboxError:
    error = SandboxError(status=402, type="card_error", code=intent.last_error_code,
                         decline_code=intent.last_error_decline_code, message=intent.last_error_message)
    error.payment_intent = intent_json(intent)
    return error


def payment_intent_confirm(*, intent_id: str, payment_method_id: str, return_url: str = "") -> PaymentIntent:
    """Charge the card: the test card's behaviour decides. A decline answers 402 but is kept on the
    intent (requires_payment_method with last_payment_error), as Stripe does; a processing error
    (500) changes nothing."""
    with transaction.atomic():
        intent = _locked(intent_id)
        if intent.status != IntentStatus.REQUIRES_PAYMENT_METHOD:
            raise unexpected_state(intent.status, "confirm")
        method = _payment_method_for(intent, str(payment_method_id or ""))
        if method.behaviour == Behaviour.PROCESSING_ERROR:
            raise SandboxError(status=500, type="api_error", code="processing_error",
                               message="An error occurred while processing the card. Try again.")
        intent.payment_method, intent.return_url = method, str(return_url or intent.return_url)
        intent.last_error_code = intent.last_error_decline_code = intent.last_error_message = ""
        if method.behaviour == Behaviour.DECLINE_INSUFFICIENT_FUNDS:
            _fail(intent, code="card_declined", decline_code="insufficient_funds",
                  message="Your card has insufficient funds.")
        elif method.behaviour == Behaviour.REQUIRE_3DS:
            intent.status = IntentStatus.REQUIRES_ACTION
            intent.save()
            _emit(intent, "requires_action")
        else:
            _complete(intent)
    if intent.last_error_code:
        raise card_declined(intent)
    return intent


def payment_intent_authenticate(*, intent_id: str, approve: bool) -> PaymentIntent:
    """The customer's answer to the 3-D Secure challenge: approve completes the payment, deny fails it."""
    with transaction.atomic():
        intent = _locked(intent_id)
        if intent.status != IntentStatus.REQUIRES_ACTION:
            raise unexpected_state(intent.status, "authenticate")
        if approve:
            _complete(intent)
        else:
            _fail(intent, code="authentication_failed", decline_code="",
                  message="The customer failed 3-D Secure authentication.")
    return intent


def payment_intent_capture(*, intent_id: str, amount_to_capture: int | None = None) -> PaymentIntent:
    """Capture a held payment once, all or part of it; the rest of the hold is released."""
    with transaction.atomic():
        intent = _locked(intent_id)
        if intent.status != IntentStatus.REQUIRES_CAPTURE:
            raise unexpected_state(intent.status, "capture")
        amount = intent.amount_capturable if amount_to_capture is None else _positive_int(
            amount_to_capture, "amount_to_capture")
        if amount > intent.amount_capturable:
            raise invalid_request("amount_too_large", "amount_to_capture exceeds the amount capturable.")
        _capture(intent, amount)
    return intent


def payment_intent_cancel(*, intent_id: str) -> PaymentIntent:
    """Void a payment not yet captured; a held amount is released."""
    with transaction.atomic():
        intent = _locked(intent_id)
        if intent.status not in CANCELABLE:
            raise unexpected_state(intent.status, "cancel")
        intent.status, intent.amount_capturable = IntentStatus.CANCELED, 0
        intent.save()
        _emit(intent, "canceled")
    return intent


def refund_create(*, intent_id: str, amount: int | None, reference: str = "") -> Refund:
    """Give back part or all of a captured payment; refunds never exceed what was received minus
    what was already refunded. The sandbox settles a refund at once (refund.succeeded)."""
    with transaction.atomic():
        intent = _locked(intent_id)
        if intent.status != IntentStatus.SUCCEEDED:
            raise invalid_request("charge_not_refundable", "Only a succeeded payment intent can be refunded.")
        remaining = intent.amount_received - intent.amount_refunded
        amount = remaining if amount is None else _positive_int(amount, "amount")
        if amount > remaining or amount <= 0:
            raise invalid_request("amount_too_large",
                                  f"The refund amount exceeds the refundable amount ({remaining}).")
        refund = Refund.objects.create(id=new_id("re"), intent=intent, amount=amount, currency=intent.currency,
                                       reference=str(reference or "")[:200])
        intent.amount_refunded += amount
        intent.save(update_fields=["amount_refunded"])
        webhook_event_emit(type="refund.succeeded", obj=refund_json(refund), notify_url=intent.notify_url)
    return refund


def controls_update(*, drop_webhooks: bool | None = None, duplicate_webhooks: int | None = None,
                    hold_webhooks: bool | None = None, fail_next_calls: int | None = None) -> TestControls:
    """Set the sandbox's fault switches; a value not given is left as it is."""
    controls = controls_get()
    for name, value in (("drop_webhooks", drop_webhooks), ("hold_webhooks", hold_webhooks)):
        if value is not None:
            if not isinstance(value, bool):
                raise invalid_request("parameter_invalid_boolean", f"{name} must be true or false.")
            setattr(controls, name, value)
    for name, value in (("duplicate_webhooks", duplicate_webhooks), ("fail_next_calls", fail_next_calls)):
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise invalid_request("parameter_invalid_integer", f"{name} must be a whole number >= 0.")
            setattr(controls, name, value)
    controls.save()
    return controls


def controls_take_failure() -> bool:
    """True (and one fewer left) when a `fail_next_calls` failure is due for this API call."""
    return bool(TestControls.objects.filter(pk=1, fail_next_calls__gt=0).update(
        fail_next_calls=F("fail_next_calls") - 1))
