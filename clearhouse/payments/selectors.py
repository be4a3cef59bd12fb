"""Reads of payments. Merchant and customer scoping happen here, once."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from clearhouse.core.errors import NotFound
from clearhouse.payments.domain import RefundState
from clearhouse.payments.models import Attempt, PaymentIntent, Refund


def intent_list(*, merchant_id: int | None = None, customer_id: int | None = None, order_id: int | None = None,
                status: str | None = None, method: str | None = None,
                search: str | None = None) -> QuerySet[PaymentIntent]:
    """Payments, newest first; `search` matches our reference or the order number exactly (any case)."""
    qs = PaymentIntent.objects.select_related("order", "merchant")
    if search and search.strip():
        text = search.strip()
        qs = qs.filter(Q(reference=text.upper()) | Q(order__number__iexact=text))
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    if status:
        qs = qs.filter(status=status)
    if method:
        qs = qs.filter(method=method)
    return qs.order_by("-id")


def intent_get(*, reference: str, merchant_id: int | None = None, customer_id: int | None = None) -> PaymentIntent:
    intent = intent_list(merchant_id=merchant_id, customer_id=customer_id).filter(
        reference=reference.strip().upper()).first()
    if intent is None:
        raise NotFound(f"No payment {reference}.", param="reference")
    return intent


def intent_latest_for_order(*, order_id: int) -> PaymentIntent | None:
    return PaymentIntent.objects.filter(order_id=order_id).order_by("-id").first()


def intent_attempts(*, intent: PaymentIntent) -> list[Attempt]:
    return list(intent.attempts.order_by("id"))


def refund_list(*, merchant_id: int | None = None, customer_id: int | None = None, status: str | None = None,
                intent_id: int | None = None) -> QuerySet[Refund]:
    qs = Refund.objects.select_related("intent", "order")
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    if customer_id is not None:
        qs = qs.filter(intent__customer_id=customer_id)
    if status:
        qs = qs.filter(status=status)
    if intent_id is not None:
        qs = qs.filter(intent_id=intent_id)
    return qs.order_by("-id")


def refund_get(*, reference: str, merchant_id: int | None = None, customer_id: int | None = None) -> Refund:
    refund = refund_list(merchant_id=merchant_id, customer_id=customer_id).filter(
        reference=reference.strip().upper()).first()
    if refund is None:
        raise NotFound(f"No refund {reference}.", param="reference")
    return refund


def refunds_awaiting_approval(*, merchant_id: int | None = None) -> QuerySet[Refund]:
    return refund_list(status=RefundState.AWAITING_APPROVAL, merchant_id=merchant_id).order_by("id")


def offline_refunds_due(*, merchant_id: int | None = None) -> QuerySet[Refund]:
    return refund_list(status=RefundState.PENDING, merchant_id=merchant_id).filter(offline=True).order_by("id")


def transfers_awaiting_funds(*, merchant_id: int | None = None) -> QuerySet[PaymentIntent]:
    return intent_list(method="bank_transfer", status="requires_payment", merchant_id=merchant_id).order_by("id")


def payment_exceptions(*, merchant_id: int | None = None) -> dict[str, list]:
    """Finance's exception list: what the janitor could not resolve."""
    intents = PaymentIntent.objects.exclude(attention_reason="").select_related("order")
    refunds = Refund.objects.exclude(attention_reason="").select_related("order")
    if merchant_id is not None:
        intents, refunds = intents.filter(merchant_id=merchant_id), refunds.filter(merchant_id=merchant_id)
    return {"intents": list(intents.order_by("id")), "refunds": list(refunds.order_by("id"))}
