"""Money that arrives outside any API: a bank transfer finance sees on the statement, cash at the counter."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from clearhouse.core.errors import InvalidTransition, ValidationFailed
from clearhouse.core.money import Money
from clearhouse.orders.models import Order
from clearhouse.payments.domain import AmountMismatch, IntentStatus, Method
from clearhouse.payments.locks import intent_select_for_update
from clearhouse.payments.models import PaymentIntent
from clearhouse.payments.providers.base import ProviderPayment, ProviderStatus
from clearhouse.payments.services.apply import intent_apply
from clearhouse.payments.services.intents import payment_start


def _received(intent: PaymentIntent, amount: Money) -> ProviderPayment:
    return ProviderPayment(provider_reference=intent.reference, status=ProviderStatus.CAPTURED, amount=amount,
                           amount_captured_minor=amount.minor, transaction_reference=intent.reference)


@transaction.atomic
def payment_mark_received(*, intent: PaymentIntent, amount: Money, bank_reference: str, actor=None) -> PaymentIntent:
    """Finance saw the customer's transfer on the bank statement: the order is paid and the receipt booked.

    The full amount must have arrived (a short or excess transfer goes to the exception queue, not here).
    Marking the same transfer twice changes nothing.
    """
    bank_reference = (bank_reference or "").strip()
    if not bank_reference or len(bank_reference) > 100:
        raise ValidationFailed("The bank's reference for the transfer is required.", param="bank_reference")
    locked = intent_select_for_update(intent_id=intent.pk)
    if locked.method != Method.BANK_TRANSFER:
        raise InvalidTransition(f"Payment {locked.reference} is not a bank transfer.", param="method")
    if locked.status == IntentStatus.CAPTURED and locked.received_reference == bank_reference:
        return locked
    if locked.status != IntentStatus.REQUIRES_PAYMENT:
        raise InvalidTransition(f"Payment {locked.reference} is {locked.status}; it cannot be marked received.",
                                param="status")
    if amount != Money(locked.amount_minor, locked.currency):
        raise AmountMismatch(f"Payment {locked.reference} expects {locked.amount_minor} {locked.currency} "
                             f"(minor units).", param="amount")
    locked.received_reference = bank_reference
    intent_apply(intent=locked, remote=_received(locked, amount), source="finance", actor=actor)
    return locked


@transaction.atomic
def payment_cash_record(*, order: Order, amount: Money, receipt_number: str, actor=None) -> PaymentIntent:
    """Staff took cash for an order and wrote receipt `receipt_number`: the order is paid."""
    receipt_number = (receipt_number or "").strip()
    if not receipt_number or len(receipt_number) > 60:
        raise ValidationFailed("The cash receipt's number is required.", param="receipt_number")
    existing = PaymentIntent.objects.filter(order=order, method=Method.CASH, receipt_number=receipt_number,
                                            status=IntentStatus.CAPTURED).first()
    if existing is not None:
        return existing
    intent = payment_start(order=order, method=Method.CASH, actor=actor, amount=amount)
    locked = intent_select_for_update(intent_id=intent.pk)
    locked.receipt_number = receipt_number
    locked.transaction_reference = receipt_number
    intent_apply(intent=locked, remote=_received(locked, amount), source="staff", actor=actor)
    locked.paid_at = locked.paid_at or timezone.now()
    return locked
