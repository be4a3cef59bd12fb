"""Specification of SandboxProvider, Clearhouse's adapter for the sandbox card provider (over in-process HTTP)."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from django.test import Client, TestCase

from clearhouse.core.money import Money
from clearhouse.payments.providers.base import (
    CreatePayment,
    PaymentDeclined,
    PaymentProvider,
    ProviderRejected,
    ProviderStatus,
    ProviderUnavailable,
    RefundStatus,
    WebhookAck,
    WebhookRejected,
)
from clearhouse.payments.providers.http import transport_factory
from clearhouse.payments.providers.sandbox import SandboxProvider
from tests.sandbox.fixtures import NOTIFY_URL, RETURN_URL
from tests.sandbox.support import pay_on_checkout

VISA = "4242 4242 4242 4242"


def key() -> str:
    return str(uuid.uuid4())


def create(provider, *, amount_minor=10000, manual=False, idempotency_key=None):
    return provider.create(CreatePayment(
        intent_reference="PI-1", amount=Money(amount_minor, "CNY"), manual_capture=manual, return_url=RETURN_URL,
        notify_url=NOTIFY_URL, description="Order SO-1", idempotency_key=idempotency_key or key()))


def paid_with(provider, number, **kw):
    payment = create(provider, **kw)
    token = pay_on_checkout(Client(), checkout_url=payment.action_url, number=number)
    return payment, token


def test_sandbox_provider_satisfies_the_interface(sandbox_provider):
    assert isinstance(sandbox_provider, PaymentProvider)
    assert sandbox_provider.name == "sandbox" and sandbox_provider.offline is False


def test_card_payment_is_captured_automatically(sandbox_provider, webhook_receiver):
    payment, token = paid_with(sandbox_provider, VISA)
    assert payment.status == ProviderStatus.REQUIRES_PAYMENT

    paid = sandbox_provider.confirm(provider_reference=payment.provider_reference, payment_token=token,
                                    return_url=RETURN_URL, idempotency_key=key())

    assert paid.status == ProviderStatus.CAPTURED
    assert paid.amount_captured_minor == 10000 and paid.fee_minor == 60
    assert paid.transaction_reference.startswith("ch_")
    assert webhook_receiver.types == ["payment_intent.succeeded"]


def test_create_sends_the_customer_to_the_hosted_card_form_and_back(sandbox_provider):
    payment = create(sandbox_provider)

    assert payment.provider_reference.startswith("pi_")
    assert payment.amount == Money(10000, "CNY")
    assert f"/sandbox/checkout/{payment.provider_reference}/?return_url=" in payment.action_url
    assert "clearhouse.test%2Fpay%2Freturn%2F" in payment.action_url


def test_create_replayed_with_the_same_idempotency_key_returns_the_same_payment(sandbox_provider):
    first = create(sandbox_provider, idempotency_key="create-PI-1")
    again = create(sandbox_provider, idempotency_key="create-PI-1")

    assert again.provider_reference == first.provider_reference


def test_the_same_idempotency_key_with_another_amount_is_rejected(sandbox_provider):
    create(sandbox_provider, idempotency_key="create-PI-1")

    with pytest.raises(ProviderRejected) as refused:
        create(sandbox_provider, amount_minor=999, idempotency_key="create-PI-1")
    assert refused.value.error_code == "idempotency_key_in_use"


def test_manual_capture_authorizes_then_a_partial_capture_releases_the_rest(sandbox_provider, webhook_receiver):
    payment, token = paid_with(sandbox_provider, VISA, manual=True)

    held = sandbox_provider.confirm(provider_reference=payment.provider_reference, payment_token=token,
                                    return_url=RETURN_URL, idempotency_key=key())
    assert held.status == ProviderStatus.AUTHORIZED and held.amount_captured_minor == 0

    captured = sandbox_provider.capture(provider_reference=payment.provider_reference, amount=Money(6000, "CNY"),
                                        idempotency_key=key())
    assert captured.status == ProviderStatus.CAPTURED
    assert captured.amount_captured_minor == 6000 and captured.fee_minor == 36
    assert webhook_receiver.types == ["payment_intent.amount_capturable_updated", "payment_intent.succeeded"]


def test_a_declined_card_raises_payment_declined_and_leaves_the_payment_failed(sandbox_provider, webhook_receiver):
    payment, token = paid_with(sandbox_provider, "4000 0000 0000 9995")

    with pytest.raises(PaymentDeclined) as declined:
        sandbox_provider.confirm(provider_reference=payment.provider_reference, payment_token=token,
                                 return_url=RETURN_URL, idempotency_key=key())

    assert declined.value.decline_code == "insufficient_funds"
    now = sandbox_provider.query(provider_reference=payment.provider_reference)
    assert now.status == ProviderStatus.FAILED and now.failure_code == "insufficient_funds"
    assert webhook_receiver.types == ["payment_intent.payment_failed"]


def _three_d_secure(provider, decision):
    payment, token = paid_with(provider, "4000 0027 6000 3184")
    challenge = provider.confirm(provider_reference=payment.provider_reference, payment_token=token,
                                 return_url=RETURN_URL, idempotency_key=key())
    assert challenge.status == ProviderStatus.REQUIRES_ACTION
    assert challenge.action_url.endswith(f"/sandbox/authenticate/{payment.provider_reference}/")
    with TestCase.captureOnCommitCallbacks(execute=True):  # the page's webhook goes out after commit
        answer = Client().post(urlsplit(challenge.action_url).path, {"decision": decision})
    assert answer.status_code == 302
    assert answer["Location"] == f"{RETURN_URL}&payment_intent={payment.provider_reference}"
    return provider.query(provider_reference=payment.provider_reference)


def test_three_d_secure_approved_completes_the_payment(sandbox_provider, webhook_receiver):
    after = _three_d_secure(sandbox_provider, "approve")

    assert after.status == ProviderStatus.CAPTURED and after.amount_captured_minor == 10000
    assert webhook_receiver.types == ["payment_intent.requires_action", "payment_intent.succeeded"]


def test_three_d_secure_denied_fails_the_payment(sandbox_provider, webhook_receiver):
    after = _three_d_secure(sandbox_provider, "deny")

    assert after.status == ProviderStatus.FAILED and after.failure_code == "authentication_failed"
    assert webhook_receiver.types == ["payment_intent.requires_action", "payment_intent.payment_failed"]


def test_a_processing_error_is_transient_and_changes_nothing(sandbox_provider, webhook_receiver):
    payment, token = paid_with(sandbox_provider, "4000 0000 0000 0119")

    with pytest.raises(ProviderUnavailable) as unavailable:
        sandbox_provider.confirm(provider_reference=payment.provider_reference, payment_token=token,
                                 return_url=RETURN_URL, idempotency_key=key())

    assert unavailable.value.error_code == "processing_error" and not unavailable.value.timed_out
    assert sandbox_provider.query(provider_reference=payment.provider_reference).status == (
        ProviderStatus.REQUIRES_PAYMENT)
    assert webhook_receiver.received == []


def test_a_timeout_is_unavailable_but_the_money_moved_so_a_query_finds_it_captured(
        sandbox_provider, webhook_receiver):
    payment, token = paid_with(sandbox_provider, "4000 0000 0000 7726")
    impatient = SandboxProvider(timeout_s=0.1)  # the sandbox answers this card after 0.3 s

    with pytest.raises(ProviderUnavailable) as unavailable:
        impatient.confirm(provider_reference=payment.provider_reference, payment_token=token,
                          return_url=RETURN_URL, idempotency_key="confirm-1")

    assert unavailable.value.timed_out is True
    assert sandbox_provider.query(provider_reference=payment.provider_reference).status == ProviderStatus.CAPTURED
    assert webhook_receiver.types == ["payment_intent.succeeded"]
    retried = sandbox_provider.confirm(provider_reference=payment.provider_reference, payment_token=token,
                                       return_url=RETURN_URL, idempotency_key="confirm-1")
    assert retried.status == ProviderStatus.CAPTURED  # the same key replays the answer; nothing is charged twice
    assert webhook_receiver.types == ["payment_intent.succeeded"]


def test_an_unpaid_payment_can_be_cancelled(sandbox_provider, webhook_receiver):
    payment = create(sandbox_provider)

    cancelled = sandbox_provider.cancel(provider_reference=payment.provider_reference, idempotency_key=key())

    assert cancelled.status == ProviderStatus.CANCELLED
    assert webhook_receiver.types == ["payment_intent.canceled"]


def test_an_authorized_payment_can_be_voided_but_a_captured_one_cannot(sandbox_provider):
    held, token = paid_with(sandbox_provider, VISA, manual=True)
    sandbox_provider.confirm(provider_reference=held.provider_reference, payment_token=token, return_url=RETURN_URL,
                             idempotency_key=key())
    assert sandbox_provider.cancel(provider_reference=held.provider_reference,
                                   idempotency_key=key()).status == ProviderStatus.CANCELLED

    paid, token = paid_with(sandbox_provider, VISA)
    sandbox_provider.confirm(provider_reference=paid.provider_reference, payment_token=token, return_url=RETURN_URL,
                             idempotency_key=key())
    with pytest.raises(ProviderRejected) as refused:
        sandbox_provider.cancel(provider_reference=paid.provider_reference, idempotency_key=key())
    assert refused.value.error_code == "payment_intent_unexpected_state"


def test_refunds_partial_then_full_and_never_above_what_was_received(sandbox_provider, webhook_receiver):
    payment, token = paid_with(sandbox_provider, VISA)
    sandbox_provider.confirm(provider_reference=payment.provider_reference, payment_token=token,
                             return_url=RETURN_URL, idempotency_key=key())

    part = sandbox_provider.refund(provider_reference=payment.provider_reference, amount=Money(4000, "CNY"),
                                   refund_reference="RF-1", idempotency_key=key())
    rest = sandbox_provider.refund(provider_reference=payment.provider_reference, amount=Money(6000, "CNY"),
                                   refund_reference="RF-2", idempotency_key=key())
    with pytest.raises(ProviderRejected) as too_large:
        sandbox_provider.refund(provider_reference=payment.provider_reference, amount=Money(1, "CNY"),
                                refund_reference="RF-3", idempotency_key=key())

    assert part.status == RefundStatus.SUCCEEDED and part.amount == Money(4000, "CNY")
    assert part.payment_reference == payment.provider_reference
    assert rest.provider_reference.startswith("re_")
    assert too_large.value.error_code == "amount_too_large"
    assert sandbox_provider.query(provider_reference=payment.provider_reference).amount_refunded_minor == 10000
    assert sandbox_provider.query_refund(provider_refund_reference=part.provider_reference) == part
    assert webhook_receiver.types[-2:] == ["refund.succeeded", "refund.succeeded"]


# --- webhooks ---------------------------------------------------------------------------------
def _genuine_webhook(provider, receiver):
    payment, token = paid_with(provider, VISA)
    provider.confirm(provider_reference=payment.provider_reference, payment_token=token, return_url=RETURN_URL,
                     idempotency_key=key())
    return payment, receiver.received[-1]


def test_a_genuine_webhook_is_verified_and_translated(sandbox_provider, webhook_receiver):
    payment, webhook = _genuine_webhook(sandbox_provider, webhook_receiver)

    event = sandbox_provider.parse_webhook(body=webhook.body, headers=webhook.headers)

    assert event.event_id.startswith("evt_") and event.type == "payment_intent.succeeded"
    assert event.payment.provider_reference == payment.provider_reference
    assert event.payment.status == ProviderStatus.CAPTURED and event.refund is None
    assert sandbox_provider.webhook_ack() == WebhookAck()


def test_a_webhook_with_one_byte_changed_is_rejected(sandbox_provider, webhook_receiver):
    _, webhook = _genuine_webhook(sandbox_provider, webhook_receiver)
    tampered = webhook.body.replace(b'"amount":10000', b'"amount":10001')
    assert len(tampered) == len(webhook.body) and tampered != webhook.body

    with pytest.raises(WebhookRejected):
        sandbox_provider.parse_webhook(body=tampered, headers=webhook.headers)


@pytest.mark.parametrize("skew_s", [360, -360])
def test_a_webhook_signed_more_than_five_minutes_away_is_rejected(sandbox_provider, webhook_receiver, skew_s):
    _, webhook = _genuine_webhook(sandbox_provider, webhook_receiver)
    later = SandboxProvider(clock=lambda: time.time() + skew_s)

    with pytest.raises(WebhookRejected):
        later.parse_webhook(body=webhook.body, headers=webhook.headers)


def test_a_webhook_without_a_signature_is_rejected(sandbox_provider, webhook_receiver):
    _, webhook = _genuine_webhook(sandbox_provider, webhook_receiver)

    with pytest.raises(WebhookRejected):
        sandbox_provider.parse_webhook(body=webhook.body, headers={"Content-Type": "application/json"})


def test_a_refund_webhook_carries_the_refund(sandbox_provider, webhook_receiver):
    payment, _ = _genuine_webhook(sandbox_provider, webhook_receiver)
    sandbox_provider.refund(provider_reference=payment.provider_reference, amount=Money(100, "CNY"),
                            refund_reference="RF-1", idempotency_key=key())
    webhook = webhook_receiver.received[-1]

    event = sandbox_provider.parse_webhook(body=webhook.body, headers=webhook.headers)

    assert event.type == "refund.succeeded" and event.payment is None
    assert event.refund.amount == Money(100, "CNY") and event.refund.status == RefundStatus.SUCCEEDED


# --- transport failures -----------------------------------------------------------------------
class Unreachable(httpx.BaseTransport):
    def handle_request(self, request):
        raise httpx.ConnectError("connection refused", request=request)


def test_a_connection_error_is_unavailable_without_a_timeout(sandbox_settings):
    with transport_factory(lambda base_url: Unreachable()), pytest.raises(ProviderUnavailable) as unavailable:
        SandboxProvider().query(provider_reference="pi_x")

    assert unavailable.value.timed_out is False and unavailable.value.error_code == "connection_error"


def test_injected_server_errors_are_unavailable_then_the_retry_succeeds(sandbox_provider, sandbox_http):
    sandbox_http.post("/test_controls", json={"fail_next_calls": 1})

    with pytest.raises(ProviderUnavailable) as unavailable:
        create(sandbox_provider, idempotency_key="create-PI-1")
    assert unavailable.value.error_code == "api_error"

    assert create(sandbox_provider, idempotency_key="create-PI-1").status == ProviderStatus.REQUIRES_PAYMENT


def test_a_wrong_secret_key_is_rejected_as_configuration(sandbox_provider):
    with pytest.raises(ProviderRejected) as refused:
        SandboxProvider(secret_key="sk_wrong").query(provider_reference="pi_x")

    assert refused.value.error_code == "invalid_api_key"


def test_an_unknown_payment_is_rejected(sandbox_provider):
    with pytest.raises(ProviderRejected) as refused:
        sandbox_provider.query(provider_reference="pi_unknown")

    assert refused.value.error_code == "resource_missing"
