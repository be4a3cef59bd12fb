"""Writes of the Stripe simulator: accounts, PaymentIntents, charges, refunds, test controls.

Each service runs in the caller's transaction (the API wraps one per request)
and emits Stripe's events on every change. Errors are `StripeError`s, which
the API answers in Stripe's error shape. A card decline is kept on the
PaymentIntent (requires_payment_method with last_payment_error, a failed
charge) and answered 402, as Stripe does.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from clearhouse.sandbox.stripe.domain import (
    CANCELABLE,
    CANCELLATION_REASONS,
    CARD_BY_TOKEN,
    CONFIRMABLE,
    DECLINES,
    REFUND_REASONS,
    Behaviour,
    IntentStatus,
    StripeError,
    check_amount,
    fee_minor,
    int_param,
    invalid_request,
    key_digest,
    new_id,
    new_secret,
    resource_missing,
    unexpected_state,
)
from clearhouse.sandbox.stripe.models import (
    Account,
    BalanceTransaction,
    Charge,
    PaymentIntent,
    PaymentMethod,
    Refund,
    WebhookEndpoint,
)
from clearhouse.sandbox.stripe.selectors import charge_json, intent_json, refund_json
from clearhouse.sandbox.stripe.webhooks import event_emit


# --- accounts ----------------------------------------------------------------------------------------
def account_create(*, name: str, fee_rate: str = "0.0290", fee_fixed: int = 0) -> Account:
    """A test-mode account with freshly generated keys (never fixed in the repository). The secret key is
    on the returned object only (`account.secret_key`): the table keeps its digest."""
    secret_key = new_secret("sk_test")
    account = Account.objects.create(id=new_id("acct", 16), name=name, secret_key_sha256=key_digest(secret_key),
                                     publishable_key=new_secret("pk_test"), fee_rate=Decimal(fee_rate),
                                     fee_fixed=fee_fixed)
    account.secret_key = secret_key
    return account


def endpoint_create(*, account: Account, url: str, enabled_events: list[str]) -> WebhookEndpoint:
    """Register a webhook endpoint; its signing secret is generated here and shown to the merchant."""
    return WebhookEndpoint.objects.create(id=new_id("we"), account=account, url=url, secret=new_secret("whsec"),
                                          enabled_events=list(enabled_events) or ["*"])


def _emit_intent(intent: PaymentIntent, type: str, key: str = "") -> None:
    event_emit(account=intent.account, type=f"payment_intent.{type}", obj=intent_json(intent), idempotency_key=key)


# --- payment intents ---------------------------------------------------------------------------------
def payment_intent_create(*, account: Account, params: dict, key: str = "") -> PaymentIntent:
    """A PaymentIntent waiting for a payment method; with confirm=true it is confirmed at once."""
    amount = int_param(params.get("amount"), "amount")
    currency = str(params.get("currency") or "").lower()
    if len(currency) != 3 or not currency.isalpha():
        raise invalid_request("Invalid currency: must be a three-letter ISO code.", code="parameter_invalid_currency"
                              if currency else "parameter_missing", param="currency")
    check_amount(amount, currency)
    capture_method = params.get("capture_method", "automatic")
    if capture_method not in ("automatic", "automatic_async", "manual"):
        raise invalid_request("Invalid capture_method.", code="parameter_invalid_enum", param="capture_method")
    metadata = params.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise invalid_request("Invalid metadata: must be a hash.", code="parameter_invalid", param="metadata")
    pi_id = new_id("pi")
    intent = PaymentIntent.objects.create(
        id=pi_id, account=account, client_secret=f"{pi_id}_secret_{new_id('s', 20)[2:]}", amount=amount,
        currency=currency, capture_method=capture_method, description=str(params.get("description") or "")[:1000],
        metadata={str(k)[:40]: str(v)[:500] for k, v in metadata.items()},
        return_url=str(params.get("return_url") or "")[:2000],
    )
    event_emit(account=account, type="payment_intent.created", obj=intent_json(intent), idempotency_key=key)
    if str(params.get("confirm", "")).lower() == "true":
        return payment_intent_confirm(account=account, intent_id=intent.pk, params=params, key=key)
    return intent


def _payment_method(account: Account, ident: str) -> PaymentMethod:
    card = CARD_BY_TOKEN.get(ident)
    if card is not None:  # Stripe's documented test PaymentMethods: a fresh pm_ each time
        return PaymentMethod.objects.create(id=new_id("pm"), account=account, brand="visa", last4=card.number[-4:],
                                            exp_month=12, exp_year=date.today().year + 5, behaviour=card.behaviour)
    method = PaymentMethod.objects.filter(pk=ident, account=account).first()
    if method is None:
        raise resource_missing("PaymentMethod", ident, param="payment_method")
    return method


def _locked(account: Account, intent_id: str) -> PaymentIntent:
    intent = PaymentIntent.objects.select_for_update(of=("self",)).filter(pk=intent_id, account=account).first()
    if intent is None:
        raise resource_missing("payment_intent", intent_id, param="intent")
    return intent


def payment_intent_confirm(*, account: Account, intent_id: str, params: dict, key: str = "") -> PaymentIntent:
    """Charge the card; the test card decides: success, decline (402, kept), or 3-D Secure (requires_action)."""
    intent = _locked(account, intent_id)
    if intent.status not in CONFIRMABLE:
        raise unexpected_state(intent.status, "confirm")
    ident = str(params.get("payment_method") or intent.payment_method_id or "")
    if not ident:
        raise invalid_request("You cannot confirm this PaymentIntent because it's missing a payment method.",
                              code="payment_intent_unexpected_state", param="payment_method")
    intent.payment_method = _payment_method(account, ident)
    intent.return_url = str(params.get("return_url") or intent.return_url)[:2000]
    intent.last_payment_error = None
    behaviour = Behaviour(intent.payment_method.behaviour)
    if behaviour == Behaviour.REQUIRE_3DS:
        intent.status = IntentStatus.REQUIRES_ACTION
        intent.save()
        _emit_intent(intent, "requires_action", key)
        return intent
    if behaviour in DECLINES:
        raise decline(intent, *DECLINES[behaviour], key=key)
    _charge(intent, key)
    return intent


def decline(intent: PaymentIntent, code: str, decline_code: str, message: str, *, key: str = "",
            error_type: str = "card_error") -> StripeError:
    """Record a failed charge on the intent (back to requires_payment_method) and return the 402 to raise."""
    charge = Charge.objects.create(id=new_id("ch"), account=intent.account, payment_intent=intent,
                                   payment_method=intent.payment_method, amount=intent.amount,
                                   currency=intent.currency, status="failed", failure_code=code,
                                   failure_message=message)
    error = {"type": error_type, "code": code, "message": message, "charge": charge.pk,
             "payment_method": {"id": intent.payment_method_id, "object": "payment_method", "type": "card"}}
    if decline_code:
        error["decline_code"] = decline_code
    intent.status, intent.latest_charge, intent.last_payment_error = (IntentStatus.REQUIRES_PAYMENT_METHOD, charge,
                                                                      error)
    intent.save()
    event_emit(account=intent.account, type="charge.failed", obj=charge_json(charge), idempotency_key=key)
    _emit_intent(intent, "payment_failed", key)
    return StripeError(status=402, type=error_type, code=code, decline_code=decline_code, message=message,
                       payment_intent=intent_json(intent))


def _charge(intent: PaymentIntent, key: str = "") -> None:
    """The card is good: authorize, and capture at once unless capture_method is manual."""
    charge = Charge.objects.create(id=new_id("ch"), account=intent.account, payment_intent=intent,
                                   payment_method=intent.payment_method, amount=intent.amount,
                                   currency=intent.currency, status="succeeded")
    intent.latest_charge = charge
    if intent.capture_method == "manual":
        intent.status, intent.amount_capturable = IntentStatus.REQUIRES_CAPTURE, intent.amount
        intent.save()
        event_emit(account=intent.account, type="charge.succeeded", obj=charge_json(charge), idempotency_key=key)
        _emit_intent(intent, "amount_capturable_updated", key)
    else:
        _capture(intent, charge, intent.amount, key)


def _capture(intent: PaymentIntent, charge: Charge, amount: int, key: str = "") -> None:
    account = intent.account
    txn = BalanceTransaction.objects.create(
        id=new_id("txn"), account=account, type="charge", amount=amount, currency=intent.currency, source=charge.pk,
        fee=fee_minor(amount=amount, rate=account.fee_rate, fixed=account.fee_fixed))
    charge.captured, charge.amount_captured, charge.balance_transaction = True, amount, txn
    charge.save()
    intent.status, intent.amount_capturable, intent.amount_received = IntentStatus.SUCCEEDED, 0, amount
    intent.save()
    event_emit(account=account, type="charge.succeeded" if intent.capture_method != "manual" else "charge.captured",
               obj=charge_json(charge), idempotency_key=key)
    _emit_intent(intent, "succeeded", key)


def payment_intent_authenticate(*, intent_id: str, approve: bool) -> PaymentIntent:
    """The customer's answer on the 3-D Secure page: complete the payment, or fail it."""
    intent = PaymentIntent.objects.select_for_update(of=("self",)).filter(pk=intent_id).first()
    if intent is None:
        raise resource_missing("payment_intent", intent_id)
    if intent.status != IntentStatus.REQUIRES_ACTION:
        raise unexpected_state(intent.status, "authentication")
    if approve:
        _charge(intent)
    else:
        decline(intent, "payment_intent_authentication_failure", "",
                "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a "
                "new PaymentMethod to attempt to fulfill this PaymentIntent again.", error_type="invalid_request_error")
    return intent


