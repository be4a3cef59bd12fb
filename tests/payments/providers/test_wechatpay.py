"""Clearhouse's WeChat Pay adapter against the WeChat Pay simulator (in-process), with the official
wechatpayv3 SDK as the independent peer for signatures and decryption."""

import json
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import Client, TestCase
from wechatpayv3.utils import load_private_key, rsa_sign

from clearhouse.core.money import Money
from clearhouse.payments.providers import http as provider_http
from clearhouse.payments.providers.base import (
    CreatePayment,
    NotSupported,
    PaymentDeclined,
    ProviderRejected,
    ProviderUnavailable,
    WebhookRejected,
)
from clearhouse.payments.providers.wechatpay import (
    CurrencyNotSupported,
    WeChatPayProvider,
    fen_from_money,
    money_from_fen,
    request_signature,
)
from clearhouse.sandbox.wechatpay.domain import new_rsa_key, private_pem
from tests.payments.providers.wechatpay_support import make_adapter, wechatpay  # noqa: F401
from tests.sandbox.support import DjangoTransport
from tests.sandbox.wechatpay.support import signed_callback

NOTIFY = "https://shop.example/webhooks/wechatpay/"


def create(provider, reference="PAYWX00000001", minor=20000, currency="CNY", return_url=""):
    return provider.create(CreatePayment(intent_reference=reference, amount=Money(minor, currency),
                                         manual_capture=False, return_url=return_url, notify_url=NOTIFY,
                                         description="Order SO-1", idempotency_key=f"{reference}:create"))


def scan(payment, decision="pay"):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return Client().post("/sandbox/wechatpay/scan/", {"code_url": payment.qr_code, "decision": decision})


# --- amounts --------------------------------------------------------------------------------------------------------
def test_cny_is_integer_fen_and_other_exponents_are_refused():
    assert fen_from_money(Money.parse("123.45", "CNY")) == 12345
    assert money_from_fen(1) == Money(1, "CNY")
    for currency in ("JPY", "USD", "KWD"):  # exponents 0, 2 and 3: WeChat Pay (mainland) takes CNY only
        with pytest.raises(CurrencyNotSupported):
            fen_from_money(Money(100, currency))
    with pytest.raises(ValueError):
        money_from_fen(1.5)


def test_a_payment_in_another_currency_is_refused_before_any_call(wechatpay):
    with pytest.raises(CurrencyNotSupported) as refused:
        create(wechatpay.provider, currency="USD")
    assert refused.value.error_code == "currency_not_supported"
    assert not wechatpay.registered.merchant.transactions.exists()


# --- signatures -----------------------------------------------------------------------------------------------------
def test_our_request_signature_is_the_sdks():
    pem = private_pem(new_rsa_key())
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    ours = request_signature(load_pem_private_key(pem.encode(), None), method="POST",
                             path_with_query="/v3/pay/transactions/native", timestamp="1700000000",
                             nonce="N0NCE", body='{"a":1}')
    assert ours == rsa_sign(load_private_key(pem), 'POST\n/v3/pay/transactions/native\n1700000000\nN0NCE\n{"a":1}\n')


# --- paying ---------------------------------------------------------------------------------------------------------
def test_create_gives_the_qr_code_and_the_simulators_scan_page(wechatpay):
    payment = create(wechatpay.provider, return_url="http://testserver/pay/SO-1/return/PAYWX00000001/")
    assert payment.status == "requires_payment" and payment.provider_reference == "PAYWX00000001"
    assert payment.qr_code.startswith("weixin://wxpay/bizpayurl?pr=") and payment.amount == Money(20000, "CNY")
    query = parse_qs(urlsplit(payment.action_url).query)
    assert query["code_url"] == [payment.qr_code] and query["return_url"][0].endswith("/PAYWX00000001/")
    assert create(wechatpay.provider).qr_code == payment.qr_code  # a retry: same out_trade_no, same code


def test_the_buyer_pays_and_query_says_captured_with_the_transaction_id(wechatpay):
    payment = create(wechatpay.provider)
    assert wechatpay.provider.query(provider_reference="PAYWX00000001").status == "requires_payment"
    scan(payment)
    paid = wechatpay.provider.query(provider_reference="PAYWX00000001")
    assert paid.status == "captured" and paid.amount_captured_minor == 20000
    assert paid.transaction_reference.startswith("4200")


def test_a_payment_failing_on_the_phone_is_failed(wechatpay):
    scan(create(wechatpay.provider), "fail")
    failed = wechatpay.provider.query(provider_reference="PAYWX00000001")
    assert failed.status == "failed" and failed.failure_code == "payment_failed"
    assert "余额不足" in failed.failure_message


def test_create_after_the_order_was_paid_reports_the_payment(wechatpay):
    scan(create(wechatpay.provider))
    assert create(wechatpay.provider).status == "captured"  # ORDERPAID: we ask and report


