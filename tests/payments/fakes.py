"""An in-memory card provider for tests: `PaymentProvider` with no network, scripted outcomes.

    fake = FakeCardProvider()
    with providers_override(sandbox=fake):
        ...                                    # create -> requires_payment, action_url
                                               # confirm -> captured (or authorized if manual capture)
        fake.script("confirm", "decline", decline_code="insufficient_funds")
        fake.script("confirm", "timeout")      # ProviderUnavailable(timed_out=True); nothing done
        fake.script("capture", "unavailable", times=2)

Outcomes (`script(operation, outcome, *, times=1, **details)`, consumed first in, first out per
operation; operations: create, confirm, capture, cancel, refund, query, query_refund):

    "decline"                PaymentDeclined(decline_code=details.get("decline_code", "card_declined"));
                             on confirm the payment is left failed with that failure code
    "unavailable"            ProviderUnavailable(error_code=details.get("error_code", "http_503")), nothing done
    "timeout"                ProviderUnavailable(timed_out=True), nothing done
    "timeout_after_success"  the work is done, then ProviderUnavailable(timed_out=True) (a lost answer)
    "rejected"               ProviderRejected(error_code=details.get("error_code", "invalid_request"))
    "requires_action"        confirm: the payment waits for 3-D Secure (action_url .../3ds/<ref>);
                             finish it with `complete_action(ref)` or `fail_action(ref)`
    "processing"             confirm: the payment stays processing (settle later with `settle(ref)`)
    "pending" / "failed"     refund: the refund is left pending (settle with `settle_refund`) / failed
    an exception instance    raised as is

Every call is logged in `calls` as (operation, kwargs); `calls_to(operation)` counts them.
Mutating calls honour idempotency keys: the same key gives back the first answer without redoing
the work (as a real provider does after a retry).

Fee: 0.6 % of the captured amount, rounded half up (`fee_rate`). Webhooks: `webhook(ref)` builds a signed
(body, headers) pair for the payment's current state; `parse_webhook` verifies the
`Fake-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` header (±300 s).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

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

SIGNATURE_HEADER = "Fake-Signature"
SIGNATURE_TOLERANCE_S = 300
WEBHOOK_SECRET = "whsec_fake"
OPERATIONS = ("create", "confirm", "capture", "cancel", "refund", "query", "query_refund")
OUTCOMES = ("decline", "unavailable", "timeout", "timeout_after_success", "rejected", "requires_action",
            "processing", "pending", "failed")
CANCELLABLE = (ProviderStatus.REQUIRES_PAYMENT, ProviderStatus.REQUIRES_ACTION, ProviderStatus.AUTHORIZED,
               ProviderStatus.FAILED)


@dataclass
class _Scripted:
    outcome: str | BaseException
    details: dict


class FakeCardProvider:
    """A card provider held in memory (see the module docstring). `payments` and `refunds` hold its state."""

    offline = False

    def __init__(self, *, name: str = "sandbox", fee_rate: Decimal = Decimal("0.0060"),
                 webhook_secret: str = WEBHOOK_SECRET, clock: Callable[[], float] = time.time):
        self.name = name
        self.fee_rate = fee_rate
        self.webhook_secret = webhook_secret
        self.clock = clock
        self.payments: dict[str, ProviderPayment] = {}
        self.manual_capture: dict[str, bool] = {}
        self.refunds: dict[str, ProviderRefund] = {}
        self.calls: list[tuple[str, dict]] = []
        self._scripts: dict[str, deque[_Scripted]] = defaultdict(deque)
        self._answers: dict[tuple[str, str], object] = {}  # (operation, idempotency key) -> first answer
        self._ids = itertools.count(1)

    # --- scripting -----------------------------------------------------------------------
    def script(self, operation: str, outcome: str | BaseException, *, times: int = 1, **details) -> None:
        """Make the next `times` calls of `operation` end with `outcome` (see the module docstring)."""
        assert operation in OPERATIONS, f"unknown operation {operation!r}"
        assert isinstance(outcome, BaseException) or outcome in OUTCOMES, f"unknown outcome {outcome!r}"
        for _ in range(times):
            self._scripts[operation].append(_Scripted(outcome, details))

    def calls_to(self, operation: str) -> int:
        return sum(1 for op, _ in self.calls if op == operation)

    def _next(self, operation: str) -> _Scripted | None:
        queue = self._scripts[operation]
        return queue.popleft() if queue else None

    @staticmethod
    def _raise_if_error(step: _Scripted | None) -> None:
        """Raise the scripted error that happens before the provider does anything."""
        if step is None:
            return
        outcome, details = step.outcome, step.details
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome == "unavailable":
            raise ProviderUnavailable(error_code=details.get("error_code", "http_503"))
        if outcome == "timeout":
            raise ProviderUnavailable("The provider did not answer in time.", error_code="timeout", timed_out=True)
        if outcome == "rejected":
            raise ProviderRejected(error_code=details.get("error_code", "invalid_request"))

    def _run(self, operation: str, key: str, work: Callable[[_Scripted | None], object], **logged):
        """Log the call, replay an answer already given for `key`, else apply the script and do the work."""
        self.calls.append((operation, {**logged, "idempotency_key": key}))
        if key and (operation, key) in self._answers:
            return self._answers[(operation, key)]
        step = self._next(operation)
        self._raise_if_error(step)
        answer = work(step)
        if key:
            self._answers[(operation, key)] = answer
        if step is not None and step.outcome == "timeout_after_success":
            raise ProviderUnavailable("The answer was lost.", error_code="timeout", timed_out=True)
        return answer

    # --- payments --------------------------------------------------------------------------
    def create(self, request: CreatePayment) -> ProviderPayment:
        def work(step):
            if step is not None and step.outcome == "decline":
                raise PaymentDeclined(decline_code=step.details.get("decline_code", "card_declined"))
            ref = f"fk_pi_{next(self._ids)}"
            self.manual_capture[ref] = request.manual_capture
            return self._store(ProviderPayment(
                provider_reference=ref, status=ProviderStatus.REQUIRES_PAYMENT, amount=request.amount,
                action_url=f"https://pay.example/checkout/{request.intent_reference}"))

        return self._run("create", request.idempotency_key, work, intent_reference=request.intent_reference,
                         amount=request.amount, manual_capture=request.manual_capture)

    def confirm(self, *, provider_reference: str, payment_token: str, return_url: str,
                idempotency_key: str) -> ProviderPayment:
        def work(step):
            payment = self._payment(provider_reference)
            if payment.status not in (ProviderStatus.REQUIRES_PAYMENT, ProviderStatus.FAILED,
                                      ProviderStatus.REQUIRES_ACTION):
                raise ProviderRejected(f"Payment {provider_reference} is {payment.status}.",
                                       error_code="payment_intent_unexpected_state")
            outcome = step.outcome if step is not None else None
            if outcome == "decline":
                code = step.details.get("decline_code", "card_declined")
                self._store(replace(payment, status=ProviderStatus.FAILED, failure_code=code,
                                    failure_message="Your card was declined."))
                raise PaymentDeclined(decline_code=code)
            if outcome == "requires_action":
                return self._store(replace(payment, status=ProviderStatus.REQUIRES_ACTION,
                                           action_url=f"https://pay.example/3ds/{provider_reference}"))
            if outcome == "processing":
                return self._store(replace(payment, status=ProviderStatus.PROCESSING, action_url=""))
            return self._succeed(provider_reference)

        return self._run("confirm", idempotency_key, work, provider_reference=provider_reference,
                         payment_token=payment_token)

    def capture(self, *, provider_reference: str, amount: Money | None, idempotency_key: str) -> ProviderPayment:
        def work(step):
            payment = self._payment(provider_reference)
            if payment.status != ProviderStatus.AUTHORIZED:
                raise ProviderRejected(f"Payment {provider_reference} is {payment.status}; it cannot be captured.",
                                       error_code="payment_intent_unexpected_state")
            taken = amount or payment.amount
            if taken.currency != payment.amount.currency or not 0 < taken.minor <= payment.amount.minor:
                raise ProviderRejected("amount_to_capture is invalid.", error_code="amount_too_large")
            return self._store(self._captured(payment, taken))

        return self._run("capture", idempotency_key, work, provider_reference=provider_reference, amount=amount)

    def cancel(self, *, provider_reference: str, idempotency_key: str) -> ProviderPayment:
        def work(step):
            payment = self._payment(provider_reference)
            if payment.status == ProviderStatus.CANCELLED:
                return payment
            if payment.status not in CANCELLABLE:
                raise ProviderRejected(f"Payment {provider_reference} is {payment.status}; it cannot be cancelled.",
                                       error_code="payment_intent_unexpected_state")
            return self._store(replace(payment, status=ProviderStatus.CANCELLED, action_url=""))

        return self._run("cancel", idempotency_key, work, provider_reference=provider_reference)

    def refund(self, *, provider_reference: str, amount: Money, refund_reference: str,
               idempotency_key: str) -> ProviderRefund:
        def work(step):
            payment = self._payment(provider_reference)
            left = payment.amount_captured_minor - payment.amount_refunded_minor
            if payment.status != ProviderStatus.CAPTURED or amount.currency != payment.amount.currency \
                    or not 0 < amount.minor <= left:
                raise ProviderRejected("The refund is larger than what is left of the charge.",
                                       error_code="amount_too_large")
            if step is not None and step.outcome == "decline":
                raise PaymentDeclined(decline_code=step.details.get("decline_code", "refund_declined"))
            outcome = step.outcome if step is not None else None
            status = {"pending": RefundStatus.PENDING, "failed": RefundStatus.FAILED}.get(outcome,
                                                                                          RefundStatus.SUCCEEDED)
            if status != RefundStatus.FAILED:  # the provider holds pending refunds against the charge too
                self._store(replace(payment, amount_refunded_minor=payment.amount_refunded_minor + amount.minor))
            refund = ProviderRefund(provider_reference=f"fk_re_{next(self._ids)}", status=status, amount=amount,
                                    payment_reference=provider_reference,
                                    failure_code="declined" if status == RefundStatus.FAILED else "")
            self.refunds[refund.provider_reference] = refund
            return refund

        return self._run("refund", idempotency_key, work, provider_reference=provider_reference, amount=amount,
                         refund_reference=refund_reference)

    def query(self, *, provider_reference: str) -> ProviderPayment:
        return self._run("query", "", lambda step: self._payment(provider_reference),
                         provider_reference=provider_reference)

    def query_refund(self, *, provider_refund_reference: str) -> ProviderRefund:
        def work(step):
            if provider_refund_reference not in self.refunds:
                raise ProviderRejected(f"No such refund: {provider_refund_reference}", error_code="resource_missing")
            return self.refunds[provider_refund_reference]

        return self._run("query_refund", "", work, provider_refund_reference=provider_refund_reference)

    # --- moving state outside any call (what the customer or the bank does) ---------------------
    def complete_action(self, provider_reference: str) -> ProviderPayment:
        """The customer passed 3-D Secure: the payment is captured (or authorized, for manual capture)."""
        return self._succeed(provider_reference)

    def fail_action(self, provider_reference: str, *, decline_code: str = "authentication_failed") -> ProviderPayment:
        return self._store(replace(self._payment(provider_reference), status=ProviderStatus.FAILED,
                                   failure_code=decline_code, action_url=""))

    settle = complete_action

    def settle_refund(self, provider_refund_reference: str, *, succeeded: bool = True) -> ProviderRefund:
        refund = self.refunds[provider_refund_reference]
        status = RefundStatus.SUCCEEDED if succeeded else RefundStatus.FAILED
        if not succeeded:
            payment = self._payment(refund.payment_reference)
            self._store(replace(payment, amount_refunded_minor=payment.amount_refunded_minor - refund.amount.minor))
        self.refunds[provider_refund_reference] = replace(refund, status=status,
                                                          failure_code="" if succeeded else "declined")
        return self.refunds[provider_refund_reference]

    def _payment(self, provider_reference: str) -> ProviderPayment:
        if provider_reference not in self.payments:
            raise ProviderRejected(f"No such payment: {provider_reference}", error_code="resource_missing")
        return self.payments[provider_reference]

    def _store(self, payment: ProviderPayment) -> ProviderPayment:
        self.payments[payment.provider_reference] = payment
        return payment

    def _succeed(self, provider_reference: str) -> ProviderPayment:
        payment = self._payment(provider_reference)
        if self.manual_capture.get(provider_reference):
            return self._store(replace(payment, status=ProviderStatus.AUTHORIZED, action_url="",
                                       failure_code="", failure_message=""))
        return self._store(self._captured(payment, payment.amount))

    def _captured(self, payment: ProviderPayment, taken: Money) -> ProviderPayment:
        return replace(payment, status=ProviderStatus.CAPTURED, amount_captured_minor=taken.minor,
                       fee_minor=taken.apply_rate(self.fee_rate).minor, action_url="", failure_code="",
                       failure_message="", transaction_reference=f"fk_ch_{payment.provider_reference[6:]}")

    # --- webhooks --------------------------------------------------------------------------
    def webhook(self, provider_reference: str | None = None, *, refund_reference: str | None = None,
                event_type: str = "", event_id: str = "", timestamp: int | None = None,
                secret: str | None = None) -> tuple[bytes, dict[str, str]]:
        """A signed notification (body, headers) of a payment's (or refund's) current state."""
        if refund_reference is not None:
            refund = self.refunds[refund_reference]
            obj = {"object": "refund", "id": refund.provider_reference, "status": refund.status.value,
                   "amount": refund.amount.minor, "currency": refund.amount.currency,
                   "payment": refund.payment_reference, "failure_code": refund.failure_code}
            event_type = event_type or f"refund.{refund.status.value}"
        else:
            payment = self._payment(provider_reference)
            obj = {"object": "payment", "id": payment.provider_reference, "status": payment.status.value,
                   "amount": payment.amount.minor, "currency": payment.amount.currency,
                   "amount_captured": payment.amount_captured_minor,
                   "amount_refunded": payment.amount_refunded_minor, "fee": payment.fee_minor,
                   "action_url": payment.action_url, "failure_code": payment.failure_code,
                   "failure_message": payment.failure_message, "charge": payment.transaction_reference}
            event_type = event_type or f"payment.{payment.status.value}"
        created = int(self.clock()) if timestamp is None else timestamp
        body = json.dumps({"id": event_id or f"fk_evt_{next(self._ids)}", "type": event_type, "created": created,
                           "object": obj}).encode()
        return body, {SIGNATURE_HEADER: self.signature(body, timestamp=created, secret=secret)}

    def signature(self, body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> str:
        stamp = int(self.clock()) if timestamp is None else timestamp
        digest = hmac.new((secret or self.webhook_secret).encode(), f"{stamp}.".encode() + body,
                          hashlib.sha256).hexdigest()
        return f"t={stamp},v1={digest}"

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        header = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), "")
        fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        stamp, signature = fields.get("t", ""), fields.get("v1", "")
        if not stamp.isdigit() or not signature:
            raise WebhookRejected("The notification has no valid signature header.")
        if abs(self.clock() - int(stamp)) > SIGNATURE_TOLERANCE_S:
            raise WebhookRejected("The notification's timestamp is outside the tolerance.")
        expected = self.signature(body, timestamp=int(stamp)).split("v1=", 1)[1]
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise WebhookRejected("The notification's signature does not match.")
        try:
            event = json.loads(body)
            obj = event["object"]
            return WebhookEvent(
                event_id=event["id"], type=event["type"],
                occurred_at=datetime.fromtimestamp(int(event["created"]), tz=UTC),
                payment=_payment_from(obj) if obj["object"] == "payment" else None,
                refund=_refund_from(obj) if obj["object"] == "refund" else None,
                raw=event,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("The notification could not be understood.") from exc

    def webhook_ack(self) -> WebhookAck:
        return WebhookAck()


def _payment_from(obj: Mapping) -> ProviderPayment:
    return ProviderPayment(
        provider_reference=obj["id"], status=ProviderStatus(obj["status"]),
        amount=Money(int(obj["amount"]), obj["currency"]),
        amount_captured_minor=int(obj["amount_captured"]), amount_refunded_minor=int(obj["amount_refunded"]),
        fee_minor=obj["fee"], action_url=obj["action_url"], failure_code=obj["failure_code"],
        failure_message=obj["failure_message"], transaction_reference=obj["charge"])


def _refund_from(obj: Mapping) -> ProviderRefund:
    return ProviderRefund(provider_reference=obj["id"], status=RefundStatus(obj["status"]),
                          amount=Money(int(obj["amount"]), obj["currency"]), payment_reference=obj["payment"],
                          failure_code=obj["failure_code"])
