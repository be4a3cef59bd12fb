"""Clearhouse's PayPal adapter against the PayPal simulator, in-process: tokens, orders, captures, refunds,
errors, amounts and webhooks (verified by PayPal's postback, with a transmission-time tolerance)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from clearhouse.core.money import Money
from clearhouse.payments.providers.base import (
    CreatePayment,
    NotSupported,
    PaymentDeclined,
    ProviderRejected,
    ProviderStatus,
    ProviderUnavailable,
    RefundStatus,
    WebhookRejected,
)
from clearhouse.payments.providers.paypal import PayPalProvider, money_from, paypal_value
from clearhouse.sandbox.paypal.models import AccessToken, Capture
from clearhouse.sandbox.paypal.webhooks import canonical, transmission_headers
from tests.sandbox.paypal.fixtures import (  # noqa: F401
    API_BASE,
    RETURN_URL,
    buyer_decides,
    paypal_app,
    paypal_http,
    paypal_provider,
    paypal_receiver,
    paypal_settings,
    register,
)

CNY_200 = Money(20000, "CNY")


def create(provider, amount=CNY_200, key="PAY-1:create"):
    return provider.create(CreatePayment(
        intent_reference="PAY-1", amount=amount, manual_capture=False, return_url=RETURN_URL,
        notify_url="https://clearhouse.test/webhooks/paypal/1/", description="Order SO-1", idempotency_key=key))


def approved(provider, email="buyer@example.com", amount=CNY_200):
    created = create(provider, amount)
    return created, buyer_decides(created.action_url, email=email)


def paid(provider):
    created, params = approved(provider)
    return provider.handle_return(provider_reference=created.provider_reference, params=params,
                                  idempotency_key="PAY-1:return")


def controls(http, **values):
    http.post("/v1/test_controls", json=values).raise_for_status()


# --- amounts ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("money", "value"), [
    (Money(20000, "CNY"), "200.00"), (Money(1999, "USD"), "19.99"), (Money(1000, "JPY"), "1000"),
    (Money(100000, "HUF"), "1000"), (Money(5, "EUR"), "0.05"),
])
def test_amounts_are_decimal_strings_in_paypals_precision(money, value):
    assert paypal_value(money) == value
    assert money_from({"currency_code": money.currency, "value": value}) == money


@pytest.mark.parametrize(("money", "code"), [
    (Money(100050, "HUF"), "DECIMALS_NOT_SUPPORTED"), (Money(100050, "TWD"), "DECIMALS_NOT_SUPPORTED"),
    (Money(10000, "KWD"), "CURRENCY_NOT_SUPPORTED"), (Money(1000, "BHD"), "CURRENCY_NOT_SUPPORTED"),
])
def test_amounts_paypal_cannot_take_are_refused_before_any_call(money, code):
    with pytest.raises(ProviderRejected) as refused:
        paypal_value(money)
    assert refused.value.error_code == code


def test_a_yen_order_round_trips_whole_yen(paypal_provider):
    created = create(paypal_provider, Money(1000, "JPY"))
    assert created.amount == Money(1000, "JPY")


# --- tokens ----------------------------------------------------------------------------------------------------
def test_the_token_is_cached_then_refreshed_when_it_expires(paypal_app):
    from clearhouse.payments.providers.http import transport_factory
    from tests.sandbox.support import DjangoTransport

    now = [time.time()]
    provider = PayPalProvider(api_base=API_BASE, client_id=paypal_app.client_id,
                              client_secret=paypal_app.client_secret, webhook_id=paypal_app.webhook_id,
                              timeout_s=5, clock=lambda: now[0])
    with transport_factory(lambda base_url: DjangoTransport()):
        order = create(provider)
        provider.query(provider_reference=order.provider_reference)
        assert AccessToken.objects.count() == 1
        now[0] += 32400  # PayPal's expires_in
        provider.query(provider_reference=order.provider_reference)
    assert AccessToken.objects.count() == 2


def test_a_token_revoked_at_paypal_is_replaced_on_401(paypal_provider, paypal_http):
    order = create(paypal_provider)
    paypal_http.post("/v1/test_controls/expire_tokens", json={}).raise_for_status()
    assert paypal_provider.query(provider_reference=order.provider_reference).status == ProviderStatus.REQUIRES_ACTION
    assert AccessToken.objects.count() == 3  # ours, the test client's, and ours again


def test_a_wrong_client_secret_fails_the_connection_test(paypal_app, paypal_provider):
    assert paypal_provider.test_connection() == "ok"
    wrong = PayPalProvider(api_base=API_BASE, client_id=paypal_app.client_id, client_secret="wrong", timeout_s=5)
    with pytest.raises(ProviderRejected) as refused:
        wrong.test_connection()
    assert refused.value.error_code == "invalid_client"


# --- paying ----------------------------------------------------------------------------------------------------
def test_create_sends_the_customer_to_paypals_approval_page(paypal_provider):
    created = create(paypal_provider)
    assert created.status == ProviderStatus.REQUIRES_ACTION and created.amount == Money(20000, "CNY")
    assert created.action_url == f"{API_BASE}/checkoutnow?token={created.provider_reference}"
    assert create(paypal_provider).provider_reference == created.provider_reference  # same PayPal-Request-Id


def test_the_approved_order_is_captured_on_return(paypal_provider):
    payment = paid(paypal_provider)
    capture = Capture.objects.get()
    assert payment.status == ProviderStatus.CAPTURED and payment.amount_captured_minor == 20000
    assert payment.fee_minor == 680 and payment.transaction_reference == capture.id
    assert payment.provider_reference == capture.order_id


def test_a_cancel_on_paypal_is_a_decline_by_the_payer(paypal_provider):
    created = create(paypal_provider)
    params = buyer_decides(created.action_url, decision="cancel")
    with pytest.raises(PaymentDeclined) as declined:
        paypal_provider.handle_return(provider_reference=created.provider_reference, params=params,
                                      idempotency_key="k")
    assert declined.value.decline_code == "payer_cancelled" and Capture.objects.count() == 0


def test_a_forged_return_without_approval_captures_nothing(paypal_provider):
    created = create(paypal_provider)
    with pytest.raises(PaymentDeclined) as declined:
        paypal_provider.handle_return(provider_reference=created.provider_reference,
                                      params={"token": created.provider_reference, "PayerID": "FORGED"},
                                      idempotency_key="k")
    assert declined.value.decline_code == "payer_cancelled"
    with pytest.raises(ProviderRejected):
        paypal_provider.handle_return(provider_reference=created.provider_reference,
                                      params={"token": "ANOTHERORDER", "PayerID": "X"}, idempotency_key="k2")


@pytest.mark.parametrize(("email", "code"), [("declined@example.com", "instrument_declined"),
                                             ("denied@example.com", "capture_declined")])
def test_declined_funding_is_a_payment_declined(paypal_provider, email, code):
    created, params = approved(paypal_provider, email=email)
    with pytest.raises(PaymentDeclined) as declined:
        paypal_provider.handle_return(provider_reference=created.provider_reference, params=params,
                                      idempotency_key="k")
    assert declined.value.decline_code == code


def test_a_pending_capture_is_processing(paypal_provider):
    created, params = approved(paypal_provider, email="pending@example.com")
    payment = paypal_provider.handle_return(provider_reference=created.provider_reference, params=params,
                                            idempotency_key="k")
    assert payment.status == ProviderStatus.PROCESSING


def test_a_timed_out_capture_retried_with_the_same_request_id_captures_once(paypal_provider, paypal_http):
    created, params = approved(paypal_provider)
    controls(paypal_http, slow_next_calls=1, slow_response_s=0.3)
    slow = PayPalProvider(api_base=API_BASE, client_id=paypal_provider._client_id,
                          client_secret=paypal_provider._client_secret, timeout_s=0.1)
    with pytest.raises(ProviderUnavailable) as timed_out:
        slow.handle_return(provider_reference=created.provider_reference, params=params, idempotency_key="k")
    assert timed_out.value.timed_out
    again = paypal_provider.handle_return(provider_reference=created.provider_reference, params=params,
                                          idempotency_key="k")
    assert again.status == ProviderStatus.CAPTURED and Capture.objects.count() == 1


def test_a_server_error_is_transient(paypal_provider, paypal_http):
    controls(paypal_http, fail_next_calls=1)
    with pytest.raises(ProviderUnavailable) as unavailable:
        create(paypal_provider)
    assert unavailable.value.error_code == "INTERNAL_SERVER_ERROR" and not unavailable.value.timed_out
    assert create(paypal_provider).status == ProviderStatus.REQUIRES_ACTION


def test_query_captures_an_order_approved_by_a_customer_who_never_came_back(paypal_provider):
    created, _ = approved(paypal_provider)
    found = paypal_provider.query(provider_reference=created.provider_reference)
    assert found.status == ProviderStatus.CAPTURED and Capture.objects.count() == 1
    assert paypal_provider.query(provider_reference=created.provider_reference).status == ProviderStatus.CAPTURED


def test_manual_capture_and_token_confirmation_are_not_paypal_flows(paypal_provider):
    with pytest.raises(NotSupported):
        paypal_provider.create(CreatePayment(intent_reference="P", amount=Money(100, "CNY"), manual_capture=True,
                                             return_url=RETURN_URL, notify_url="", description="", idempotency_key="x"))
    with pytest.raises(NotSupported):
        paypal_provider.confirm(provider_reference="X", payment_token="t", return_url="", idempotency_key="y")


def test_cancel_before_approval_and_refusal_after_capture(paypal_provider):
    created = create(paypal_provider)
    assert paypal_provider.cancel(provider_reference=created.provider_reference,
                                  idempotency_key="c").status == ProviderStatus.CANCELLED
    created2, params = approved(paypal_provider)
    done = paypal_provider.handle_return(provider_reference=created2.provider_reference, params=params,
                                         idempotency_key="r")
    with pytest.raises(ProviderRejected):
        paypal_provider.cancel(provider_reference=done.provider_reference, idempotency_key="c2")


# --- refunds ---------------------------------------------------------------------------------------------------
def test_partial_then_full_refunds_up_to_the_capture(paypal_provider):
    payment = paid(paypal_provider)
    order_id = payment.provider_reference
    first = paypal_provider.refund(provider_reference=order_id, amount=Money(8000, "CNY"), refund_reference="R-1",
                                   idempotency_key="R-1:refund")
    assert first.status == RefundStatus.SUCCEEDED and first.amount == Money(8000, "CNY")
    assert paypal_provider.query_refund(provider_refund_reference=first.provider_reference).amount.minor == 8000
    second = paypal_provider.refund(provider_reference=order_id, amount=Money(12000, "CNY"), refund_reference="R-2",
                                    idempotency_key="R-2:refund")
    assert second.status == RefundStatus.SUCCEEDED and Capture.objects.get().status == "REFUNDED"
    with pytest.raises(ProviderRejected) as refused:
        paypal_provider.refund(provider_reference=order_id, amount=Money(1, "CNY"), refund_reference="R-3",
                               idempotency_key="R-3:refund")
    assert refused.value.error_code in ("CAPTURE_NOT_COMPLETED", "CAPTURE_FULLY_REFUNDED")


def test_a_refund_above_what_is_left_is_refused(paypal_provider):
    payment = paid(paypal_provider)
    with pytest.raises(ProviderRejected) as refused:
        paypal_provider.refund(provider_reference=payment.provider_reference, amount=Money(20001, "CNY"),
                               refund_reference="R-1", idempotency_key="R-1:refund")
    assert refused.value.error_code == "REFUND_AMOUNT_EXCEEDED"


# --- webhooks --------------------------------------------------------------------------------------------------
def delivered(receiver, event_type):
    return next(r for r in receiver.received if r.event["event_type"] == event_type)


def test_a_capture_webhook_names_the_order_and_is_verified_by_postback(paypal_provider, paypal_receiver):
    payment = paid(paypal_provider)
    sent = delivered(paypal_receiver, "PAYMENT.CAPTURE.COMPLETED")
    event = paypal_provider.parse_webhook(body=sent.body, headers=sent.headers)
    assert event.payment.provider_reference == payment.provider_reference
    assert event.payment.status == ProviderStatus.CAPTURED and event.payment.fee_minor == 680
    assert event.event_id == sent.event["id"] and paypal_provider.webhook_ack().status == 200
    approved_event = paypal_provider.parse_webhook(**as_args(delivered(paypal_receiver, "CHECKOUT.ORDER.APPROVED")))
    assert approved_event.payment.status == ProviderStatus.REQUIRES_ACTION


def as_args(sent):
    return {"body": sent.body, "headers": sent.headers}


def test_a_refund_webhook_carries_the_refund(paypal_provider, paypal_receiver):
    payment = paid(paypal_provider)
    refund = paypal_provider.refund(provider_reference=payment.provider_reference, amount=Money(500, "CNY"),
                                    refund_reference="R-1", idempotency_key="R-1:refund")
    event = paypal_provider.parse_webhook(**as_args(delivered(paypal_receiver, "PAYMENT.CAPTURE.REFUNDED")))
    assert event.refund.provider_reference == refund.provider_reference and event.refund.amount.minor == 500


def test_one_changed_byte_in_the_body_is_refused(paypal_provider, paypal_receiver):
    paid(paypal_provider)
    sent = delivered(paypal_receiver, "PAYMENT.CAPTURE.COMPLETED")
    with pytest.raises(WebhookRejected):
        paypal_provider.parse_webhook(body=sent.body.replace(b'"200.00"', b'"100.00"', 1), headers=sent.headers)


def test_a_tampered_signature_is_refused(paypal_provider, paypal_receiver):
    paid(paypal_provider)
    sent = delivered(paypal_receiver, "PAYMENT.CAPTURE.COMPLETED")
    headers = dict(sent.headers)
    signature = headers["paypal-transmission-sig"]
    headers["paypal-transmission-sig"] = ("B" if signature[0] != "B" else "C") + signature[1:]
    with pytest.raises(WebhookRejected):
        paypal_provider.parse_webhook(body=sent.body, headers=headers)


def test_an_old_transmission_time_is_refused_even_when_genuinely_signed(paypal_provider, paypal_app):
    body = canonical({"id": "WH-OLD", "event_type": "PAYMENT.CAPTURE.COMPLETED", "create_time": "2026-01-01T00:00:00Z",
                      "resource": {}})
    old = datetime.fromtimestamp(time.time() - 301, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = transmission_headers(body=body, webhook_id=paypal_app.webhook_id, transmission_time=old)
    with pytest.raises(WebhookRejected, match="tolerance"):
        paypal_provider.parse_webhook(body=body, headers=headers)


def test_a_webhook_for_another_webhook_id_or_merchant_is_refused(paypal_provider, paypal_receiver, paypal_app):
    paid(paypal_provider)
    sent = delivered(paypal_receiver, "PAYMENT.CAPTURE.COMPLETED")
    other_webhook = PayPalProvider(api_base=API_BASE, client_id=paypal_app.client_id,
                                   client_secret=paypal_app.client_secret, webhook_id="NOTOURWEBHOOK", timeout_s=5)
    with pytest.raises(WebhookRejected, match="signature"):
        other_webhook.parse_webhook(body=sent.body, headers=sent.headers)
    other_merchant = PayPalProvider(api_base=API_BASE, client_id=paypal_app.client_id,
                                    client_secret=paypal_app.client_secret, webhook_id=paypal_app.webhook_id,
                                    merchant_id="SOMEONEELSE", timeout_s=5)
    with pytest.raises(WebhookRejected, match="another merchant"):
        other_merchant.parse_webhook(body=sent.body, headers=sent.headers)


def test_missing_headers_are_refused_without_calling_paypal(paypal_provider):
    with pytest.raises(WebhookRejected, match="transmission headers"):
        paypal_provider.parse_webhook(body=json.dumps({"id": "x"}).encode(), headers={})


def test_from_account_reads_settings_and_secrets(paypal_app):
    from types import SimpleNamespace

    account = SimpleNamespace(settings={"api_base": API_BASE, "client_id": paypal_app.client_id, "webhook_id": "W",
                                        "merchant_id": "M"},
                              secrets=json.dumps({"client_secret": paypal_app.client_secret}))
    provider = PayPalProvider.from_account(account)
    assert paypal_app.client_secret not in repr(provider) and provider._webhook_id == "W"
