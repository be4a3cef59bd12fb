"""Adapter for PayPal Checkout (Orders v2 + Payments v2 REST), over plain httpx.

Wire protocol (base URL from the account's settings["api_base"]: https://api-m.paypal.com,
https://api-m.sandbox.paypal.com, or the local simulator under /sandbox/paypal):

- OAuth2 client credentials: `POST /v1/oauth2/token` with Basic client_id:secret and
  `grant_type=client_credentials` gives a bearer token and its `expires_in`. Tokens are cached
  per account in this process and fetched again when expired or when a call answers 401.
- `POST /v2/checkout/orders` (intent CAPTURE; manual capture is not offered for PayPal) with
  return_url and cancel_url both set to our return URL; the `payer-action` / `approve` link is
  where the customer approves. PayPal sends them back with `token=<order id>&PayerID=...`
  (approved) or `token=<order id>` alone (cancelled).
- `handle_return` captures the approved order: `POST /v2/checkout/orders/{id}/capture`, then
  reads `purchase_units[0].payments.captures[0]` (COMPLETED: captured, with the capture id as
  the transaction reference and `seller_receivable_breakdown.paypal_fee` as the fee; PENDING:
  processing; DECLINED: declined).
- `query` is `GET /v2/checkout/orders/{id}`. An order the payer APPROVED but that we never
  captured (the customer did not come back, our capture timed out) is captured there, with a
  request id of its own: that is how the janitor finishes such a payment. PayPal allows one
  capture per CAPTURE order, so a second capture can only answer ORDER_ALREADY_CAPTURED.
- Refunds: `POST /v2/payments/captures/{capture id}/refund` with {amount:{value, currency_code}};
  our provider reference is the order id, so the capture id is read from the order first.
- Every POST but the token request carries `PayPal-Request-Id` (PayPal's idempotency header).

Amounts are decimal strings in PayPal's precision: two decimals, none for JPY, HUF and TWD
(PayPal refuses decimals there: an HUF or TWD amount with cents is refused before any call).
Currencies PayPal does not process (KWD, BHD, ...) are refused with CURRENCY_NOT_SUPPORTED.

Webhooks (`PAYPAL-TRANSMISSION-ID/-TIME/-SIG`, `PAYPAL-CERT-URL`, `PAYPAL-AUTH-ALGO`) are
refused when the transmission time is more than WEBHOOK_TOLERANCE_S away from now, then verified
with PayPal's postback `POST /v1/notifications/verify-webhook-signature` (with this account's
webhook_id) which must answer SUCCESS. Capture events name the capture; the payment they
report carries the ORDER id (`supplementary_data.related_ids.order_id`), our provider reference.
PayPal expects any 2xx back. PayPal registers one webhook URL per app (in its dashboard), so
`CreatePayment.notify_url` is not sent: the app's webhook must point at
`{PUBLIC_URL}/webhooks/paypal/<account id>/`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import httpx
from django.conf import settings

from clearhouse.core.errors import DomainError
from clearhouse.core.money import Money, currency_exponent
from clearhouse.payments.providers.base import (
    CreatePayment,
    NotSupported,
    PaymentDeclined,
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

SUPPORTED_CURRENCIES = frozenset(
    "AUD BRL CAD CNY CZK DKK EUR HKD HUF ILS JPY MYR MXN TWD NZD NOK PHP PLN GBP SGD SEK CHF THB USD".split())
NO_DECIMALS = frozenset({"JPY", "HUF", "TWD"})  # PayPal: "does not support decimals"
WEBHOOK_TOLERANCE_S = 300
TOKEN_MARGIN_S = 60  # fetch a new token this long before the old one expires
# 422 issues that mean the buyer's funding failed (their side, final for this order), not our request.
DECLINE_ISSUES = frozenset({
    "INSTRUMENT_DECLINED", "PAYER_CANNOT_PAY", "PAYER_ACCOUNT_RESTRICTED", "PAYER_ACCOUNT_LOCKED_OR_CLOSED",
    "TRANSACTION_REFUSED", "COMPLIANCE_VIOLATION", "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED",
    "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING", "CARD_EXPIRED", "PAYEE_BLOCKED_TRANSACTION",
})
WAITING = ("CREATED", "PAYER_ACTION_REQUIRED")
CAPTURED = ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED")
REFUND_STATUSES = {"COMPLETED": RefundStatus.SUCCEEDED, "PENDING": RefundStatus.PENDING,
                   "FAILED": RefundStatus.FAILED, "CANCELLED": RefundStatus.FAILED}

_tokens: dict[tuple[str, str], tuple[str, float]] = {}  # (api base, client id) -> (token, refresh after, clock s)
_tokens_lock = threading.Lock()


def token_cache_clear() -> None:
    with _tokens_lock:
        _tokens.clear()


# --- amounts -------------------------------------------------------------------------------------------------
def paypal_value(amount: Money) -> str:
    """Money as PayPal's `value`: "200.00" CNY, "1000" JPY, "1000" HUF (whole forints only)."""
    if amount.currency not in SUPPORTED_CURRENCIES:
        raise ProviderRejected(f"PayPal does not accept {amount.currency}.", error_code="CURRENCY_NOT_SUPPORTED")
    major = Decimal(amount.minor).scaleb(-currency_exponent(amount.currency))
    places = 0 if amount.currency in NO_DECIMALS else 2
    if major != major.quantize(Decimal(1).scaleb(-places)):
        raise ProviderRejected(f"PayPal takes whole amounts only in {amount.currency}.",
                               error_code="DECIMALS_NOT_SUPPORTED")
    return f"{major:.{places}f}"


