"""What the customer is told about their payment, by email and SMS, after the transaction commits.

Each notice has a dedupe key, so one event never produces two messages even
when the code path that announces it runs twice (a webhook and a poll).
"""

from __future__ import annotations

from django.conf import settings
from django.utils import formats, timezone

from clearhouse.core.money import Money
from clearhouse.notifications.services import notify_many_after_commit


def _amount(minor: int, currency: str, language: str) -> str:
    return Money(minor, currency).format(locale="zh_Hans_CN" if language.startswith("zh") else "en")


def _both_channels(*, template: str, customer, context: dict, language: str, dedupe_key: str,
                   related: tuple[str, str], **email_extra) -> None:
    notify_many_after_commit(messages=[
        dict(template=template, channel="email", recipient=customer.email, context=context, language=language,
             dedupe_key=f"{dedupe_key}:email", related=related, **email_extra),
        dict(template=template, channel="sms", recipient=customer.phone, context=context, language=language,
             dedupe_key=f"{dedupe_key}:sms", related=related),
    ])


def payment_succeeded(*, intent) -> None:
    """The voucher goes out with the email; the SMS says paid and where to download it."""
    order = intent.order
    context = {
        "order_number": order.number, "amount": _amount(intent.amount_captured_minor or intent.amount_minor,
                                                        intent.currency, intent.language),
        "method": intent.method, "merchant_name": intent.merchant.name,
        "transaction_reference": intent.transaction_reference or intent.reference,
        "paid_at": formats.date_format(timezone.localtime(intent.paid_at or timezone.now()), "Y-m-d H:i"),
        "voucher_url": f"{settings.CLEARHOUSE_PUBLIC_URL}/pay/{order.number}/voucher/{intent.reference}.pdf",
    }
    _both_channels(template="payment_succeeded", customer=intent.customer, context=context,
                   language=intent.language, dedupe_key=f"payment_succeeded:{intent.reference}",
                   related=("order", order.number),
                   attachment_builder="clearhouse.payments.receipts.voucher_attachments",
                   attachment_builder_kwargs={"reference": intent.reference})


def payment_failed(*, intent, pay_url: str) -> None:
    context = {"order_number": intent.order.number, "pay_url": pay_url,
               "amount": _amount(intent.amount_minor, intent.currency, intent.language),
               "reason": intent.failure_message or intent.failure_code}
    _both_channels(template="payment_failed", customer=intent.customer, context=context, language=intent.language,
                   dedupe_key=f"payment_failed:{intent.reference}", related=("order", intent.order.number))


def refund_succeeded(*, refund) -> None:
    intent = refund.intent
    context = {"order_number": refund.order.number, "refund_reference": refund.reference,
               "amount": _amount(refund.amount_minor, refund.currency, intent.language)}
    _both_channels(template="refund_succeeded", customer=intent.customer, context=context, language=intent.language,
                   dedupe_key=f"refund_succeeded:{refund.reference}", related=("order", refund.order.number))


def refund_due_offline(*, refund) -> None:
    intent = refund.intent
    context = {"order_number": refund.order.number,
               "amount": _amount(refund.amount_minor, refund.currency, intent.language)}
    _both_channels(template="refund_due_offline", customer=intent.customer, context=context,
                   language=intent.language, dedupe_key=f"refund_due:{refund.reference}",
                   related=("order", refund.order.number))
