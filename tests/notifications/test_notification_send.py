"""notification_send: render in the recipient's language, send by email or SMS, log every delivery."""

from __future__ import annotations

import pytest
from django.core import mail

from clearhouse.notifications.models import Delivery, DeliveryStatus
from clearhouse.notifications.services import notification_send
from clearhouse.notifications.sms import BaseSmsBackend

pytestmark = pytest.mark.django_db


class BrokenSmsGateway(BaseSmsBackend):
    def send(self, *, to: str, text: str) -> str:
        raise ConnectionError("gateway unreachable")


def voucher_pdf(*, order_number: str) -> list[tuple[str, bytes, str]]:
    """An attachment builder, as callers name them by dotted path."""
    return [(f"voucher-{order_number}.pdf", b"%PDF-1.7 fake", "application/pdf")]


def test_a_payment_email_is_rendered_in_english_and_logged_as_sent(succeeded_context):
    delivery = notification_send(template="payment_succeeded", channel="email", recipient="lin@example.com",
                                 context=succeeded_context, related=("order", "SO-20261123-000001"))
    assert delivery.status == DeliveryStatus.SENT and delivery.sent_at is not None and delivery.attempts == 1
    [message] = mail.outbox
    assert message.to == ["lin@example.com"]
    assert message.subject == "Payment received for order SO-20261123-000001"
    assert "We received your payment of ¥128.00 for order SO-20261123-000001." in message.body
    assert "Transaction reference: PA-7F3K9" in message.body
    assert delivery.subject == message.subject and delivery.body == message.body
    assert delivery.message_id == message.extra_headers["Message-ID"]
    assert (delivery.related_type, delivery.related_id) == ("order", "SO-20261123-000001")


def test_the_same_email_in_simplified_chinese(succeeded_context):
    delivery = notification_send(template="payment_succeeded", channel="email", recipient="lin@example.com",
                                 context=succeeded_context, language="zh-hans")
    [message] = mail.outbox
    assert message.subject == "订单 SO-20261123-000001 付款成功"
    assert "我们已收到订单 SO-20261123-000001 的付款 ¥128.00" in message.body
    assert "交易流水号: PA-7F3K9" in message.body
    assert "Payment" not in message.body
    assert delivery.language == "zh-hans"


def test_language_codes_are_normalised_and_unknown_ones_fall_back_to_english(succeeded_context):
    zh = notification_send(template="payment_succeeded", channel="email", recipient="a@example.com",
                           context=succeeded_context, language="zh_Hans")
    unknown = notification_send(template="payment_succeeded", channel="email", recipient="b@example.com",
                                context=succeeded_context, language="tlh")
    assert (zh.language, unknown.language) == ("zh-hans", "en")
    assert mail.outbox[1].subject.startswith("Payment received")


def test_the_email_has_an_html_part_and_plain_text_is_not_html_escaped(succeeded_context):
    context = {**succeeded_context, "merchant_name": "Tom & Jerry's <Teas>"}
    notification_send(template="payment_succeeded", channel="email", recipient="lin@example.com", context=context)
    [message] = mail.outbox
    assert "Merchant: Tom & Jerry's <Teas>" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "Tom &amp; Jerry&#x27;s &lt;Teas&gt;" in html
    assert 'href="http://127.0.0.1:8000/orders/SO-20261123-000001/voucher.pdf"' in html


def test_attachments_go_with_the_email_and_the_text_mentions_them(succeeded_context):
    notification_send(template="payment_succeeded", channel="email", recipient="lin@example.com",
                      context=succeeded_context, attachments=[("voucher.pdf", b"%PDF-1.7 fake", "application/pdf")])
    [message] = mail.outbox
    assert message.attachments == [("voucher.pdf", b"%PDF-1.7 fake", "application/pdf")]
    assert "Your payment voucher is attached (PDF)." in message.body


def test_an_attachment_builder_named_by_dotted_path_is_called_when_sending(succeeded_context):
    notification_send(template="payment_succeeded", channel="email", recipient="lin@example.com",
                      context=succeeded_context,
                      attachment_builder="tests.notifications.test_notification_send.voucher_pdf",
                      attachment_builder_kwargs={"order_number": "SO-1"})
    assert mail.outbox[0].attachments == [("voucher-SO-1.pdf", b"%PDF-1.7 fake", "application/pdf")]


