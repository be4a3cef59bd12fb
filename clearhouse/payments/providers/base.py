"""The one interface every payment provider is reached through (DESIGN §5, §12.8).

Each provider is one module exposing a class that satisfies `PaymentProvider`.
The rest of Clearhouse only sees the dataclasses below: a provider's view of
a payment (`ProviderPayment`), of a refund (`ProviderRefund`) and of a
verified notification (`WebhookEvent`). Errors form a small typed tree so
callers can tell "the card was declined" (final) from "the provider did not
answer" (retry with the same idempotency key) from "you must send the
customer somewhere" (3-D Secure, a hosted page).

Amounts cross this boundary as `Money`; each adapter converts to its
provider's convention (minor units, yuan strings, fen) and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from clearhouse.core.errors import DomainError
from clearhouse.core.money import Money


class ProviderStatus(StrEnum):
    """Where the provider says a payment is, in our words (each adapter maps its own states onto these)."""

    REQUIRES_PAYMENT = "requires_payment"  # created; waiting for the customer's card / scan / transfer
    PROCESSING = "processing"
    REQUIRES_ACTION = "requires_action"  # the customer must do something (3-D Secure): see action_url
    AUTHORIZED = "authorized"  # money held, not yet captured (manual capture)
    CAPTURED = "captured"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class ProviderPayment:
    """A provider's answer about one payment: its id there, its state and the amounts it knows."""

    provider_reference: str
    status: ProviderStatus
    amount: Money
    amount_captured_minor: int = 0
    amount_refunded_minor: int = 0
    fee_minor: int | None = None  # the provider's fee once known (after capture)
    action_url: str = ""  # where to send the customer (hosted form, 3-D Secure challenge, approval page)
    qr_code: str = ""  # a code for the customer to scan with the provider's app (WeChat Native, Alipay QR)
    failure_code: str = ""  # e.g. insufficient_funds, processing_error
    failure_message: str = ""
    transaction_reference: str = ""  # the charge / trade number printed on the voucher


@dataclass(frozen=True)
class ProviderRefund:
    provider_reference: str
    status: RefundStatus
    amount: Money
    payment_reference: str = ""
    failure_code: str = ""


@dataclass(frozen=True)
class CreatePayment:
    """Ask the provider for a payment of `amount` for our intent `intent_reference`."""

    intent_reference: str
    amount: Money
    manual_capture: bool
    return_url: str  # where the provider sends the customer back
    notify_url: str  # where the provider posts its webhooks
    description: str
    idempotency_key: str


@dataclass(frozen=True)
class WebhookEvent:
    """A verified notification. `payment` or `refund` carries the object's state as of `occurred_at`."""

    event_id: str
    type: str
    occurred_at: datetime
    payment: ProviderPayment | None = None
    refund: ProviderRefund | None = None
    raw: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookAck:
    """What the provider expects back when we accepted its notification."""

    status: int = 200
    body: bytes = b'{"received": true}'
    content_type: str = "application/json"


# --- errors ----------------------------------------------------------------
class PaymentError(DomainError):
    """The provider refused or could not do what was asked."""

    code = "payment_error"
    type = "payment_error"
    http_status = 402
    default_message = "The payment provider refused the request."


class PaymentDeclined(PaymentError):
    """Final: the card or account was declined (`decline_code` says why); retrying will not help."""

    code = "payment_declined"
    default_message = "The payment was declined."

    def __init__(self, message: str | None = None, *, decline_code: str = "declined", **kw):
        super().__init__(message, **kw)
        self.decline_code = decline_code


class ProviderUnavailable(PaymentError):
    """Transient: timeout, connection error, 5xx. Retry with the same idempotency key."""

    code = "provider_unavailable"
    http_status = 503
    default_message = "The payment provider did not answer; try again shortly."

    def __init__(self, message: str | None = None, *, error_code: str = "provider_unavailable",
                 timed_out: bool = False, **kw):
        super().__init__(message, **kw)
        self.error_code = error_code
        self.timed_out = timed_out


class ProviderRejected(PaymentError):
    """The provider refused the request itself (4xx): a bug or bad configuration, not the customer's card."""

    code = "provider_rejected"
    http_status = 502
    default_message = "The payment provider rejected the request."

    def __init__(self, message: str | None = None, *, error_code: str = "provider_rejected", **kw):
        super().__init__(message, **kw)
        self.error_code = error_code


class NotSupported(PaymentError):
    code = "not_supported_by_method"
    http_status = 400
    default_message = "This payment method does not support that operation."


class WebhookRejected(DomainError):
    """A notification failed verification (signature, timestamp) or could not be understood."""

    code = "webhook_rejected"
    http_status = 400
    default_message = "The notification could not be verified."


# --- the interface ----------------------------------------------------------
@runtime_checkable
class PaymentProvider(Protocol):
    """One payment provider. Calls are synchronous HTTP with a timeout; every mutating call
    carries an idempotency key so a retry after a timeout cannot charge twice."""

    name: str  # "sandbox", "stripe", "bank_transfer", ...
    offline: bool  # True: money arrives outside any API (bank transfer, cash); finance records it

    def create(self, request: CreatePayment) -> ProviderPayment: ...

    def confirm(self, *, provider_reference: str, payment_token: str, return_url: str,
                idempotency_key: str) -> ProviderPayment:
        """Pay with the token the provider's hosted form gave the customer (never a card number)."""

    def capture(self, *, provider_reference: str, amount: Money | None, idempotency_key: str) -> ProviderPayment: ...

    def cancel(self, *, provider_reference: str, idempotency_key: str) -> ProviderPayment: ...

    def refund(self, *, provider_reference: str, amount: Money, refund_reference: str,
               idempotency_key: str) -> ProviderRefund: ...

    def query(self, *, provider_reference: str) -> ProviderPayment: ...

    def query_refund(self, *, provider_refund_reference: str) -> ProviderRefund: ...

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify the signature (raise WebhookRejected) and translate the event."""

    def webhook_ack(self) -> WebhookAck: ...

    # Optional (hasattr):
    # - `from_account(account)` classmethod: the adapter from a ProviderAccount (settings JSON + secrets JSON);
    # - `test_connection() -> str`: "ok" or why not (the admin's "Test connection");
    # - `handle_return(*, provider_reference, params: Mapping[str, str], idempotency_key) -> ProviderPayment`:
    #   the customer came back from the provider's page with `params` (its redirect's query string); finish
    #   what the provider needs finished (PayPal: capture the approved order) or just say where the payment
    #   stands (verify the params, or query). Raise PaymentDeclined if they cancelled there. Without it,
    #   a return is answered by `query`.
