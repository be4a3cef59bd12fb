"""Adapter for Stripe (PaymentIntents, Refunds, signed webhooks) through the official `stripe` SDK.

Wire protocol (Stripe v1, spoken by the SDK): `Authorization: Bearer sk_...`,
form-encoded bodies (`metadata[reference]=PAY-1`), JSON answers, an
`Idempotency-Key` header on every POST (ours, derived from the intent's
reference, so a retry after a timeout cannot charge twice). The API base is
`account.settings["api_base"]` (default https://api.stripe.com; the simulator
at /sandbox/stripe in the demo and tests). The SDK does no retries of its own
(`max_network_retries=0`: Clearhouse's provider_call retries) and sends its
requests through `StripeHTTPClient`, an `stripe.HTTPClient` on Clearhouse's
httpx `provider_client` (our timeout, the tests' in-process transport).

Customer step: `create` returns `action_url` = the payment page, which
confirms the PaymentIntent in the browser (Stripe.js `confirmPayment`, or the
simulator's page) and redirects to our return URL with `payment_intent`,
`payment_intent_client_secret` and `redirect_status`. `handle_return` trusts
none of those: it retrieves the PaymentIntent. Live, the page is one that runs
Stripe.js with the publishable key and the client secret (settings
"payment_page"); the simulator serves `<api_base>/pay/<id>/`.

Amounts: Stripe's integer `amount` in the currency's Stripe unit. Mostly the
ISO minor unit; zero-decimal currencies (JPY) are whole units; ISK and UGX
are sent with two decimals and must be whole (x100); three-decimal currencies
(KWD, BHD, JOD, OMR, TND) must end in 0, so a KWD amount that is not a
multiple of 0.010 is refused here (ProviderRejected `amount_precision`) rather
than rounded (https://docs.stripe.com/currencies).

Fees: Stripe reports them on the charge's balance transaction. Payment reads
expand `latest_charge.balance_transaction` and fill `fee_minor` from its
`fee` when it is in the payment's currency (a fee in another settlement
currency is left unknown, None). A `payment_intent.succeeded` webhook carries
no fee, so parse_webhook asks for it once (best effort).

Webhooks: `Stripe-Signature: t=...,v1=...` verified by the SDK's
`WebhookSignature.verify_header` with the endpoint secret (whsec_...) and
300 s tolerance, on the raw body. Acknowledged with HTTP 200.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import stripe
from django.conf import settings

from clearhouse.core.errors import DomainError
from clearhouse.core.money import Money, currency_exponent
from clearhouse.payments.providers.base import (
    CreatePayment,
    PaymentDeclined,
    PaymentError,
    ProviderPayment,
    ProviderRefund,
    ProviderRejected,
    ProviderStatus,
    ProviderUnavailable,
    RefundStatus,
    WebhookAck,
    WebhookEvent,
    WebhookRejected,
)
from clearhouse.payments.providers.http import provider_client, provider_request

logger = logging.getLogger(__name__)

# No request metrics in headers and no telemetry id file under ~/.config: nothing but the API calls we make.
stripe.enable_telemetry = False

DEFAULT_API_BASE = "https://api.stripe.com"
SIGNATURE_HEADER = "Stripe-Signature"
SIGNATURE_TOLERANCE_S = 300  # stripe.Webhook.DEFAULT_TOLERANCE
PAYMENT_EXPAND = ["latest_charge.balance_transaction"]
# The events Clearhouse's endpoint subscribes to (anything else is answered 4xx by the core).
WEBHOOK_EVENTS = (
    "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.amount_capturable_updated",
    "payment_intent.canceled", "payment_intent.processing", "payment_intent.requires_action",
    "refund.created", "refund.updated", "refund.failed",
)

STATUSES = {
    "requires_payment_method": ProviderStatus.REQUIRES_PAYMENT,
    "requires_confirmation": ProviderStatus.REQUIRES_PAYMENT,
    "requires_action": ProviderStatus.REQUIRES_ACTION,
    "processing": ProviderStatus.PROCESSING,
    "requires_capture": ProviderStatus.AUTHORIZED,
    "succeeded": ProviderStatus.CAPTURED,
    "canceled": ProviderStatus.CANCELLED,
}
REFUND_STATUSES = {"pending": RefundStatus.PENDING, "requires_action": RefundStatus.PENDING,
                   "succeeded": RefundStatus.SUCCEEDED, "failed": RefundStatus.FAILED,
                   "canceled": RefundStatus.FAILED}

# --- amounts (https://docs.stripe.com/currencies) -------------------------------------------------------
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
                          "VUV", "XAF", "XOF", "XPF"})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
WHOLE_HUNDREDS = frozenset({"ISK", "UGX"})  # zero-decimal, but sent with two decimals (a multiple of 100)


def stripe_exponent(currency: str) -> int:
    """Decimal places of Stripe's integer amount for `currency` (upper case)."""
    if currency in WHOLE_HUNDREDS:
        return 2
    if currency in ZERO_DECIMAL:
        return 0
    return 3 if currency in THREE_DECIMAL else 2


