"""Specification of StripeProvider, Clearhouse's Stripe adapter (the official SDK), against the simulator
in-process; the SDK's own webhook signing is the independent peer for verification."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import stripe

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
from clearhouse.payments.providers.stripe import StripeProvider, from_stripe_amount, to_stripe_amount
from tests.sandbox.stripe.fixtures import (  # noqa: F401
    API_BASE,
    DECLINE,
    NOTIFY_URL,
    RETURN_URL,
    THREE_DS,
    VISA,
    authenticate,
    pay_on_page,
    query_of,
    stripe_account,
    stripe_endpoint,
    stripe_http,
    stripe_provider,
    stripe_receiver,
    stripe_settings,
)


def key() -> str:
    return str(uuid.uuid4())


CNY_200 = Money(20000, "CNY")


def create(provider, *, amount=CNY_200, manual=False, idempotency_key=None):
    return provider.create(CreatePayment(
        intent_reference="PAY-1", amount=amount, manual_capture=manual, return_url=RETURN_URL,
        notify_url=NOTIFY_URL, description="Order SO-1", idempotency_key=idempotency_key or key()))


def confirm(provider, payment, token="pm_card_visa"):
    return provider.confirm(provider_reference=payment.provider_reference, payment_token=token,
                            return_url=RETURN_URL, idempotency_key=key())


def controls(stripe_http, **values):
    stripe_http.post("/_test/controls", data={k: str(v).lower() for k, v in values.items()}).raise_for_status()


# --- payments ----------------------------------------------------------------------------------------
def test_the_adapter_satisfies_the_interface(stripe_provider):
    assert isinstance(stripe_provider, PaymentProvider)
    assert stripe_provider.name == "stripe" and stripe_provider.offline is False


def test_create_sends_the_customer_to_the_payment_page_with_our_return_url(stripe_provider):
    payment = create(stripe_provider)
    assert payment.provider_reference.startswith("pi_") and payment.status == ProviderStatus.REQUIRES_PAYMENT
    assert payment.amount == Money(20000, "CNY")
    assert payment.action_url.startswith(f"{API_BASE}/pay/{payment.provider_reference}/?return_url=https%3A")


def test_create_replayed_with_its_idempotency_key_is_the_same_payment(stripe_provider):
    first = create(stripe_provider, idempotency_key="PAY-1:create")
    assert create(stripe_provider, idempotency_key="PAY-1:create").provider_reference == first.provider_reference


def test_the_same_idempotency_key_with_another_amount_is_refused(stripe_provider):
    create(stripe_provider, idempotency_key="PAY-1:create")
    with pytest.raises(ProviderRejected) as refused:
        create(stripe_provider, amount=Money(999, "CNY"), idempotency_key="PAY-1:create")
    assert refused.value.error_code == "idempotency_error"


def test_a_card_payment_is_captured_with_stripes_fee(stripe_provider):
    paid = confirm(stripe_provider, create(stripe_provider))
    assert paid.status == ProviderStatus.CAPTURED and paid.amount_captured_minor == 20000
    assert paid.fee_minor == 610  # 2.9% + 30, from the charge's balance transaction
    assert paid.transaction_reference.startswith("ch_")


def test_a_declined_card_is_payment_declined_and_the_payment_failed(stripe_provider):
    payment = create(stripe_provider)
    with pytest.raises(PaymentDeclined) as declined:
        confirm(stripe_provider, payment, "pm_card_visa_chargeDeclinedInsufficientFunds")
    assert declined.value.decline_code == "insufficient_funds"
    assert "insufficient funds" in declined.value.message
    now = stripe_provider.query(provider_reference=payment.provider_reference)
    assert now.status == ProviderStatus.FAILED and now.failure_code == "insufficient_funds"


def test_three_d_secure_sends_the_customer_to_the_challenge(stripe_provider):
    challenged = confirm(stripe_provider, create(stripe_provider), "pm_card_authenticationRequired")
    assert challenged.status == ProviderStatus.REQUIRES_ACTION
    assert f"/sandbox/stripe/authenticate/{challenged.provider_reference}/" in challenged.action_url


def test_manual_capture_authorizes_then_captures_part(stripe_provider, stripe_receiver):
    held = confirm(stripe_provider, create(stripe_provider, manual=True))
    assert held.status == ProviderStatus.AUTHORIZED and held.amount_captured_minor == 0
    captured = stripe_provider.capture(provider_reference=held.provider_reference, amount=Money(15000, "CNY"),
                                       idempotency_key=key())
    assert captured.status == ProviderStatus.CAPTURED and captured.amount_captured_minor == 15000
    assert captured.fee_minor == 465


def test_cancel_voids_an_authorization(stripe_provider):
    held = confirm(stripe_provider, create(stripe_provider, manual=True))
    cancelled = stripe_provider.cancel(provider_reference=held.provider_reference, idempotency_key=key())
    assert cancelled.status == ProviderStatus.CANCELLED


def test_partial_then_full_refund(stripe_provider):
    paid = confirm(stripe_provider, create(stripe_provider))
    part = stripe_provider.refund(provider_reference=paid.provider_reference, amount=Money(8000, "CNY"),
                                  refund_reference="REF-1", idempotency_key=key())
    assert part.status == RefundStatus.SUCCEEDED and part.amount == Money(8000, "CNY")
    assert part.payment_reference == paid.provider_reference
    rest = stripe_provider.refund(provider_reference=paid.provider_reference, amount=Money(12000, "CNY"),
                                  refund_reference="REF-2", idempotency_key=key())
    assert rest.status == RefundStatus.SUCCEEDED
    assert stripe_provider.query(provider_reference=paid.provider_reference).amount_refunded_minor == 20000
    with pytest.raises(ProviderRejected) as refused:
        stripe_provider.refund(provider_reference=paid.provider_reference, amount=Money(1, "CNY"),
                               refund_reference="REF-3", idempotency_key=key())
    assert refused.value.error_code == "charge_already_refunded"


def test_a_pending_refund_is_settled_later_and_found_by_query(stripe_provider, stripe_http):
    paid = confirm(stripe_provider, create(stripe_provider))
    controls(stripe_http, pending_refunds=True)
    refund = stripe_provider.refund(provider_reference=paid.provider_reference, amount=Money(5000, "CNY"),
                                    refund_reference="REF-1", idempotency_key=key())
    assert refund.status == RefundStatus.PENDING
    stripe_http.post("/_test/controls/settle_refunds").raise_for_status()
    assert stripe_provider.query_refund(provider_refund_reference=refund.provider_reference).status == \
        RefundStatus.SUCCEEDED


# --- failures ----------------------------------------------------------------------------------------
def test_a_5xx_is_provider_unavailable_and_the_retry_with_the_same_key_succeeds(stripe_provider, stripe_http):
    payment = create(stripe_provider)
    controls(stripe_http, fail_next_calls=1)
    with pytest.raises(ProviderUnavailable) as unavailable:
        stripe_provider.confirm(provider_reference=payment.provider_reference, payment_token="pm_card_visa",
                                return_url=RETURN_URL, idempotency_key="PAY-1:confirm")
    assert unavailable.value.timed_out is False and unavailable.value.error_code == "api_error"
    paid = stripe_provider.confirm(provider_reference=payment.provider_reference, payment_token="pm_card_visa",
                                   return_url=RETURN_URL, idempotency_key="PAY-1:confirm")
    assert paid.status == ProviderStatus.CAPTURED


def test_a_timeout_then_a_retry_with_the_same_key_gets_the_first_result(stripe_account, stripe_endpoint,
                                                                       stripe_provider, stripe_http):
    payment = create(stripe_provider)
    controls(stripe_http, slow_next_calls=1, slow_s=0.4)
    impatient = StripeProvider(secret_key=stripe_account.secret_key, api_base=API_BASE, timeout_s=0.1)
    with pytest.raises(ProviderUnavailable) as timed_out:
        impatient.confirm(provider_reference=payment.provider_reference, payment_token="pm_card_visa",
                          return_url=RETURN_URL, idempotency_key="PAY-1:confirm")
    assert timed_out.value.timed_out is True and timed_out.value.error_code == "timeout"
    again = stripe_provider.confirm(provider_reference=payment.provider_reference, payment_token="pm_card_visa",
                                    return_url=RETURN_URL, idempotency_key="PAY-1:confirm")
    assert again.status == ProviderStatus.CAPTURED  # replayed: charged once


def test_a_wrong_secret_key_is_refused_and_test_connection_says_so(stripe_provider, stripe_account):
    wrong = StripeProvider(secret_key="sk_test_not_this_one", api_base=API_BASE, timeout_s=5)
    with pytest.raises(ProviderRejected) as refused:
        wrong.query(provider_reference="pi_x")
    assert refused.value.error_code == "api_key_invalid"
    assert "sk_test" not in refused.value.message and "sk_test" not in repr(wrong)
    assert wrong.test_connection().startswith("refused: api_key_invalid")
    assert stripe_provider.test_connection() == "ok"


def test_the_return_from_the_page_is_not_trusted_the_payment_intent_is_asked(stripe_provider):
    payment = create(stripe_provider)
    said = stripe_provider.handle_return(provider_reference=payment.provider_reference, idempotency_key=key(),
                                         params={"payment_intent": payment.provider_reference,
                                                 "redirect_status": "succeeded"})
    assert said.status == ProviderStatus.REQUIRES_PAYMENT  # nothing was paid, whatever the URL says


def test_the_return_after_paying_on_the_page_is_captured(stripe_provider):
    payment = create(stripe_provider)
    back = pay_on_page(payment.action_url, VISA)
    params = query_of(back)
    assert params["redirect_status"] == "succeeded"
    said = stripe_provider.handle_return(provider_reference=payment.provider_reference, params=params,
                                         idempotency_key=key())
    assert said.status == ProviderStatus.CAPTURED and said.fee_minor == 610


# --- amounts per exponent ------------------------------------------------------------------------------
@pytest.mark.parametrize(("money", "wire"), [
    (Money(500, "JPY"), 500),  # zero-decimal: whole yen
    (Money(1999, "USD"), 1999), (Money(20000, "CNY"), 20000),  # two decimals: cents, fen
    (Money(5120, "KWD"), 5120),  # three decimals, ending in 0
    (Money(5, "ISK"), 500),  # zero-decimal sent with two decimals
])
def test_amounts_are_stripes_integers_per_currency(money, wire):
    assert to_stripe_amount(money) == wire
    assert from_stripe_amount(wire, money.currency.lower()) == money


def test_a_three_decimal_amount_stripe_cannot_charge_is_refused_not_rounded():
    with pytest.raises(ProviderRejected) as refused:
        to_stripe_amount(Money(5124, "KWD"))
    assert refused.value.error_code == "amount_precision"


@pytest.mark.parametrize("money", [Money(500, "JPY"), Money(1999, "USD"), Money(5120, "KWD")])
def test_each_exponent_round_trips_through_the_simulator(stripe_provider, money):
    paid = confirm(stripe_provider, create(stripe_provider, amount=money))
    assert paid.amount == money and paid.amount_captured_minor == money.minor


# --- webhooks ----------------------------------------------------------------------------------------
def event_body(obj: dict, type: str = "payment_intent.succeeded", event_id: str = "evt_test_1") -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": type, "created": int(time.time()),
                       "data": {"object": obj}, "livemode": False}).encode()


def signed(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Sign as Stripe does, with the official SDK (the independent peer)."""
    return {"Stripe-Signature": stripe.WebhookSignature.generate_signature_header(body.decode(), secret,
                                                                                timestamp=timestamp)}


