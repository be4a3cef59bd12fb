"""Specification of AlipayProvider, Clearhouse's adapter for Alipay's Open Platform (RSA2), against the
simulator over in-process HTTP, with the official python-alipay-sdk as the independent oracle of
signatures."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from alipay import AliPay
from django.test import Client

from clearhouse.core.money import Money
from clearhouse.payments.providers.alipay import (
    AlipayProvider,
    decimal_string,
    money_from_yuan,
    raise_for_business_error,
    response_content,
    yuan,
)
from clearhouse.payments.providers.base import (
    CreatePayment,
    NotSupported,
    PaymentDeclined,
    PaymentProvider,
    ProviderRejected,
    ProviderStatus,
    ProviderUnavailable,
    RefundStatus,
    WebhookRejected,
)
from clearhouse.sandbox.alipay.domain import new_key_pair, sign_params
from clearhouse.sandbox.alipay.models import Trade
from clearhouse.sandbox.alipay.notify import notify_params
from tests.sandbox.alipay.fixtures import (  # noqa: F401
    GATEWAY,
    NOTIFY_URL,
    RETURN_URL,
    alipay,
    alipay_account,
    alipay_app,
    alipay_secrets,
    alipay_settings,
    buyer_cancels,
    buyer_pays,
    controls,
    notify_receiver,
    open_cashier,
)
from tests.sandbox.support import DjangoTransport


def create(provider, *, reference="PAY-1", amount: Money | None = None, manual=False):
    return provider.create(CreatePayment(intent_reference=reference, amount=amount or Money(12345, "CNY"),
                                         manual_capture=manual, return_url=RETURN_URL, notify_url=NOTIFY_URL,
                                         description="Order SO-1", idempotency_key=f"{reference}:create"))


def paid_by_page(provider, reference="PAY-1") -> dict[str, str]:
    """Create, open the cashier, pay; the signed sync-return params the browser brings back."""
    client = Client()
    response = buyer_pays(client, open_cashier(client, create(provider, reference=reference).action_url))
    return dict(parse_qsl(urlsplit(response["Location"]).query))


def sdk(app_private_key: str, alipay_public_key: str, app_id: str) -> AliPay:
    return AliPay(appid=app_id, app_private_key_string=app_private_key, alipay_public_key_string=alipay_public_key)


# --- interface and configuration -------------------------------------------------------------------
def test_the_adapter_satisfies_the_interface_and_is_built_from_the_account(alipay, alipay_account):
    assert isinstance(alipay, PaymentProvider) and alipay.name == "alipay" and alipay.offline is False
    assert alipay.app_id == alipay_account.settings["app_id"] and alipay.flow == "page"
    assert alipay.api_base == GATEWAY
    assert "PRIVATE" not in repr(alipay) and "app_private_key" not in repr(alipay)


def test_test_connection_proves_app_id_keys_and_address(alipay, alipay_app):
    assert alipay.test_connection() == "ok"
    other_private, _ = new_key_pair()
    wrong = AlipayProvider(app_id=alipay.app_id, app_private_key=other_private,
                           alipay_public_key=alipay_app.alipay_public_key, api_base=GATEWAY)
    assert wrong.test_connection().startswith("isv.invalid-signature")


# --- amounts ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("money", "text"), [
    (Money(12345, "CNY"), "123.45"), (Money(10, "CNY"), "0.10"), (Money(100, "JPY"), "100"),
    (Money(1234, "KWD"), "1.234"), (Money(5, "BHD"), "0.005"), (Money(199, "USD"), "1.99")])
def test_amounts_are_exact_decimal_strings_per_currency_exponent(money, text):
    assert decimal_string(money) == text


def test_alipay_takes_yuan_with_two_decimals_and_refuses_other_currencies():
    assert yuan(Money(12345, "CNY")) == "123.45" and money_from_yuan("0.10") == Money(10, "CNY")
    for other in (Money(100, "JPY"), Money(1234, "KWD"), Money(199, "USD")):
        with pytest.raises(ProviderRejected) as refused:
            yuan(other)
        assert refused.value.error_code == "currency_not_supported"
    with pytest.raises(Exception, match="at most 2 decimal"):
        money_from_yuan("1.001")


def test_a_payment_in_another_currency_is_refused_before_any_call(alipay):
    with pytest.raises(ProviderRejected, match="CNY only"):
        create(alipay, amount=Money(100, "JPY"))


# --- signatures against the official SDK ------------------------------------------------------------
def test_our_request_signature_is_the_sdks(alipay, alipay_account, alipay_app):
    """PKCS#1 v1.5 is deterministic: the SDK signing the same parameters must produce the same `sign`."""
    params = alipay.signed_params("alipay.trade.query", {"out_trade_no": "PAY-1", "note": "中文 {x} a+b&c"})
    oracle = sdk(alipay_secrets(alipay_account)["app_private_key"], alipay_app.alipay_public_key, alipay.app_id)
    unsigned = {k: v for k, v in params.items() if k != "sign"}
    sdk_signed = dict(parse_qsl(oracle.sign_data(dict(unsigned))))
    assert sdk_signed["sign"] == params["sign"]
    assert {k: v for k, v in sdk_signed.items() if k != "sign"} == unsigned