def money_from(obj: Mapping) -> Money:
    """A PayPal {currency_code, value} as Money (exact; an unparseable amount is an unreadable answer)."""
    try:
        return Money.parse(str(obj["value"]), str(obj["currency_code"]))
    except (KeyError, TypeError, DomainError) as exc:
        raise ProviderUnavailable("PayPal sent an amount Clearhouse cannot read.",
                                  error_code="invalid_response") from exc


def _amount(amount: Money) -> dict:
    return {"currency_code": amount.currency, "value": paypal_value(amount)}


# --- PayPal objects in our words -----------------------------------------------------------------------------
def _link(obj: Mapping, *rels: str) -> str:
    for link in obj.get("links") or []:
        if link.get("rel") in rels:
            return link.get("href", "")
    return ""


def _capture_of(order: Mapping) -> Mapping | None:
    units = order.get("purchase_units") or [{}]
    captures = ((units[0].get("payments") or {}).get("captures")) or []
    return captures[0] if captures else None


def _fee_minor(capture: Mapping) -> int | None:
    fee = (capture.get("seller_receivable_breakdown") or {}).get("paypal_fee")
    return money_from(fee).minor if fee else None


def payment_from_capture(capture: Mapping, *, order_id: str = "") -> ProviderPayment:
    """A capture (from a capture call's order, or a PAYMENT.CAPTURE.* webhook) as our payment, under the
    ORDER id (`supplementary_data.related_ids.order_id`): the reference our intent holds."""
    order_id = order_id or ((capture.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id", "")
    if not order_id:
        raise ProviderUnavailable("PayPal's capture names no order.", error_code="invalid_response")
    amount = money_from(capture["amount"])
    status = capture.get("status", "")
    reason = ((capture.get("status_details") or {}).get("reason") or "").lower()
    if status in CAPTURED:
        return ProviderPayment(provider_reference=order_id, status=ProviderStatus.CAPTURED, amount=amount,
                               amount_captured_minor=amount.minor, fee_minor=_fee_minor(capture),
                               transaction_reference=capture.get("id", ""))
    if status == "PENDING":
        return ProviderPayment(provider_reference=order_id, status=ProviderStatus.PROCESSING, amount=amount,
                               transaction_reference=capture.get("id", ""), failure_message=reason)
    return ProviderPayment(provider_reference=order_id, status=ProviderStatus.FAILED, amount=amount,
                           failure_code=reason or "capture_declined",
                           failure_message="PayPal declined the payment.",
                           transaction_reference=capture.get("id", ""))


def payment_from_order(order: Mapping) -> ProviderPayment:
    """An Orders v2 order as our payment. APPROVED means the payer said yes and our capture is due."""
    status = order.get("status", "")
    capture = _capture_of(order)
    if status == "COMPLETED" and capture is not None:
        return payment_from_capture(capture, order_id=order["id"])
    units = order.get("purchase_units") or [{}]
    amount = money_from(units[0].get("amount") or {})
    ours = {"CREATED": ProviderStatus.REQUIRES_ACTION, "PAYER_ACTION_REQUIRED": ProviderStatus.REQUIRES_ACTION,
            "APPROVED": ProviderStatus.REQUIRES_ACTION, "SAVED": ProviderStatus.PROCESSING,
            "VOIDED": ProviderStatus.CANCELLED, "COMPLETED": ProviderStatus.PROCESSING}.get(status)
    if ours is None:
        raise ProviderUnavailable(f"PayPal sent an order status Clearhouse does not know: {status!r}.",
                                  error_code="invalid_response")
    return ProviderPayment(provider_reference=order["id"], status=ours, amount=amount,
                           action_url=_link(order, "payer-action", "approve") if status in WAITING else "")


def refund_from_json(obj: Mapping, *, requested: Money | None = None) -> ProviderRefund:
    amount = money_from(obj["amount"]) if obj.get("amount") else requested
    if amount is None:
        raise ProviderUnavailable("PayPal's refund has no amount.", error_code="invalid_response")
    return ProviderRefund(provider_reference=obj["id"], status=REFUND_STATUSES.get(obj.get("status", ""),
                                                                                   RefundStatus.PENDING),
                          amount=amount, payment_reference=_link(obj, "up").rsplit("/", 1)[-1],
                          failure_code=((obj.get("status_details") or {}).get("reason") or "").lower())


def _raise_for_error(response: httpx.Response) -> None:
    """PayPal's error body {name, message, details:[{issue, description}], debug_id} in our error tree."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    details = body.get("details") if isinstance(body.get("details"), list) else []
    first = details[0] if details and isinstance(details[0], dict) else {}
    issue = str(first.get("issue") or "")
    name = str(body.get("name") or body.get("error") or f"http_{response.status_code}")
    message = str(first.get("description") or body.get("message") or body.get("error_description") or "")[:300]
    if response.status_code >= 500 or response.status_code == 429:
        raise ProviderUnavailable(message or None, error_code=name)
    if response.status_code == 422 and issue in DECLINE_ISSUES:
        raise PaymentDeclined(message or "PayPal declined the payment; choose another way to pay.",
                              decline_code=issue.lower())
    raise ProviderRejected(message or None, error_code=issue or name)


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class PayPalProvider:
    """Clearhouse's client for one PayPal REST app (client id + secret, webhook id)."""

    name = "paypal"
    offline = False

    def __init__(self, *, api_base: str, client_id: str, client_secret: str, webhook_id: str = "",
                 merchant_id: str = "", timeout_s: float | None = None, clock: Callable[[], float] = time.time):
        self._api_base = api_base.rstrip("/")
        self._client_id, self._client_secret = client_id, client_secret
        self._webhook_id, self._merchant_id = webhook_id, merchant_id
        self._timeout_s = timeout_s
        self._clock = clock
        self.account_id: int | None = None

    def __repr__(self) -> str:  # never the secret
        return f"PayPalProvider(api_base={self._api_base!r}, client_id={self._client_id[:6]!r}…)"

    @classmethod
    def from_account(cls, account) -> PayPalProvider:
        """From a ProviderAccount: settings {"api_base", "client_id", "webhook_id", "merchant_id"?},
        secrets {"client_secret"}."""
        secrets = json.loads(account.secrets or "{}")
        conf = account.settings or {}
        return cls(api_base=conf.get("api_base") or "https://api-m.paypal.com", client_id=conf.get("client_id", ""),
                   client_secret=secrets.get("client_secret", ""), webhook_id=conf.get("webhook_id", ""),
                   merchant_id=conf.get("merchant_id", ""))

    def test_connection(self) -> str:
        """Fetch a token (the credentials) and read an order that does not exist (a clean 404)."""
        self._token(force=True)
        try:
            self._call("GET", "/v2/checkout/orders/CONNECTIONTEST0000")
        except ProviderRejected as exc:
            if exc.error_code in ("INVALID_RESOURCE_ID", "RESOURCE_NOT_FOUND"):
                return "ok"
            raise
        return "ok"

    # --- HTTP ------------------------------------------------------------------------------------------------
    def _timeout(self) -> float:
        return self._timeout_s if self._timeout_s is not None else settings.PAYMENT_PROVIDER_TIMEOUT_S

    def _token(self, *, force: bool = False) -> str:
        key = (self._api_base, self._client_id)
        with _tokens_lock:
            cached = _tokens.get(key)
        if cached is not None and not force and cached[1] > self._clock():
            return cached[0]
        with provider_client(self._api_base, timeout_s=self._timeout()) as client:
            response = provider_request(client, "POST", f"{self._api_base}/v1/oauth2/token",
                                        data={"grant_type": "client_credentials"},
                                        auth=(self._client_id, self._client_secret),
                                        headers={"Accept": "application/json"})
        if response.status_code in (400, 401):
            raise ProviderRejected("PayPal refused the client id or secret.", error_code="invalid_client")
        _raise_for_error(response)
        body = self._json(response)
        token, expires_in = str(body.get("access_token") or ""), int(body.get("expires_in") or 0)
        if not token:
            raise ProviderUnavailable("PayPal sent no access token.", error_code="invalid_response")
        with _tokens_lock:
            _tokens[key] = (token, self._clock() + max(0, expires_in - TOKEN_MARGIN_S))
        return token

    @staticmethod
    def _json(response: httpx.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderUnavailable("PayPal sent an unreadable answer.", error_code="invalid_response")
        return body

    def _send(self, method: str, path: str, body: dict | None, request_id: str, token: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                   "Prefer": "return=representation"}
        if method == "POST":
            assert request_id, "every POST to PayPal carries a PayPal-Request-Id"
            headers["PayPal-Request-Id"] = request_id
        with provider_client(self._api_base, timeout_s=self._timeout()) as client:
            return provider_request(client, method, f"{self._api_base}{path}", headers=headers,
                                    json=body if method == "POST" else None)

    def _call(self, method: str, path: str, *, body: dict | None = None, request_id: str = "") -> dict:
        """One API call; a 401 (token expired or revoked at PayPal) fetches a new token and tries once more."""
        response = self._send(method, path, body, request_id, self._token())
        if response.status_code == 401:
            response = self._send(method, path, body, request_id, self._token(force=True))
        _raise_for_error(response)
        return self._json(response)

    # --- payments --------------------------------------------------------------------------------------------
    def create(self, request: CreatePayment) -> ProviderPayment:
        """An order waiting for the buyer's approval; action_url is PayPal's approval page."""
        if request.manual_capture:
            raise NotSupported("PayPal payments are captured when the buyer approves (no separate capture).")
        unit = {"reference_id": request.intent_reference, "custom_id": request.intent_reference,
                "invoice_id": request.intent_reference, "description": request.description[:127],
                "amount": _amount(request.amount)}
        experience = {"return_url": request.return_url, "cancel_url": request.return_url, "user_action": "PAY_NOW",
                      "shipping_preference": "NO_SHIPPING"}
        order = self._call("POST", "/v2/checkout/orders", request_id=request.idempotency_key, body={
            "intent": "CAPTURE", "purchase_units": [unit],
            "payment_source": {"paypal": {"experience_context": experience}}})
        payment = payment_from_order(order)
        if not payment.action_url:
            raise ProviderUnavailable("PayPal's order has no approval link.", error_code="invalid_response")
        return payment

    def confirm(self, *, provider_reference: str, payment_token: str, return_url: str,
                idempotency_key: str) -> ProviderPayment:
        raise NotSupported("PayPal payments are approved on PayPal's page, not confirmed with a token.")

    def capture(self, *, provider_reference: str, amount: Money | None, idempotency_key: str) -> ProviderPayment:
        raise NotSupported("PayPal orders here are intent CAPTURE: there is no authorization to capture.")

    def _capture_order(self, order_id: str, request_id: str) -> ProviderPayment:
        try:
            order = self._call("POST", f"/v2/checkout/orders/{order_id}/capture", request_id=request_id, body={})
        except ProviderRejected as exc:
            if exc.error_code != "ORDER_ALREADY_CAPTURED":
                raise
            order = self._call("GET", f"/v2/checkout/orders/{order_id}")
        return payment_from_order(order)

    def handle_return(self, *, provider_reference: str, params: Mapping[str, str],
                      idempotency_key: str) -> ProviderPayment:
        """Back from PayPal: with a PayerID the buyer approved, so capture (PayPal-Request-Id = our key);
        without one (or an order that is not approved) they cancelled: PaymentDeclined(payer_cancelled)."""
        token = params.get("token", "")
        if token and token != provider_reference:
            raise ProviderRejected("PayPal's return names another order.", error_code="token_mismatch")
        cancelled = PaymentDeclined("You cancelled the payment on PayPal.", decline_code="payer_cancelled")
        if not params.get("PayerID"):
            order = self._call("GET", f"/v2/checkout/orders/{provider_reference}")
            if order.get("status") in WAITING:
                raise cancelled
            if order.get("status") != "APPROVED":  # captured meanwhile (the janitor), or voided
                return self._declined_if_failed(payment_from_order(order))
        try:
            payment = self._capture_order(provider_reference, idempotency_key)
        except ProviderRejected as exc:
            if exc.error_code == "ORDER_NOT_APPROVED":
                raise cancelled from None
            raise
        return self._declined_if_failed(payment)

    @staticmethod
    def _declined_if_failed(payment: ProviderPayment) -> ProviderPayment:
        if payment.status == ProviderStatus.FAILED:
            raise PaymentDeclined(payment.failure_message or None, decline_code=payment.failure_code)
        return payment

    def cancel(self, *, provider_reference: str, idempotency_key: str) -> ProviderPayment:
        """PayPal has no void for a CAPTURE order: one never captured simply expires. So cancelling is
        checking that no money was taken and not capturing it (capturing-on-query skips cancelled intents)."""
        payment = payment_from_order(self._call("GET", f"/v2/checkout/orders/{provider_reference}"))
        if payment.status in (ProviderStatus.CAPTURED, ProviderStatus.PROCESSING):
            raise ProviderRejected("The PayPal order is already captured.", error_code="ORDER_ALREADY_CAPTURED")
        return replace(payment, status=ProviderStatus.CANCELLED, action_url="")

    def query(self, *, provider_reference: str) -> ProviderPayment:
        """Where the order stands; an approved order that nobody captured is captured now (see the module)."""
        order = self._call("GET", f"/v2/checkout/orders/{provider_reference}")
        if order.get("status") != "APPROVED":
            return payment_from_order(order)
        try:
            return self._capture_order(provider_reference, f"{provider_reference}:capture-on-query")
        except PaymentDeclined as exc:
            return replace(payment_from_order(order), status=ProviderStatus.FAILED, failure_code=exc.decline_code,
                           failure_message=exc.message)

    def refund(self, *, provider_reference: str, amount: Money, refund_reference: str,
               idempotency_key: str) -> ProviderRefund:
        order = self._call("GET", f"/v2/checkout/orders/{provider_reference}")
        capture = _capture_of(order)
        if capture is None or capture.get("status") not in CAPTURED:
            raise ProviderRejected("The PayPal order has no completed capture to refund.",
                                   error_code="CAPTURE_NOT_COMPLETED")
        obj = self._call("POST", f"/v2/payments/captures/{capture['id']}/refund", request_id=idempotency_key,
                         body={"amount": _amount(amount), "invoice_id": refund_reference,
                               "note_to_payer": "Refund"})
        return refund_from_json(obj, requested=amount)

    def query_refund(self, *, provider_refund_reference: str) -> ProviderRefund:
        return refund_from_json(self._call("GET", f"/v2/payments/refunds/{provider_refund_reference}"))

    # --- webhooks --------------------------------------------------------------------------------------------
    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Check the transmission time (±WEBHOOK_TOLERANCE_S), have PayPal verify the signature
        (SUCCESS), check the payee, then translate the event."""
        names = ("PAYPAL-TRANSMISSION-ID", "PAYPAL-TRANSMISSION-TIME", "PAYPAL-TRANSMISSION-SIG",
                 "PAYPAL-CERT-URL", "PAYPAL-AUTH-ALGO")
        values = {name: _header(headers, name) for name in names}
        if not all(values.values()):
            raise WebhookRejected("The notification lacks PayPal's transmission headers.")
        try:
            sent_at = _parse_time(values["PAYPAL-TRANSMISSION-TIME"])
            event = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WebhookRejected("The notification could not be understood.") from exc
        if abs(self._clock() - sent_at.timestamp()) > WEBHOOK_TOLERANCE_S:
            raise WebhookRejected("The notification's transmission time is outside the tolerance.")
        if not isinstance(event, dict) or not self._webhook_id:
            raise WebhookRejected("The notification could not be understood.")
        self._verify(values, event)
        try:
            return self._translate(event)
        except (KeyError, TypeError, AttributeError, ValueError, IndexError, ProviderUnavailable) as exc:
            raise WebhookRejected("The notification could not be understood.") from exc

    def _verify(self, values: Mapping[str, str], event: dict) -> None:
        request = {"auth_algo": values["PAYPAL-AUTH-ALGO"], "cert_url": values["PAYPAL-CERT-URL"],
                   "transmission_id": values["PAYPAL-TRANSMISSION-ID"],
                   "transmission_sig": values["PAYPAL-TRANSMISSION-SIG"],
                   "transmission_time": values["PAYPAL-TRANSMISSION-TIME"], "webhook_id": self._webhook_id,
                   "webhook_event": event}
        # The same question always gets the same request id (a replayed notification is asked about again
        # harmlessly); any other content is another question.
        request_id = "verify-" + hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:40]
        try:
            answer = self._call("POST", "/v1/notifications/verify-webhook-signature", request_id=request_id,
                                body=request)
        except (ProviderUnavailable, ProviderRejected) as exc:
            raise WebhookRejected("PayPal could not verify the notification now; it will be sent again.") from exc
        if answer.get("verification_status") != "SUCCESS":
            raise WebhookRejected("PayPal says the notification's signature does not verify.")
        resource = event.get("resource") or {}
        payees = [resource.get("payee")] + [u.get("payee") for u in resource.get("purchase_units") or []]
        merchant_ids = {p.get("merchant_id") for p in payees if isinstance(p, dict) and p.get("merchant_id")}
        if self._merchant_id and merchant_ids and merchant_ids != {self._merchant_id}:
            raise WebhookRejected("The notification is about another merchant's payment.")

    def _translate(self, event: dict) -> WebhookEvent:
        kind, resource = event["event_type"], event["resource"]
        payment = refund = None
        if kind.startswith("CHECKOUT.ORDER."):
            payment = payment_from_order(resource)
        elif kind in ("PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.DENIED",
                      "PAYMENT.CAPTURE.DECLINED"):
            payment = payment_from_capture(resource)
        elif kind in ("PAYMENT.CAPTURE.REFUNDED", "PAYMENT.REFUND.COMPLETED"):
            refund = refund_from_json(resource)
        return WebhookEvent(event_id=event["id"], type=kind, occurred_at=_parse_time(event["create_time"]),
                            payment=payment, refund=refund, raw=event)

    def webhook_ack(self) -> WebhookAck:
        return WebhookAck(status=200, body=b"", content_type="text/plain")
