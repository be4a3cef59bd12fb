"""Adapter for the sandbox card provider (a Stripe-like test mode), reached only over HTTP.

Wire protocol: JSON under CLEARHOUSE_SANDBOX_API_BASE with
`Authorization: Bearer <CLEARHOUSE_SANDBOX_SECRET_KEY>` and an `Idempotency-Key`
on every POST. Amounts are integers in minor units, currencies lowercase.
Webhooks arrive signed `Sandbox-Signature: t=<unix>,v1=<hex HMAC-SHA256(
webhook secret, "<t>.<raw body>")>` and are refused outside ±300 s.

Errors: a timeout or connection error, or a 5xx, is `ProviderUnavailable`
(retry with the same key, or query); a 402 card_error is `PaymentDeclined`;
any other 4xx is `ProviderRejected`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from django.conf import settings

from clearhouse.core.money import Money
from clearhouse.payments.providers.base import (
    CreatePayment,
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

SIGNATURE_HEADER = "Sandbox-Signature"
SIGNATURE_TOLERANCE_S = 300

STATUSES = {
    "requires_payment_method": ProviderStatus.REQUIRES_PAYMENT,
    "requires_action": ProviderStatus.REQUIRES_ACTION,
    "processing": ProviderStatus.PROCESSING,
    "requires_capture": ProviderStatus.AUTHORIZED,
    "succeeded": ProviderStatus.CAPTURED,
    "canceled": ProviderStatus.CANCELLED,
}
REFUND_STATUSES = {"pending": RefundStatus.PENDING, "succeeded": RefundStatus.SUCCEEDED,
                   "failed": RefundStatus.FAILED, "canceled": RefundStatus.FAILED}


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def payment_from_json(obj: Mapping) -> ProviderPayment:
    """A sandbox payment intent object in our words. A declined card leaves the intent
    requires_payment_method with last_payment_error set: that is FAILED."""
    error = obj.get("last_payment_error") or {}
    status = STATUSES[obj["status"]]
    if status == ProviderStatus.REQUIRES_PAYMENT and error:
        status = ProviderStatus.FAILED
    action_url = ""
    if status == ProviderStatus.REQUIRES_ACTION:
        action_url = (obj.get("next_action") or {}).get("redirect_url", "")
    elif status in (ProviderStatus.REQUIRES_PAYMENT, ProviderStatus.FAILED):
        action_url = obj.get("checkout_url") or ""
    return ProviderPayment(
        provider_reference=obj["id"],
        status=status,
        amount=Money(int(obj["amount"]), obj["currency"].upper()),
        amount_captured_minor=int(obj.get("amount_received") or 0),
        amount_refunded_minor=int(obj.get("amount_refunded") or 0),
        fee_minor=obj.get("fee"),
        action_url=action_url,
        failure_code=error.get("decline_code") or error.get("code") or "",
        failure_message=error.get("message") or "",
        transaction_reference=obj.get("charge") or "",
    )


def refund_from_json(obj: Mapping) -> ProviderRefund:
    return ProviderRefund(
        provider_reference=obj["id"],
        status=REFUND_STATUSES.get(obj["status"], RefundStatus.PENDING),
        amount=Money(int(obj["amount"]), obj["currency"].upper()),
        payment_reference=obj.get("payment_intent") or "",
        failure_code=obj.get("failure_reason") or "",
    )


def _raise_for_error(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    code = error.get("code") or f"http_{response.status_code}"
    message = error.get("message") or None
    if response.status_code >= 500:
        raise ProviderUnavailable(message, error_code=code)
    if response.status_code == 402 and error.get("type") == "card_error":
        raise PaymentDeclined(message, decline_code=error.get("decline_code") or code)
    raise ProviderRejected(message, error_code=code)


class SandboxProvider:
    """Clearhouse's client for the sandbox card provider. Settings are read at each call unless given."""

    name = "sandbox"
    offline = False

    def __init__(self, *, api_base: str | None = None, secret_key: str | None = None,
                 webhook_secret: str | None = None, timeout_s: float | None = None,
                 clock: Callable[[], float] = time.time):
        self._api_base, self._secret_key, self._webhook_secret = api_base, secret_key, webhook_secret
        self._timeout_s = timeout_s
        self._clock = clock
        self.account_id: int | None = None  # set when built from a ProviderAccount

    @classmethod
    def from_account(cls, account) -> SandboxProvider:
        """From a ProviderAccount: settings {"api_base"}, secrets {"secret_key", "webhook_secret"}."""
        import json

        secrets = json.loads(account.secrets or "{}")
        return cls(api_base=account.settings.get("api_base") or None, secret_key=secrets.get("secret_key"),
                   webhook_secret=secrets.get("webhook_secret"))

    def test_connection(self) -> str:
        """Prove the credentials work with a harmless read (an unknown payment must be a clean 404)."""
        try:
            self.query(provider_reference="pi_connection_test")
        except ProviderRejected as exc:
            if exc.error_code == "resource_missing":
                return "ok"
            raise
        return "ok"

    # --- HTTP ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, body: dict | None = None, idempotency_key: str = "") -> dict:
        base = (self._api_base or settings.CLEARHOUSE_SANDBOX_API_BASE).rstrip("/")
        timeout_s = self._timeout_s if self._timeout_s is not None else settings.PAYMENT_PROVIDER_TIMEOUT_S
        headers = {"Authorization": f"Bearer {self._secret_key or settings.CLEARHOUSE_SANDBOX_SECRET_KEY}",
                   "Accept": "application/json"}
        if method == "POST":
            assert idempotency_key, "every POST to a provider carries an idempotency key"
            headers["Idempotency-Key"] = idempotency_key
        with provider_client(base, timeout_s=timeout_s, headers=headers) as client:
            response = provider_request(client, method, f"{base}{path}",
                                        json=body if method == "POST" else None)
        _raise_for_error(response)
        try:
            return response.json()
        except ValueError:
            raise ProviderUnavailable("The payment provider sent an unreadable answer.",
                                      error_code="invalid_response") from None

    # --- payments --------------------------------------------------------------------------
    def create(self, request: CreatePayment) -> ProviderPayment:
        """A payment waiting for the customer's card; action_url is the hosted card form, which
        sends the customer back to return_url with `payment_method=pm_...`."""
        obj = self._call("POST", "/payment_intents", idempotency_key=request.idempotency_key, body={
            "amount": request.amount.minor, "currency": request.amount.currency.lower(),
            "capture_method": "manual" if request.manual_capture else "automatic",
            "reference": request.intent_reference, "description": request.description,
            "notify_url": request.notify_url, "return_url": request.return_url,
        })
        payment = payment_from_json(obj)
        checkout_url = obj.get("checkout_url") or payment.action_url
        return _replace_action(payment, _with_query(checkout_url, return_url=request.return_url)
                               if request.return_url else checkout_url)

    def confirm(self, *, provider_reference: str, payment_token: str, return_url: str,
                idempotency_key: str) -> ProviderPayment:
        obj = self._call("POST", f"/payment_intents/{provider_reference}/confirm", idempotency_key=idempotency_key,
                         body={"payment_method": payment_token, "return_url": return_url})
        return payment_from_json(obj)

    def capture(self, *, provider_reference: str, amount: Money | None, idempotency_key: str) -> ProviderPayment:
        body = {} if amount is None else {"amount_to_capture": amount.minor}
        obj = self._call("POST", f"/payment_intents/{provider_reference}/capture", idempotency_key=idempotency_key,
                         body=body)
        return payment_from_json(obj)

    def cancel(self, *, provider_reference: str, idempotency_key: str) -> ProviderPayment:
        obj = self._call("POST", f"/payment_intents/{provider_reference}/cancel", idempotency_key=idempotency_key,
                         body={})
        return payment_from_json(obj)

    def refund(self, *, provider_reference: str, amount: Money, refund_reference: str,
               idempotency_key: str) -> ProviderRefund:
        obj = self._call("POST", "/refunds", idempotency_key=idempotency_key, body={
            "payment_intent": provider_reference, "amount": amount.minor, "reference": refund_reference,
        })
        return refund_from_json(obj)

    def query(self, *, provider_reference: str) -> ProviderPayment:
        return payment_from_json(self._call("GET", f"/payment_intents/{provider_reference}"))

    def query_refund(self, *, provider_refund_reference: str) -> ProviderRefund:
        return refund_from_json(self._call("GET", f"/refunds/{provider_refund_reference}"))

    # --- webhooks --------------------------------------------------------------------------
    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify `Sandbox-Signature` (HMAC-SHA256, constant-time compare, ±300 s) and translate the event."""
        self._verify(body, _header(headers, SIGNATURE_HEADER))
        try:
            event = json.loads(body)
            obj = event["data"]["object"]
            kind = obj.get("object")
            return WebhookEvent(
                event_id=event["id"], type=event["type"],
                occurred_at=datetime.fromtimestamp(int(event["created"]), tz=UTC),
                payment=payment_from_json(obj) if kind == "payment_intent" else None,
                refund=refund_from_json(obj) if kind == "refund" else None,
                raw=event,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise WebhookRejected("The notification could not be understood.") from exc

    def _verify(self, body: bytes, header: str) -> None:
        fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        timestamp, signature = fields.get("t", ""), fields.get("v1", "")
        if not timestamp.isdigit() or not signature:
            raise WebhookRejected("The notification has no valid signature header.")
        if abs(self._clock() - int(timestamp)) > SIGNATURE_TOLERANCE_S:
            raise WebhookRejected("The notification's timestamp is outside the tolerance.")
        secret = (self._webhook_secret or settings.CLEARHOUSE_SANDBOX_WEBHOOK_SECRET).encode()
        expected = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise WebhookRejected("The notification's signature does not match.")

    def webhook_ack(self) -> WebhookAck:
        return WebhookAck()


def _header(headers: Mapping[str, str], name: str) -> str:
    """Header lookup that ignores case (Django's request.headers does; a plain dict does not)."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def _replace_action(payment: ProviderPayment, action_url: str) -> ProviderPayment:
    return replace(payment, action_url=action_url)