def test_an_sdk_signed_request_is_served_and_the_sdk_verifies_the_simulators_answer(alipay, alipay_account,
                                                                                     alipay_app):
    oracle = sdk(alipay_secrets(alipay_account)["app_private_key"], alipay_app.alipay_public_key, alipay.app_id)
    alipay.flow = "qr"
    create(alipay, reference="PAY-Q")
    signed = oracle.sign_data(oracle.build_body("alipay.trade.query", {"out_trade_no": "PAY-Q"}))
    with httpx.Client(transport=DjangoTransport(), timeout=5) as client:
        raw = client.post(GATEWAY, content=signed.encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"}).text
    answer = oracle._verify_and_return_sync_response(raw, "alipay_trade_query_response")
    assert answer["trade_status"] == "WAIT_BUYER_PAY" and answer["total_amount"] == "123.45"


def test_an_sdk_signed_notification_is_accepted(alipay, alipay_account, alipay_app):
    params = paid_notification_params(alipay, alipay_app)
    params.pop("sign")
    params.pop("sign_type")
    # Sign as Alipay does with the SDK's signer and Alipay's private key for this app.
    alipay_side = sdk(alipay_app.alipay_private_key, alipay_app.alipay_public_key, alipay_app.app_id)
    signed = dict(parse_qsl(alipay_side.sign_data(dict(params))))
    signed["sign_type"] = "RSA2"
    event = alipay.parse_webhook(body=urlencode(signed).encode(), headers={})
    assert event.payment.status == ProviderStatus.CAPTURED


def test_a_signed_answer_with_braces_in_values_is_sliced_exactly():
    body = '{"x_response":{"code":"10000","subject":"a}b{c\\"}"},"sign":"abc"}'
    assert response_content(body, "x_response") == '{"code":"10000","subject":"a}b{c\\"}"}'


def test_an_answer_not_signed_by_the_configured_alipay_key_is_refused(alipay, alipay_account):
    _, stranger = new_key_pair()
    wrong = AlipayProvider(app_id=alipay.app_id, app_private_key=alipay_secrets(alipay_account)["app_private_key"],
                           alipay_public_key=stranger, api_base=GATEWAY)
    with pytest.raises(ProviderRejected) as refused:
        wrong.query(provider_reference="PAY-1")
    assert refused.value.error_code == "invalid_response_signature"


# --- payments --------------------------------------------------------------------------------------
def test_page_pay_is_a_signed_gateway_link_and_no_trade_exists_before_the_buyer_opens_it(alipay):
    payment = create(alipay)
    assert payment.status == ProviderStatus.REQUIRES_PAYMENT and payment.provider_reference == "PAY-1"
    assert payment.action_url.startswith(GATEWAY + "?")
    query = dict(parse_qsl(urlsplit(payment.action_url).query))
    assert query["method"] == "alipay.trade.page.pay" and query["return_url"] == RETURN_URL
    assert json.loads(query["biz_content"])["total_amount"] == "123.45"
    assert alipay.query(provider_reference="PAY-1").status == ProviderStatus.REQUIRES_PAYMENT
    with pytest.raises(NotSupported):
        create(alipay, manual=True)


def test_a_page_payment_returns_verified_and_is_confirmed_by_query(alipay):
    params = paid_by_page(alipay)
    paid = alipay.handle_return(provider_reference="PAY-1", params=params, idempotency_key="k")
    assert paid.status == ProviderStatus.CAPTURED and paid.amount == Money(12345, "CNY")
    assert paid.amount_captured_minor == 12345 and paid.transaction_reference == Trade.objects.get().trade_no


def test_forged_return_params_are_not_trusted(alipay, caplog):
    client = Client()
    open_cashier(client, create(alipay).action_url)
    forged = {"out_trade_no": "PAY-1", "trade_status": "TRADE_SUCCESS", "total_amount": "123.45",
              "app_id": alipay.app_id, "sign": "Zm9yZ2Vk", "sign_type": "RSA2"}
    answer = alipay.handle_return(provider_reference="PAY-1", params=forged, idempotency_key="k")
    assert answer.status == ProviderStatus.REQUIRES_PAYMENT  # the trade query decides
    assert "signature or ids do not match" in caplog.text


def test_a_buyer_who_cancels_at_the_cashier_is_a_decline(alipay):
    client = Client()
    response = buyer_cancels(client, open_cashier(client, create(alipay).action_url))
    with pytest.raises(PaymentDeclined) as declined:
        alipay.handle_return(provider_reference="PAY-1", params=dict(parse_qsl(urlsplit(response["Location"]).query)),
                             idempotency_key="k")
    assert declined.value.decline_code == "trade_closed"


def test_qr_precreate_gives_the_scan_page_and_a_retry_the_same_code(alipay):
    alipay.flow = "qr"
    first = create(alipay)
    again = create(alipay)
    assert first.qr_code and first.qr_code == again.qr_code == first.action_url
    assert "/sandbox/alipay/qr/" in first.qr_code
    buyer_pays(Client(), first.qr_code)
    assert alipay.query(provider_reference="PAY-1").status == ProviderStatus.CAPTURED
    assert create(alipay).status == ProviderStatus.CAPTURED  # ACQ.TRADE_HAS_SUCCESS: it asks instead


def test_cancel_closes_an_unpaid_trade_or_one_never_opened_but_not_a_paid_one(alipay):
    assert alipay.cancel(provider_reference="never-opened", idempotency_key="k").status == ProviderStatus.CANCELLED
    alipay.flow = "qr"
    create(alipay, reference="PAY-C")
    assert alipay.cancel(provider_reference="PAY-C", idempotency_key="k").status == ProviderStatus.CANCELLED
    assert alipay.query(provider_reference="PAY-C").status == ProviderStatus.CANCELLED
    alipay.flow = "page"
    paid_by_page(alipay, reference="PAY-P")
    with pytest.raises(ProviderRejected) as refused:
        alipay.cancel(provider_reference="PAY-P", idempotency_key="k")
    assert refused.value.error_code == "ACQ.TRADE_STATUS_ERROR"


def test_partial_and_full_refunds_and_a_resent_refund_moves_nothing_twice(alipay):
    paid_by_page(alipay)
    first = alipay.refund(provider_reference="PAY-1", amount=Money(2345, "CNY"), refund_reference="RF-1",
                          idempotency_key="k1")
    assert first.status == RefundStatus.SUCCEEDED and first.provider_reference == "PAY-1/RF-1"
    again = alipay.refund(provider_reference="PAY-1", amount=Money(2345, "CNY"), refund_reference="RF-1",
                          idempotency_key="k1")
    assert again.status == RefundStatus.SUCCEEDED and again.amount == Money(2345, "CNY")
    assert Trade.objects.get().refunded_amount == Decimal("23.45")
    with pytest.raises(ProviderRejected) as too_much:
        alipay.refund(provider_reference="PAY-1", amount=Money(10001, "CNY"), refund_reference="RF-2",
                      idempotency_key="k2")
    assert too_much.value.error_code == "ACQ.REASON_TRADE_REFUND_FEE_ERR"
    rest = alipay.refund(provider_reference="PAY-1", amount=Money(10000, "CNY"), refund_reference="RF-2",
                         idempotency_key="k2")
    assert rest.status == RefundStatus.SUCCEEDED
    assert alipay.query_refund(provider_refund_reference="PAY-1/RF-2").amount == Money(10000, "CNY")
    assert alipay.query_refund(provider_refund_reference="PAY-1/RF-9").status == RefundStatus.FAILED
    closed = alipay.query(provider_reference="PAY-1")
    assert closed.status == ProviderStatus.CAPTURED and closed.amount_refunded_minor == 12345


# --- errors, retries, timeouts ----------------------------------------------------------------------
def test_a_5xx_and_alipays_system_errors_are_transient(alipay):
    controls(alipay, fail_next_calls=1, fail_kind="http_500")
    with pytest.raises(ProviderUnavailable) as http_500:
        alipay.query(provider_reference="PAY-1")
    controls(alipay, fail_next_calls=1, fail_kind="system_error")
    with pytest.raises(ProviderUnavailable) as system_error:
        alipay.query(provider_reference="PAY-1")
    assert (http_500.value.error_code, system_error.value.error_code) == ("http_500", "ACQ.SYSTEM_ERROR")
    assert alipay.query(provider_reference="PAY-1").status == ProviderStatus.REQUIRES_PAYMENT


def test_a_timeout_then_a_retry_with_the_same_out_trade_no_gives_the_same_trade(alipay):
    alipay.flow = "qr"
    alipay._timeout_s = 0.1
    controls(alipay, slow_next_calls=1, slow_ms=300)
    with pytest.raises(ProviderUnavailable) as timed_out:
        create(alipay)
    assert timed_out.value.timed_out is True
    alipay._timeout_s = 5
    retried = create(alipay)
    assert retried.qr_code and Trade.objects.count() == 1


@pytest.mark.parametrize(("sub_code", "error"), [
    ("ACQ.TRADE_HAS_SUCCESS", ProviderRejected), ("ACQ.TOTAL_FEE_EXCEED", ProviderRejected),
    ("ACQ.SYSTEM_ERROR", ProviderUnavailable), ("ACQ.BUYER_BALANCE_NOT_ENOUGH", PaymentDeclined)])
def test_business_errors_are_mapped_by_sub_code(sub_code, error):
    with pytest.raises(error) as raised:
        raise_for_business_error({"code": "40004", "msg": "Business Failed", "sub_code": sub_code})
    code = getattr(raised.value, "error_code", None) or raised.value.decline_code
    assert code == sub_code and raised.value.message
    with pytest.raises(ProviderUnavailable):
        raise_for_business_error({"code": "20000", "sub_code": "isp.unknow-error"})


# --- notifications ---------------------------------------------------------------------------------
def paid_notification_params(alipay, alipay_app, reference="PAY-N", **changes) -> dict[str, str]:
    """A genuine notification for a paid trade (signed by the simulator's key), with `changes` applied
    before signing."""
    paid_by_page(alipay, reference=reference)
    trade = Trade.objects.get(out_trade_no=reference)
    from django.utils import timezone

    params = {**notify_params(trade, now=timezone.now()), **changes}
    return sign_params(alipay_app.alipay_private_key, params)


def test_a_genuine_notification_is_a_captured_payment_and_is_acknowledged_with_success(alipay, alipay_app,
                                                                                        notify_receiver):
    paid_by_page(alipay)
    body = notify_receiver.received[0].body
    event = alipay.parse_webhook(body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    params = dict(parse_qsl(body.decode()))
    assert event.event_id == params["notify_id"] and event.type == "trade_status_sync.TRADE_SUCCESS"
    assert event.payment.provider_reference == "PAY-1" and event.payment.status == ProviderStatus.CAPTURED
    assert event.payment.amount == Money(12345, "CNY") and "sign" not in event.raw
    ack = alipay.webhook_ack()
    assert (ack.status, ack.body, ack.content_type) == (200, b"success", "text/plain")


def test_one_changed_byte_of_body_or_signature_is_refused(alipay, notify_receiver):
    paid_by_page(alipay)
    body = notify_receiver.received[0].body
    tampered_body = body.replace(b"total_amount=123.45", b"total_amount=123.46")
    params = dict(parse_qsl(body.decode()))
    signature = params["sign"]
    params["sign"] = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    for bad in (tampered_body, urlencode(params).encode(), b"", b"\xff\xfe"):
        with pytest.raises(WebhookRejected):
            alipay.parse_webhook(body=bad, headers={})


def test_a_notification_for_another_app_or_seller_is_refused(alipay, alipay_app):
    for field, value in (("app_id", "9021000999999999"), ("seller_id", "2088000000000009")):
        params = paid_notification_params(alipay, alipay_app, f"PAY-{field}", **{field: value})
        with pytest.raises(WebhookRejected, match=field.replace("_", " ")):
            alipay.parse_webhook(body=urlencode(params).encode(), headers={})


def test_an_expired_notification_is_refused(alipay, alipay_app):
    body = urlencode(paid_notification_params(alipay, alipay_app)).encode()
    alipay._clock = lambda: time.time() + 25 * 3600
    with pytest.raises(WebhookRejected, match="expired"):
        alipay.parse_webhook(body=body, headers={})
    alipay._clock = lambda: time.time() - 3600  # a notify_time an hour in our future
    with pytest.raises(WebhookRejected, match="expired"):
        alipay.parse_webhook(body=body, headers={})