def to_stripe_amount(amount: Money) -> int:
    """Our minor units as Stripe's integer amount; refused (never rounded) when Stripe cannot charge it exactly."""
    shift = stripe_exponent(amount.currency) - currency_exponent(amount.currency)
    if shift >= 0:
        value = amount.minor * 10**shift
    else:
        value, rest = divmod(amount.minor, 10**-shift)
        if rest:
            raise ProviderRejected(f"Stripe charges {amount.currency} in whole units only.",
                                   error_code="amount_precision")
    if amount.currency in THREE_DECIMAL and value % 10:
        raise ProviderRejected(f"Stripe charges {amount.currency} only in multiples of 0.010.",
                               error_code="amount_precision")
    return value


def from_stripe_amount(value: int, currency: str) -> Money:
    """Stripe's integer amount for `currency` (any case) as Money in the currency's minor units."""
    code = currency.upper()
    shift = stripe_exponent(code) - currency_exponent(code)
    if shift <= 0:
        return Money(value * 10**-shift, code)
    minor, rest = divmod(value, 10**shift)
    if rest:
        raise ProviderRejected(f"Stripe sent a {code} amount finer than the currency's minor unit.",
                               error_code="amount_precision")
    return Money(minor, code)


# --- the SDK's HTTP, on our client --------------------------------------------------------------------------
class StripeHTTPClient(stripe.HTTPClient):
    """The SDK's transport: Clearhouse's httpx client (our timeout, the tests' in-process transport).

    A timeout or connection failure surfaces as ProviderUnavailable straight through the SDK (it only
    intercepts its own APIConnectionError, and retries nothing with max_network_retries=0)."""

    name = "clearhouse-httpx"

    def __init__(self, *, api_base: str, timeout_s: float):
        super().__init__()
        self._api_base, self._timeout_s = api_base, timeout_s

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        with provider_client(self._api_base, timeout_s=self._timeout_s) as client:
            response = provider_request(client, method.upper(), url, headers=dict(headers or {}),
                                        content=post_data.encode() if isinstance(post_data, str) else post_data)
        return response.content, response.status_code, response.headers

    def request_stream(self, method, url, headers, post_data=None, *, _usage=None):
        raise NotImplementedError("Clearhouse reads no streamed Stripe responses.")

    def close(self) -> None:
        return None


# --- Stripe objects in our words -------------------------------------------------------------------------
def _id(value) -> str:
    if isinstance(value, Mapping):
        return str(value.get("id") or "")
    return str(value or "")