def test_cancel_closes_an_unpaid_order_but_not_a_paid_one(wechatpay):
    create(wechatpay.provider, reference="PAYWXCLOSE01")
    assert wechatpay.provider.cancel(provider_reference="PAYWXCLOSE01", idempotency_key="k").status == "cancelled"
    scan(create(wechatpay.provider))
    with pytest.raises(ProviderRejected) as refused:
        wechatpay.provider.cancel(provider_reference="PAYWX00000001", idempotency_key="k")
    assert refused.value.error_code == "orderpaid"


def test_no_confirm_and_no_separate_capture(wechatpay):
    with pytest.raises(NotSupported):
        wechatpay.provider.capture(provider_reference="X", amount=None, idempotency_key="k")
    with pytest.raises(NotSupported):
        wechatpay.provider.confirm(provider_reference="X", payment_token="t", return_url="", idempotency_key="k")


# --- faults ---------------------------------------------------------------------------------------------------------
def test_systemerror_is_transient_and_nothing_was_created(wechatpay):
    wechatpay.sim.controls(fail_next_calls=1)
    with pytest.raises(ProviderUnavailable) as unavailable:
        create(wechatpay.provider)
    assert unavailable.value.error_code == "systemerror" and not unavailable.value.timed_out
    assert create(wechatpay.provider).qr_code


def test_a_timeout_then_the_retry_returns_the_same_order(wechatpay):
    wechatpay.sim.controls(slow_next_calls=1, slow_s=0.3)
    with pytest.raises(ProviderUnavailable) as timed_out:
        create(wechatpay.adapter(timeout_s=0.1))
    assert timed_out.value.timed_out
    created = wechatpay.registered.merchant.transactions.get()  # the simulator did the work
    assert create(wechatpay.provider).qr_code == created.code_url


@pytest.mark.parametrize("status,code,expected", [
    (403, "NOTENOUGH", PaymentDeclined), (500, "SYSTEMERROR", ProviderUnavailable),
    (429, "FREQUENCY_LIMITED", ProviderUnavailable), (400, "PARAM_ERROR", ProviderRejected),
    (502, "", ProviderUnavailable),
])
def test_error_bodies_are_mapped(status, code, expected):
    answer = httpx.Response(status, json={"code": code, "message": "m"} if code else None)
    mock = httpx.MockTransport(lambda request: answer)
    with provider_http.transport_factory(lambda base_url: mock), pytest.raises(expected) as raised:
        make_adapter_offline().query(provider_reference="PAYWX00000001")
    if expected is PaymentDeclined:
        assert raised.value.decline_code == "insufficient_funds"
    elif code:
        assert raised.value.error_code == code.lower()


def make_adapter_offline() -> WeChatPayProvider:
    return WeChatPayProvider(mchid="1900000109", appid="wx1", cert_serial_no="1", private_key_pem=private_pem(
        new_rsa_key()), apiv3_key="0" * 32, api_base="http://wechatpay.invalid", platform_certificates=[],
        platform_public_key_pem="", timeout_s=1)


class Tamper(httpx.BaseTransport):
    def __init__(self):
        self.inner = DjangoTransport()

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        return httpx.Response(response.status_code, headers=response.headers,
                              content=response.content.replace(b"NOTPAY", b"SUCCESS"), request=request)


def test_an_answer_that_fails_verification_is_not_believed(wechatpay):
    create(wechatpay.provider)
    with provider_http.transport_factory(lambda base_url: Tamper()), pytest.raises(ProviderUnavailable) as refused:
        wechatpay.provider.query(provider_reference="PAYWX00000001")
    assert refused.value.error_code == "response_signature_invalid"


def test_without_a_configured_certificate_it_downloads_the_platforms(wechatpay):
    adapter = wechatpay.adapter(platform_certificates=[], api_base="http://testserver/sandbox/wechatpay")
    create(adapter, reference="PAYWXDOWNLOAD1")
    assert adapter.query(provider_reference="PAYWXDOWNLOAD1").status == "requires_payment"
    assert adapter.test_connection() == "ok"


def test_an_account_with_the_wrong_appid_does_not_believe_the_answer(wechatpay):
    create(wechatpay.provider)
    with pytest.raises(ProviderRejected):
        wechatpay.adapter(appid="wx0000000000000000").query(provider_reference="PAYWX00000001")


# --- refunds --------------------------------------------------------------------------------------------------------
def test_partial_then_full_refund(wechatpay):
    scan(create(wechatpay.provider))
    first = wechatpay.provider.refund(provider_reference="PAYWX00000001", amount=Money(5000, "CNY"),
                                      refund_reference="RFWX0001", idempotency_key="RFWX0001:refund")
    assert first.status == "pending" and first.provider_reference == "RFWX0001" and first.amount.minor == 5000
    assert wechatpay.provider.query_refund(provider_refund_reference="RFWX0001").status == "succeeded"
    again = wechatpay.provider.refund(provider_reference="PAYWX00000001", amount=Money(5000, "CNY"),
                                      refund_reference="RFWX0001", idempotency_key="RFWX0001:refund")
    assert again.provider_reference == "RFWX0001"  # a retry: the same refund, not a second one
    rest = wechatpay.provider.refund(provider_reference="PAYWX00000001", amount=Money(15000, "CNY"),
                                     refund_reference="RFWX0002", idempotency_key="RFWX0002:refund")
    assert rest.amount.minor == 15000
    with pytest.raises(ProviderRejected):
        wechatpay.provider.refund(provider_reference="PAYWX00000001", amount=Money(1, "CNY"),
                                  refund_reference="RFWX0003", idempotency_key="RFWX0003:refund")
    assert sum(r.amount for r in wechatpay.registered.merchant.refunds.all()) == 20000


