"""The payment voucher: a PDF the customer downloads and receives by email."""

from __future__ import annotations

from django.utils import timezone

from clearhouse.core.money import Money
from clearhouse.core.pdf import render_pdf
from clearhouse.payments.domain import IntentStatus
from clearhouse.payments.models import PaymentIntent


def voucher_pdf(*, intent: PaymentIntent, language: str | None = None) -> bytes:
    """Order number, amount, method, time, transaction reference and merchant of a captured payment."""
    if intent.status != IntentStatus.CAPTURED:
        raise ValueError(f"payment {intent.reference} is not captured; there is no voucher")
    language = language or intent.language
    locale = "zh_Hans_CN" if language.startswith("zh") else "en"
    context = {
        "intent": intent, "order": intent.order, "merchant": intent.merchant,
        "amount": Money(intent.amount_captured_minor, intent.currency).format(locale=locale),
        "refunded": Money(intent.amount_refunded_minor, intent.currency).format(locale=locale)
        if intent.amount_refunded_minor else "",
        "paid_at": timezone.localtime(intent.paid_at).strftime("%Y-%m-%d %H:%M:%S %Z") if intent.paid_at else "",
        "transaction_reference": intent.transaction_reference or intent.reference,
    }
    return render_pdf(template="payments/voucher.html", context=context, language=language)


def voucher_filename(intent: PaymentIntent) -> str:
    return f"voucher-{intent.order.number}-{intent.reference}.pdf"


def voucher_attachments(*, reference: str) -> list[tuple[str, bytes, str]]:
    """[(filename, content, mimetype)] for the payment-succeeded email, built when the email is sent."""
    intent = PaymentIntent.objects.select_related("order", "merchant").get(reference=reference)
    return [(voucher_filename(intent), voucher_pdf(intent=intent), "application/pdf")]