def _fee(charge, currency: str) -> int | None:
    txn = charge.get("balance_transaction") if isinstance(charge, Mapping) else None
    if not isinstance(txn, Mapping) or txn.get("fee") is None:
        return None
    if str(txn.get("currency", "")).upper() != currency.upper():
        return None  # settled in another currency: not a fee on this payment's amount
    return from_stripe_amount(int(txn["fee"]), currency).minor


def payment_from_intent(obj: Mapping, *, pay_page: str = "") -> ProviderPayment:
    """A PaymentIntent in our words. A decline leaves it requires_payment_method with last_payment_error:
    that is FAILED (the customer starts a new payment)."""
    error = obj.get("last_payment_error") or {}
    status = STATUSES[obj["status"]]
    if status == ProviderStatus.REQUIRES_PAYMENT and error:
        status = ProviderStatus.FAILED
    currency = str(obj["currency"])
    charge = obj.get("latest_charge")
    action_url = ""
    if status == ProviderStatus.REQUIRES_ACTION:
        action_url = ((obj.get("next_action") or {}).get("redirect_to_url") or {}).get("url") or ""
    elif status == ProviderStatus.REQUIRES_PAYMENT and pay_page:
        return_url = (obj.get("metadata") or {}).get("return_url") or ""
        action_url = _with_query(pay_page, return_url=return_url) if return_url else pay_page
    return ProviderPayment(
        provider_reference=obj["id"],
        status=status,
        amount=from_stripe_amount(int(obj["amount"]), currency),
        amount_captured_minor=from_stripe_amount(int(obj.get("amount_received") or 0), currency).minor,
        amount_refunded_minor=from_stripe_amount(int(charge.get("amount_refunded") or 0), currency).minor
        if isinstance(charge, Mapping) else 0,
        fee_minor=_fee(charge, currency),
        action_url=action_url,
        failure_code=str(error.get("decline_code") or error.get("code") or ""),
        failure_message=str(error.get("message") or ""),
        transaction_reference=_id(charge) if status in (ProviderStatus.AUTHORIZED, ProviderStatus.CAPTURED) else "",
    )


def refund_from_object(obj: Mapping) -> ProviderRefund:
    return ProviderRefund(
        provider_reference=obj["id"],
        status=REFUND_STATUSES.get(obj.get("status") or "", RefundStatus.PENDING),
        amount=from_stripe_amount(int(obj["amount"]), str(obj["currency"])),
        payment_reference=_id(obj.get("payment_intent")),
        failure_code=str(obj.get("failure_reason") or ""),
    )


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


_SECRETS = re.compile(r"\b(sk|rk|whsec)_[A-Za-z0-9_]+")


def _scrub(message: str | None) -> str | None:
    """Stripe echoes (masked) keys in some messages: never let one reach our logs or the customer."""
    return _SECRETS.sub("[redacted]", message) if message else message


def _translate(exc: stripe.StripeError) -> PaymentError:
    """The SDK's error tree onto ours: card errors are declines, 5xx / 409 / 429 transient, the rest refusals."""
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = str(error.get("code") or exc.code or "")
    message = _scrub(error.get("message") or exc.user_message or None)
    status = exc.http_status
    if isinstance(exc, stripe.CardError):
        return PaymentDeclined(message, decline_code=str(error.get("decline_code") or code or "card_declined"))
    if isinstance(exc, stripe.IdempotencyError):
        return ProviderRejected(message, error_code="idempotency_error")
    if isinstance(exc, stripe.RateLimitError) or status is None or status >= 500 or status == 409:
        return ProviderUnavailable(message, error_code=code or ("api_error" if status else "invalid_response"))
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return ProviderRejected(message, error_code=code or "authentication_error")
    return ProviderRejected(message, error_code=code or str(error.get("type") or "invalid_request_error"))


