"""The fake card provider other tests lean on behaves like a provider: state, scripts, idempotency, signatures."""

from __future__ import annotations

import pytest

from clearhouse.core.money import Money
from clearhouse.payments.providers.base import (
    CreatePayment,
    PaymentDeclined,
    PaymentProvider,
    ProviderRejected,
    ProviderStatus,
    ProviderUnavailable,
    RefundStatus,
    WebhookRejected,
)
from tests.payments.fakes import FakeCardProvider

AMOUNT = Money(3333, "CNY")


def _create(fake, *, manual=False, amount=AMOUNT, key="PAY1:create"):
    return fake.create(CreatePayment(intent_reference="PAY1", amount=amount, manual_capture=manual,
                                     return_url="https://shop.example/r", notify_url="https://shop.example/w",
                                     description="Order 1", idempotency_key=key))


def _confirm(fake, ref, key="k-confirm"):
    return fake.confirm(provider_reference=ref, payment_token="pm", return_url="", idempotency_key=key)


def test_it_is_a_payment_provider():
    assert isinstance(FakeCardProvider(), PaymentProvider)


def test_create_then_confirm_captures_with_a_fee_rounded_half_up():
    fake = FakeCardProvider()
    created = _create(fake)
    assert created.status == ProviderStatus.REQUIRES_PAYMENT
    assert created.action_url == "https://pay.example/checkout/PAY1"
    paid = _confirm(fake, created.provider_reference)
    # 0.6 % of 33.33 is 0.19998 -> 0.20
    assert (paid.status, paid.amount_captured_minor, paid.fee_minor) == (ProviderStatus.CAPTURED, 3333, 20)
    half = FakeCardProvider()
    ref = _create(half, amount=Money(750, "CNY")).provider_reference
    assert _confirm(half, ref).fee_minor == 5  # 0.6 % of 7.50 is 0.045: half up to 0.05, not half-even 0.04
    assert fake.query(provider_reference=created.provider_reference) == paid


def test_manual_capture_authorizes_then_captures_part():
    fake = FakeCardProvider()
    ref = _create(fake, manual=True).provider_reference
    assert _confirm(fake, ref).status == ProviderStatus.AUTHORIZED
    captured = fake.capture(provider_reference=ref, amount=Money(1000, "CNY"), idempotency_key="cap")
    assert (captured.status, captured.amount_captured_minor, captured.fee_minor) == (ProviderStatus.CAPTURED, 1000, 6)
    with pytest.raises(ProviderRejected):
        fake.cancel(provider_reference=ref, idempotency_key="cancel")


def test_scripted_outcomes_come_in_order():
    fake = FakeCardProvider()
    ref = _create(fake).provider_reference
    fake.script("confirm", "unavailable", times=2)
    fake.script("confirm", "decline", decline_code="insufficient_funds")
    for key in ("a", "b"):
        with pytest.raises(ProviderUnavailable) as unavailable:
            _confirm(fake, ref, key)
        assert not unavailable.value.timed_out
    with pytest.raises(PaymentDeclined) as declined:
        _confirm(fake, ref, "c")
    assert declined.value.decline_code == "insufficient_funds"
    assert fake.query(provider_reference=ref).status == ProviderStatus.FAILED
    fake.script("confirm", "timeout")
    with pytest.raises(ProviderUnavailable) as timeout:
        _confirm(fake, ref, "d")
    assert timeout.value.timed_out and fake.query(provider_reference=ref).status == ProviderStatus.FAILED
    assert _confirm(fake, ref, "e").status == ProviderStatus.CAPTURED
    assert fake.calls_to("confirm") == 5


def test_a_lost_answer_did_the_work_and_a_retry_with_the_same_key_gets_it():
    fake = FakeCardProvider()
    ref = _create(fake).provider_reference
    fake.script("confirm", "timeout_after_success")
    with pytest.raises(ProviderUnavailable):
        _confirm(fake, ref, "same")
    assert _confirm(fake, ref, "same").status == ProviderStatus.CAPTURED
    assert _create(fake).provider_reference == ref  # same create key: the same payment


def test_requires_action_then_complete():
    fake = FakeCardProvider()
    ref = _create(fake).provider_reference
    fake.script("confirm", "requires_action")
    waiting = _confirm(fake, ref)
    assert waiting.status == ProviderStatus.REQUIRES_ACTION and waiting.action_url.endswith(ref)
    assert fake.complete_action(ref).status == ProviderStatus.CAPTURED


def test_refunds_never_exceed_the_capture_and_can_stay_pending():
    fake = FakeCardProvider()
    ref = _create(fake).provider_reference
    _confirm(fake, ref)
    fake.script("refund", "pending")
    pending = fake.refund(provider_reference=ref, amount=Money(3000, "CNY"), refund_reference="RF1",
                          idempotency_key="r1")
    assert pending.status == RefundStatus.PENDING
    with pytest.raises(ProviderRejected):
        fake.refund(provider_reference=ref, amount=Money(334, "CNY"), refund_reference="RF2", idempotency_key="r2")
    fake.settle_refund(pending.provider_reference)
    assert fake.query_refund(provider_refund_reference=pending.provider_reference).status == RefundStatus.SUCCEEDED
    assert fake.query(provider_reference=ref).amount_refunded_minor == 3000


def test_webhooks_are_verified_and_carry_the_state():
    now = 1_800_000_000
    fake = FakeCardProvider(clock=lambda: now)
    ref = _create(fake).provider_reference
    _confirm(fake, ref)
    body, headers = fake.webhook(ref, event_id="evt_1")
    event = fake.parse_webhook(body=body, headers={k.lower(): v for k, v in headers.items()})
    assert (event.event_id, event.type, event.payment.status, event.payment.fee_minor) == (
        "evt_1", "payment.captured", ProviderStatus.CAPTURED, 20)
    with pytest.raises(WebhookRejected):
        fake.parse_webhook(body=body + b" ", headers=headers)
    with pytest.raises(WebhookRejected):
        fake.parse_webhook(body=body, headers={"Fake-Signature": fake.signature(body, secret="wrong")})
    old_body, old_headers = fake.webhook(ref, timestamp=now - 301)
    with pytest.raises(WebhookRejected):
        fake.parse_webhook(body=old_body, headers=old_headers)