def payment_intent_capture(*, account: Account, intent_id: str, params: dict, key: str = "") -> PaymentIntent:
    """Capture an authorized intent once, all or part (`amount_to_capture`); the rest of the hold is released."""
    intent = _locked(account, intent_id)
    if intent.status != IntentStatus.REQUIRES_CAPTURE:
        raise unexpected_state(intent.status, "capture")
    amount = intent.amount_capturable
    if params.get("amount_to_capture") is not None:
        amount = int_param(params["amount_to_capture"], "amount_to_capture")
        check_amount(amount, intent.currency, "amount_to_capture")
        if amount > intent.amount_capturable:
            raise invalid_request("The amount to capture must be no greater than the amount capturable.",
                                  code="amount_too_large", param="amount_to_capture")
    _capture(intent, intent.latest_charge, amount, key)
    return intent


def payment_intent_cancel(*, account: Account, intent_id: str, params: dict, key: str = "") -> PaymentIntent:
    """Cancel an intent not yet captured; a held amount is released."""
    intent = _locked(account, intent_id)
    if intent.status not in CANCELABLE:
        raise unexpected_state(intent.status, "cancel")
    reason = params.get("cancellation_reason") or ""
    if reason and reason not in CANCELLATION_REASONS:
        raise invalid_request("Invalid cancellation_reason.", code="parameter_invalid_enum",
                              param="cancellation_reason")
    intent.status, intent.amount_capturable = IntentStatus.CANCELED, 0
    intent.cancellation_reason, intent.canceled_at = reason, timezone.now()
    intent.save()
    _emit_intent(intent, "canceled", key)
    return intent