def intent_object(stripe_http, stripe_provider) -> dict:
    paid = confirm(stripe_provider, create(stripe_provider))
    return stripe_http.get(f"/v1/payment_intents/{paid.provider_reference}").json()


def test_an_event_signed_by_the_sdk_is_accepted_with_the_fee(stripe_provider, stripe_http, stripe_endpoint):
    body = event_body(intent_object(stripe_http, stripe_provider))
    event = stripe_provider.parse_webhook(body=body, headers=signed(body, stripe_endpoint.secret))
    assert event.event_id == "evt_test_1" and event.type == "payment_intent.succeeded"
    assert event.payment.status == ProviderStatus.CAPTURED and event.payment.fee_minor == 610
    assert stripe_provider.webhook_ack() == WebhookAck()


def test_the_simulators_own_events_verify(stripe_provider, stripe_receiver):
    confirm(stripe_provider, create(stripe_provider))
    received = stripe_receiver.received[-1]
    event = stripe_provider.parse_webhook(body=received.body, headers=received.headers)
    assert event.payment.status == ProviderStatus.CAPTURED


def test_one_changed_byte_of_the_body_is_refused(stripe_provider, stripe_http, stripe_endpoint):
    body = event_body(intent_object(stripe_http, stripe_provider))
    headers = signed(body, stripe_endpoint.secret)
    tampered = body.replace(b'"amount": 20000', b'"amount": 20001')
    assert tampered != body
    with pytest.raises(WebhookRejected):
        stripe_provider.parse_webhook(body=tampered, headers=headers)