class StripeProvider:
    """Clearhouse's client for one Stripe account (secret key + webhook endpoint secret)."""

    name = "stripe"
    offline = False

    def __init__(self, *, secret_key: str, webhook_secret: str = "", api_base: str = DEFAULT_API_BASE,
                 pay_page: str = "", timeout_s: float | None = None):
        assert secret_key, "a Stripe account needs its secret key"
        self._secret_key, self._webhook_secret = secret_key, webhook_secret
        self._api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self._pay_page = pay_page or f"{self._api_base}/pay/{{id}}/"
        self._timeout_s = timeout_s
        self.account_id: int | None = None  # set when built from a ProviderAccount

    @classmethod
    def from_account(cls, account) -> StripeProvider:
        """From a ProviderAccount: settings {"api_base", "payment_page"}, secrets {"secret_key", "webhook_secret"}."""
        secrets = json.loads(account.secrets or "{}")
        return cls(secret_key=secrets.get("secret_key", ""), webhook_secret=secrets.get("webhook_secret", ""),
                   api_base=account.settings.get("api_base") or DEFAULT_API_BASE,
                   pay_page=account.settings.get("payment_page") or "")

    def __repr__(self) -> str:  # never the keys
        return f"<StripeProvider {self._api_base} account={self.account_id}>"

    # --- the SDK ----------------------------------------------------------------------------------
    def _client(self) -> stripe.StripeClient:
        timeout_s = self._timeout_s if self._timeout_s is not None else settings.PAYMENT_PROVIDER_TIMEOUT_S
        return stripe.StripeClient(self._secret_key, base_addresses={"api": self._api_base}, max_network_retries=0,
                                   http_client=StripeHTTPClient(api_base=self._api_base, timeout_s=timeout_s))

    def _call(self, operation, *args, **kwargs) -> dict:
        """Run one SDK call; its errors become ours. Returns the object as plain dicts."""
        try:
            return operation(self._client().v1, *args, **kwargs).to_dict()
        except stripe.StripeError as exc:
            raise _translate(exc) from None

    def _payment(self, obj: Mapping) -> ProviderPayment:
        return payment_from_intent(obj, pay_page=self._pay_page.replace("{id}", str(obj["id"])))

    # --- payments ---------------------------------------------------------------------------------
    def create(self, request: CreatePayment) -> ProviderPayment:
        """A PaymentIntent waiting for the card; action_url is the payment page, which returns to return_url."""
        metadata = {"reference": request.intent_reference}
        if request.return_url:
            metadata["return_url"] = request.return_url
        obj = self._call(lambda v1: v1.payment_intents.create(params={
            "amount": to_stripe_amount(request.amount), "currency": request.amount.currency.lower(),
            "capture_method": "manual" if request.manual_capture else "automatic",
            "description": request.description[:1000], "metadata": metadata, "payment_method_types": ["card"],
        }, options={"idempotency_key": request.idempotency_key}))
        return self._payment(obj)

    def confirm(self, *, provider_reference: str, payment_token: str, return_url: str,
                idempotency_key: str) -> ProviderPayment:
        """Confirm with a PaymentMethod id from Stripe.js (never card data). A decline raises PaymentDeclined."""
        params = {"payment_method": payment_token, "expand": PAYMENT_EXPAND}
        if return_url:
            params["return_url"] = return_url
        return self._payment(self._call(lambda v1: v1.payment_intents.confirm(
            provider_reference, params=params, options={"idempotency_key": idempotency_key})))

    def capture(self, *, provider_reference: str, amount: Money | None, idempotency_key: str) -> ProviderPayment:
        params: dict = {"expand": PAYMENT_EXPAND}
        if amount is not None:
            params["amount_to_capture"] = to_stripe_amount(amount)
        return self._payment(self._call(lambda v1: v1.payment_intents.capture(
            provider_reference, params=params, options={"idempotency_key": idempotency_key})))

    def cancel(self, *, provider_reference: str, idempotency_key: str) -> ProviderPayment:
        return self._payment(self._call(lambda v1: v1.payment_intents.cancel(
            provider_reference, params={"expand": PAYMENT_EXPAND}, options={"idempotency_key": idempotency_key})))

    def refund(self, *, provider_reference: str, amount: Money, refund_reference: str,
               idempotency_key: str) -> ProviderRefund:
        return refund_from_object(self._call(lambda v1: v1.refunds.create(params={
            "payment_intent": provider_reference, "amount": to_stripe_amount(amount),
            "metadata": {"reference": refund_reference},
        }, options={"idempotency_key": idempotency_key})))

    def query(self, *, provider_reference: str) -> ProviderPayment:
        return self._payment(self._call(lambda v1: v1.payment_intents.retrieve(
            provider_reference, params={"expand": PAYMENT_EXPAND})))

    def query_refund(self, *, provider_refund_reference: str) -> ProviderRefund:
        return refund_from_object(self._call(lambda v1: v1.refunds.retrieve(provider_refund_reference)))

    def handle_return(self, *, provider_reference: str, params: Mapping[str, str],
                      idempotency_key: str) -> ProviderPayment:
        """Back from the payment page. Its query string (payment_intent, redirect_status) is not trusted:
        the PaymentIntent is retrieved and says where the payment stands."""
        if params.get("payment_intent") and params["payment_intent"] != provider_reference:
            logger.warning("stripe return names another PaymentIntent than ours (%s); ignoring it",
                           provider_reference)
        return self.query(provider_reference=provider_reference)

    def test_connection(self) -> str:
        """A harmless read: an unknown PaymentIntent must be a clean 404, which proves the key works."""
        try:
            self.query(provider_reference="pi_connection_test")
        except ProviderRejected as exc:
            return "ok" if exc.error_code == "resource_missing" else f"refused: {exc.error_code}: {exc.message}"
        except ProviderUnavailable as exc:
            return f"unreachable: {exc.error_code}"
        return "ok"

    # --- webhooks ---------------------------------------------------------------------------------
    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify `Stripe-Signature` with the SDK (HMAC-SHA256 over "<t>.<raw body>", any v1, 300 s tolerance)
        and translate the event: payment_intent.* carry a payment, refund.* a refund, others neither."""
        if not self._webhook_secret:
            raise WebhookRejected("No webhook signing secret is configured for this Stripe account.")
        try:
            stripe.WebhookSignature.verify_header(body, _header(headers, SIGNATURE_HEADER), self._webhook_secret,
                                                  SIGNATURE_TOLERANCE_S)
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected(f"Stripe signature refused: {exc.user_message or 'invalid'}"[:200]) from None
        except UnicodeDecodeError:
            raise WebhookRejected("The notification body is not UTF-8.") from None
        try:
            event = json.loads(body)
            obj = event["data"]["object"]
            kind = obj.get("object")
            payment = self._payment(obj) if kind == "payment_intent" else None
            refund = refund_from_object(obj) if kind == "refund" else None
            occurred_at = datetime.fromtimestamp(int(event["created"]), tz=UTC)
        except (ValueError, KeyError, TypeError, AttributeError, DomainError) as exc:
            raise WebhookRejected("The notification could not be understood.") from exc
        if payment is not None and event["type"] == "payment_intent.succeeded" and payment.fee_minor is None:
            payment = self._with_fee(payment)
        return WebhookEvent(event_id=str(event["id"]), type=str(event["type"]), occurred_at=occurred_at,
                            payment=payment, refund=refund, raw=event)

    def _with_fee(self, payment: ProviderPayment) -> ProviderPayment:
        """Events carry no balance transaction: ask once for the fee, so the capture books it (best effort)."""
        try:
            fee = self.query(provider_reference=payment.provider_reference).fee_minor
        except PaymentError:
            return payment
        return replace(payment, fee_minor=fee)

    def webhook_ack(self) -> WebhookAck:
        return WebhookAck()


def _header(headers: Mapping[str, str], name: str) -> str:
    """Header lookup that ignores case (Django's request.headers does; a plain dict does not)."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""