# --- callbacks ------------------------------------------------------------------------------------------------------
def test_the_simulators_callback_is_verified_decrypted_and_translated(wechatpay):
    scan(create(wechatpay.provider))
    [callback] = wechatpay.callbacks.received
    event = wechatpay.provider.parse_webhook(body=callback.body, headers=callback.headers)
    assert event.event_id == callback.envelope["id"] and event.type == "TRANSACTION.SUCCESS"
    assert event.payment.status == "captured" and event.payment.provider_reference == "PAYWX00000001"
    assert event.payment.amount == Money(20000, "CNY") and event.raw["resource"]["trade_state"] == "SUCCESS"


def test_a_refund_callback_is_translated(wechatpay):
    scan(create(wechatpay.provider))
    wechatpay.provider.refund(provider_reference="PAYWX00000001", amount=Money(5000, "CNY"),
                              refund_reference="RFWX0001", idempotency_key="k")
    callback = wechatpay.callbacks.received[-1]
    event = wechatpay.provider.parse_webhook(body=callback.body, headers=callback.headers)
    assert event.type == "REFUND.SUCCESS" and event.refund.status == "succeeded"
    assert event.refund.provider_reference == "RFWX0001" and event.refund.amount == Money(5000, "CNY")


def callback_for(wechatpay, **resource_changes):
    merchant = wechatpay.registered.merchant
    resource = {"mchid": merchant.mchid, "appid": merchant.appid, "out_trade_no": "PAYWX00000001",
                "transaction_id": "4200000000000000000000000001", "trade_state": "SUCCESS",
                "amount": {"total": 20000, "currency": "CNY", "payer_total": 20000}, **resource_changes}
    return resource


@pytest.mark.parametrize("case", ["body", "signature", "expired", "future", "serial", "mchid", "appid", "key"])
def test_callbacks_are_refused_when_anything_is_off(wechatpay, case):
    merchant = wechatpay.registered.merchant
    resource = callback_for(wechatpay, **({"mchid": "1900000999"} if case == "mchid" else
                                          {"appid": "wx0000000000000000"} if case == "appid" else {}))
    stamp = {"expired": int(time.time()) - 360, "future": int(time.time()) + 360}.get(case)
    body, headers = signed_callback(merchant, resource=resource, timestamp=stamp)
    if case == "body":
        body = body.replace(b'"summary":"', b'"summary":"x')
    elif case == "signature":
        signature = headers["Wechatpay-Signature"]
        headers["Wechatpay-Signature"] = ("B" if signature[0] == "A" else "A") + signature[1:]  # always a change
    elif case == "serial":
        headers["Wechatpay-Serial"] = "1234ABCD"
    adapter = wechatpay.adapter(apiv3_key="k" * 32) if case == "key" else wechatpay.provider
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook(body=body, headers=headers)
    good_body, good_headers = signed_callback(merchant, resource=callback_for(wechatpay))
    assert wechatpay.provider.parse_webhook(body=good_body, headers=good_headers).payment.status == "captured"


def test_ack_is_204_without_a_body_and_a_refusal_is_fail_json():
    adapter = make_adapter_offline()
    ack = adapter.webhook_ack()
    assert ack.status == 204 and ack.body == b""
    refusal = adapter.webhook_refusal("签名错误")
    assert refusal.status == 400 and json.loads(refusal.body) == {"code": "FAIL", "message": "签名错误"}


def test_from_account_reads_settings_and_encrypted_secrets(wechatpay):
    from clearhouse.payments.models import ProviderAccount

    registered = wechatpay.registered
    account = ProviderAccount.objects.create(provider="wechatpay", settings={
        "mchid": registered.merchant.mchid, "appid": registered.merchant.appid, "cert_serial_no": registered.serial,
        "api_base": "http://testserver/sandbox/wechatpay"}, secrets=json.dumps({
            "private_key": registered.private_key_pem, "apiv3_key": registered.apiv3_key,
            "platform_certificate": registered.merchant.platform_certificate}))
    adapter = WeChatPayProvider.from_account(account)
    assert adapter.test_connection() == "ok"
    from django.db import connection

    with connection.cursor() as cursor:  # what is stored, not what the field decrypts
        cursor.execute("SELECT secrets FROM payments_provideraccount WHERE id = %s", [account.pk])
        stored = cursor.fetchone()[0]
    assert registered.apiv3_key not in stored and "PRIVATE KEY" not in stored
    broken = WeChatPayProvider.from_account(account)
    broken.cert_serial_no = "DEADBEEF"
    assert broken.test_connection() == "refused: sign_error"