def test_one_changed_character_of_the_signature_is_refused(stripe_provider, stripe_endpoint):
    body = event_body({"id": "pi_1", "object": "payment_intent"})
    header = signed(body, stripe_endpoint.secret)["Stripe-Signature"]
    flipped = header[:-1] + ("0" if header[-1] != "0" else "1")
    with pytest.raises(WebhookRejected):
        stripe_provider.parse_webhook(body=body, headers={"Stripe-Signature": flipped})


def test_an_expired_timestamp_is_refused(stripe_provider, stripe_http, stripe_endpoint):
    body = event_body(intent_object(stripe_http, stripe_provider))
    with pytest.raises(WebhookRejected) as refused:
        stripe_provider.parse_webhook(body=body, headers=signed(body, stripe_endpoint.secret, int(time.time()) - 360))
    assert "tolerance" in refused.value.message


def test_another_endpoints_secret_or_no_signature_is_refused(stripe_provider):
    body = event_body({"id": "pi_1", "object": "payment_intent"})
    with pytest.raises(WebhookRejected):
        stripe_provider.parse_webhook(body=body, headers=signed(body, "whsec_another_endpoint"))
    with pytest.raises(WebhookRejected):
        stripe_provider.parse_webhook(body=body, headers={})


def test_a_refund_event_carries_the_refund(stripe_provider, stripe_endpoint):
    body = event_body({"id": "re_1", "object": "refund", "amount": 8000, "currency": "cny", "status": "succeeded",
                       "payment_intent": "pi_1"}, type="refund.updated")
    event = stripe_provider.parse_webhook(body=body, headers=signed(body, stripe_endpoint.secret))
    assert event.refund.status == RefundStatus.SUCCEEDED and event.refund.amount == Money(8000, "CNY")
    assert event.payment is None