def test_an_sms_goes_through_the_configured_backend(sms_outbox):
    delivery = notification_send(template="payment_failed", channel="sms", recipient="+8613800138000",
                                 language="zh-hans", context={"order_number": "SO-1", "amount": "¥12.00",
                                                              "reason": "余额不足", "pay_url": "http://x/pay/SO-1"})
    [sms] = sms_outbox
    assert sms.to == "+8613800138000"
    assert sms.text == "订单 SO-1（¥12.00）付款失败：余额不足。重新支付：http://x/pay/SO-1"  # noqa: RUF001  Chinese punctuation
    assert (delivery.status, delivery.body, delivery.message_id) == (DeliveryStatus.SENT, sms.text, sms.id)
    assert mail.outbox == []


def test_a_dedupe_key_sends_once_and_returns_the_first_delivery(sms_outbox):
    context = {"order_number": "SO-1", "amount": "¥12.00", "pay_url": "http://x/pay", "expires_at": "14:30"}
    first = notification_send(template="payment_reminder", channel="sms", recipient="+8613800138000",
                              context=context, dedupe_key="payment_reminder:SO-1:10")
    again = notification_send(template="payment_reminder", channel="sms", recipient="+8613800138000",
                              context=context, dedupe_key="payment_reminder:SO-1:10")
    assert again.pk == first.pk
    assert len(sms_outbox) == 1
    notification_send(template="payment_reminder", channel="sms", recipient="+8613800138000",
                      context=context, dedupe_key="payment_reminder:SO-1:20")
    assert len(sms_outbox) == 2 and Delivery.objects.count() == 2


def test_deliveries_without_a_dedupe_key_may_repeat(sms_outbox):
    for _ in range(2):
        notification_send(template="refund_due_offline", channel="sms", recipient="+8613800138000",
                          context={"order_number": "SO-1", "amount": "¥5.00"})
    assert len(sms_outbox) == 2


def test_a_failing_gateway_is_recorded_not_raised(settings):
    settings.CLEARHOUSE_SMS_BACKEND = "tests.notifications.test_notification_send.BrokenSmsGateway"
    delivery = notification_send(template="refund_succeeded", channel="sms", recipient="+8613800138000",
                                 context={"order_number": "SO-1", "amount": "¥5.00", "refund_reference": "RF-1"})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error == "ConnectionError: gateway unreachable"
    assert delivery.body.startswith("Refund of ¥5.00 for order SO-1")  # what we tried to send
    assert delivery.sent_at is None and delivery.attempts == 1


def test_a_missing_template_is_a_recorded_failure_too():
    delivery = notification_send(template="no_such_template", channel="email", recipient="lin@example.com",
                                 context={})
    assert delivery.status == DeliveryStatus.FAILED and "TemplateDoesNotExist" in delivery.error
    assert mail.outbox == []


def test_a_recipient_without_an_address_is_skipped(sms_outbox):
    delivery = notification_send(template="refund_due_offline", channel="sms", recipient="  ",
                                 context={"order_number": "SO-1", "amount": "¥5.00"})
    assert delivery.status == DeliveryStatus.SKIPPED and delivery.recipient == ""
    assert sms_outbox == []


def test_an_unknown_channel_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown channel"):
        notification_send(template="refund_due_offline", channel="pigeon", recipient="x", context={})


@pytest.mark.parametrize("template", ["payment_succeeded", "payment_failed", "payment_reminder", "refund_succeeded",
                                      "refund_due_offline", "low_stock_alert"])
@pytest.mark.parametrize("channel", ["email", "sms"])
def test_every_template_renders_in_chinese_with_no_english_left(template, channel, sms_outbox):
    context = {"order_number": "SO-1", "amount": "¥5.00", "method": "卡", "merchant_name": "茶馆",
               "transaction_reference": "PA-1", "paid_at": "2026-11-23", "voucher_url": "http://x/v",
               "reason": "拒付", "pay_url": "http://x/p", "expires_at": "14:30", "refund_reference": "RF-1",
               "sku": "TEA-1", "product_name": "龙井", "available": 3, "threshold": 5, "stock_url": "http://x/s"}
    delivery = notification_send(template=template, channel=channel, recipient="r@example.com", context=context,
                                 language="zh-hans")
    assert delivery.status == DeliveryStatus.SENT, delivery.error
    text = f"{delivery.subject} {delivery.body}"
    for word in ("order", "Order", "payment", "Payment", "refund", "Refund", "stock", "message", "Pay "):
        assert word not in text, text
