"""Request and response shapes of the payments and refunds API, and the mapping from models.

Amounts are decimal strings in major units of `currency` (never floats), as everywhere in the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.conf import settings
from ninja import Field, Path, Schema
from pydantic import WithJsonSchema

from clearhouse.api.routers.catalog_schemas import money_text
from clearhouse.api.routers.order_schemas import StrictBody
from clearhouse.payments.domain import IntentStatus, Method
from clearhouse.payments.models import Attempt, PaymentIntent, PaymentStatusChange, Refund

Reference = Annotated[str, Path(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9]+$")]
AmountString = Annotated[
    Any,
    WithJsonSchema({"type": "string", "example": "200.00",
                    "description": "Decimal string in major units of `currency`. Never a float."}),
]
Currency = Annotated[str, Field(min_length=3, max_length=3, examples=["CNY"])]


# --- requests ----------------------------------------------------------------------
class PaymentStartIn(StrictBody):
    method: str = Field(..., max_length=20, examples=["card", "bank_transfer"])
    amount: AmountString | None = Field(None, description="If given, must equal what the order is due")
    currency: Currency | None = Field(None, description="If given, must be the order's currency")


class ConfirmIn(StrictBody):
    payment_token: str = Field(..., min_length=1, max_length=200,
                               description="The token the provider's hosted form gave (never a card number)")


class CaptureIn(StrictBody):
    amount: AmountString | None = Field(None, description="Capture part of the authorization; default all of it")
    currency: Currency | None = None


class MarkReceivedIn(StrictBody):
    amount: AmountString
    currency: Currency | None = Field(None, description="Defaults to the payment's currency")
    bank_reference: str = Field(..., max_length=100, description="The bank's reference on the statement line")


class CashIn(StrictBody):
    amount: AmountString
    currency: Currency | None = Field(None, description="Defaults to the order's currency")
    receipt_number: str = Field(..., max_length=60, description="The paper receipt's number")


class RefundIn(StrictBody):
    amount: AmountString
    currency: Currency | None = Field(None, description="Defaults to the payment's currency")
    reason: str = Field(..., max_length=300)


class RejectIn(StrictBody):
    reason: str = Field("", max_length=60, description="Kept as the refund's failure_code")


class PayoutIn(StrictBody):
    bank_reference: str = Field(..., max_length=100, description="The bank's reference of the payout transfer")


# --- responses ---------------------------------------------------------------------
class NextActionOut(Schema):
    type: str = Field(..., examples=["redirect"])
    url: str


class InstructionsOut(Schema):
    """How to pay by bank transfer: quote `reference` so finance can match the money."""

    beneficiary: str
    bank: str
    account: str
    reference: str
    amount: str
    currency: str
    pay_by: datetime | None


class PaymentOut(Schema):
    reference: str
    order: str
    merchant: str
    method: str
    provider: str
    capture_method: str
    status: str
    currency: str
    amount: str
    amount_minor: int
    amount_authorized: str
    amount_captured: str
    amount_refunded: str
    fee: str | None = Field(None, description="The provider's fee once known (staff only)")
    transaction_reference: str
    failure_code: str
    failure_message: str
    receipt_number: str
    received_reference: str
    next_action: NextActionOut | None
    instructions: InstructionsOut | None
    paid_at: datetime | None
    created_at: datetime
    updated_at: datetime


class StatusChangeOut(Schema):
    from_status: str
    to_status: str
    source: str
    actor: str
    at: datetime


class AttemptOut(Schema):
    provider: str
    operation: str
    request_id: str
    try_number: int
    outcome: str
    error_code: str
    latency_ms: int
    at: datetime


class RefundOut(Schema):
    reference: str
    payment: str
    order: str
    status: str
    currency: str
    amount: str
    amount_minor: int
    reason: str
    offline: bool
    requested_by: str
    decided_by: str
    decided_at: datetime | None
    payout_reference: str
    failure_code: str
    succeeded_at: datetime | None
    created_at: datetime


class PaymentDetailOut(PaymentOut):
    status_changes: list[StatusChangeOut]
    attempts: list[AttemptOut] | None = Field(None, description="Each provider call (staff only)")
    refunds: list[RefundOut]


# --- mapping -----------------------------------------------------------------------
def _next_action(intent: PaymentIntent) -> dict | None:
    if not intent.action_url or intent.status not in (IntentStatus.REQUIRES_PAYMENT, IntentStatus.REQUIRES_ACTION):
        return None
    return {"type": "redirect", "url": intent.action_url}


def _instructions(intent: PaymentIntent) -> dict | None:
    if intent.method != Method.BANK_TRANSFER or intent.status != IntentStatus.REQUIRES_PAYMENT:
        return None
    return dict(beneficiary=settings.BANK_TRANSFER_BENEFICIARY, bank=settings.BANK_TRANSFER_BANK,
                account=settings.BANK_TRANSFER_ACCOUNT, reference=intent.reference,
                amount=money_text(intent.amount_minor, intent.currency), currency=intent.currency,
                pay_by=intent.order.expires_at)


def payment_out(intent: PaymentIntent, *, staff: bool) -> dict:
    def m(minor: int | None) -> str | None:
        return money_text(minor, intent.currency)

    return dict(
        reference=intent.reference, order=intent.order.number, merchant=intent.merchant.code, method=intent.method,
        provider=intent.provider, capture_method=intent.capture_method, status=intent.status,
        currency=intent.currency, amount=m(intent.amount_minor), amount_minor=intent.amount_minor,
        amount_authorized=m(intent.amount_authorized_minor), amount_captured=m(intent.amount_captured_minor),
        amount_refunded=m(intent.amount_refunded_minor), fee=m(intent.fee_minor) if staff else None,
        transaction_reference=intent.transaction_reference, failure_code=intent.failure_code,
        failure_message=intent.failure_message, receipt_number=intent.receipt_number,
        received_reference=intent.received_reference, next_action=_next_action(intent),
        instructions=_instructions(intent), paid_at=intent.paid_at, created_at=intent.created_at,
        updated_at=intent.updated_at,
    )


def refund_out(refund: Refund) -> dict:
    return dict(
        reference=refund.reference, payment=refund.intent.reference, order=refund.order.number,
        status=refund.status, currency=refund.currency, amount=money_text(refund.amount_minor, refund.currency),
        amount_minor=refund.amount_minor, reason=refund.reason, offline=refund.offline,
        requested_by=refund.requested_by, decided_by=refund.decided_by, decided_at=refund.decided_at,
        payout_reference=refund.payout_reference, failure_code=refund.failure_code,
        succeeded_at=refund.succeeded_at, created_at=refund.created_at,
    )


def _change_out(change: PaymentStatusChange) -> dict:
    return dict(from_status=change.from_status, to_status=change.to_status, source=change.source,
                actor=change.actor, at=change.created_at)


def _attempt_out(attempt: Attempt) -> dict:
    return dict(provider=attempt.provider, operation=attempt.operation, request_id=attempt.request_id,
                try_number=attempt.try_number, outcome=attempt.outcome, error_code=attempt.error_code,
                latency_ms=attempt.latency_ms, at=attempt.created_at)


def payment_detail_out(intent: PaymentIntent, *, staff: bool, attempts: list[Attempt],
                       refunds: list[Refund]) -> dict:
    return dict(payment_out(intent, staff=staff),
                status_changes=[_change_out(c) for c in intent.status_changes.order_by("id")],
                attempts=[_attempt_out(a) for a in attempts] if staff else None,
                refunds=[refund_out(r) for r in refunds])