# --- refunds -----------------------------------------------------------------------------------------
def refund_create(*, account: Account, params: dict, key: str = "") -> Refund:
    """Give back part or all of a captured charge (by `payment_intent` or `charge`); never more than is left."""
    charge = _refundable_charge(account, params)
    remaining = charge.amount_captured - charge.amount_refunded
    if remaining <= 0:
        raise invalid_request(f"Charge {charge.pk} has already been refunded.", code="charge_already_refunded")
    amount = remaining if params.get("amount") is None else int_param(params["amount"], "amount")
    check_amount(amount, charge.currency)
    if amount > remaining:
        raise invalid_request(f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                              code="amount_too_large", param="amount")
    reason = params.get("reason") or ""
    if reason and reason not in REFUND_REASONS:
        raise invalid_request("Invalid reason.", code="parameter_invalid_enum", param="reason")
    metadata = params.get("metadata") if isinstance(params.get("metadata"), dict) else {}
    refund = Refund.objects.create(id=new_id("re"), account=account, charge=charge, amount=amount,
                                   currency=charge.currency, reason=reason,
                                   status="pending" if account.pending_refunds else "succeeded",
                                   metadata={str(k)[:40]: str(v)[:500] for k, v in metadata.items()})
    Charge.objects.filter(pk=charge.pk).update(amount_refunded=F("amount_refunded") + amount)
    charge.refresh_from_db()
    if refund.status == "succeeded":
        _book_refund(refund)
    event_emit(account=account, type="charge.refunded", obj=charge_json(charge), idempotency_key=key)
    event_emit(account=account, type="refund.created", obj=refund_json(refund), idempotency_key=key)
    return refund


def _refundable_charge(account: Account, params: dict) -> Charge:
    if params.get("payment_intent"):
        intent = PaymentIntent.objects.filter(pk=params["payment_intent"], account=account).first()
        if intent is None:
            raise resource_missing("payment_intent", str(params["payment_intent"]), param="payment_intent")
        if intent.status != IntentStatus.SUCCEEDED:
            raise invalid_request(f"This PaymentIntent ({intent.pk}) does not have a successful charge to refund.",
                                  code="charge_not_refundable", param="payment_intent")
        charge = intent.latest_charge
    elif params.get("charge"):
        charge = Charge.objects.filter(pk=params["charge"], account=account).first()
        if charge is None:
            raise resource_missing("charge", str(params["charge"]), param="charge")
    else:
        raise invalid_request("One of the following params should be provided for this request: payment_intent or "
                              "charge.", code="parameter_missing")
    return Charge.objects.select_for_update(of=("self",)).get(pk=charge.pk)


def _book_refund(refund: Refund) -> None:
    refund.balance_transaction = BalanceTransaction.objects.create(
        id=new_id("txn"), account=refund.account, type="refund", amount=-refund.amount, currency=refund.currency,
        source=refund.pk)
    refund.save(update_fields=["balance_transaction"])


def refunds_settle(*, account: Account, fail: bool = False) -> int:
    """Test control: every pending refund of the account succeeds (or fails, giving the money back to the charge)."""
    settled = 0
    for refund in Refund.objects.select_for_update(of=("self",)).filter(account=account, status="pending"):
        refund.status = "failed" if fail else "succeeded"
        refund.save(update_fields=["status"])
        if fail:
            Charge.objects.filter(pk=refund.charge_id).update(amount_refunded=F("amount_refunded") - refund.amount)
        else:
            _book_refund(refund)
        event_emit(account=account, type="refund.failed" if fail else "refund.updated", obj=refund_json(refund))
        settled += 1
    return settled


# --- test controls -----------------------------------------------------------------------------------
CONTROL_FIELDS = {"fail_next_calls": int, "slow_next_calls": int, "slow_s": float, "drop_webhooks": bool,
                  "hold_webhooks": bool, "duplicate_webhooks": int, "pending_refunds": bool}


def controls_update(*, account: Account, params: dict) -> Account:
    """Set the account's fault switches (form values "true"/"false" and numbers); unknown names are refused."""
    unknown = set(params) - set(CONTROL_FIELDS)
    if unknown:
        raise invalid_request(f"Received unknown parameter: {sorted(unknown)[0]}", code="parameter_unknown",
                              param=sorted(unknown)[0])
    for name, value in params.items():
        kind = CONTROL_FIELDS[name]
        try:
            if kind is bool:
                if str(value).lower() not in ("true", "false"):
                    raise ValueError
                parsed = str(value).lower() == "true"
            else:
                parsed = kind(str(value))
                if parsed < 0:
                    raise ValueError
        except ValueError:
            raise invalid_request(f"Invalid value for {name}.", code="parameter_invalid", param=name) from None
        setattr(account, name, parsed)
    account.save()
    return account


def controls_take(*, account: Account, name: str) -> bool:
    """True (and one fewer left) when a `fail_next_calls` / `slow_next_calls` fault is due for this call."""
    assert name in ("fail_next_calls", "slow_next_calls")
    return bool(Account.objects.filter(pk=account.pk, **{f"{name}__gt": 0}).update(**{name: F(name) - 1}))
