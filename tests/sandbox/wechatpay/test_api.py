"""The WeChat Pay simulator speaks API v3: requests signed by the merchant (checked with our verifier,
produced by the official wechatpayv3 SDK), answers and callbacks signed by the platform (checked by the SDK),
callback resources sealed with the APIv3 key (opened by the SDK)."""

import json
import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client, TestCase
from wechatpayv3.utils import aes_decrypt, load_certificate

from clearhouse.sandbox.wechatpay.callbacks import deliveries_retry
from clearhouse.sandbox.wechatpay.models import Delivery, Transaction
from tests.sandbox.wechatpay.support import APPID, MCHID, SignedClient, register, sdk_decrypt, sdk_verifies

NOTIFY = "https://shop.example/webhooks/wechatpay/1/"


def order(sim, out_trade_no="PAY0001TEST", total=12345, **extra):
    return sim.post("/v3/pay/transactions/native", {
        "appid": APPID, "mchid": MCHID, "description": "Order SO-1", "out_trade_no": out_trade_no,
        "notify_url": NOTIFY, "amount": {"total": total, "currency": "CNY"}, **extra})


def scan(code_url, decision="pay"):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return Client().post("/sandbox/wechatpay/scan/", {"code_url": code_url, "decision": decision})


def test_native_order_answers_a_code_url_signed_by_the_platform(sim, registered):
    response = order(sim)
    assert response.status_code == 200
    assert response.json()["code_url"].startswith("weixin://wxpay/bizpayurl?pr=")
    assert sdk_verifies(registered.merchant, response.headers, response.content)


def test_the_same_order_again_gets_the_same_code_and_a_different_one_is_refused(sim):
    first = order(sim).json()["code_url"]
    assert order(sim).json()["code_url"] == first
    other = order(sim, total=1)
    assert other.status_code == 403 and other.json()["code"] == "OUT_TRADE_NO_USED"


def test_query_shows_notpay_then_success_after_the_buyer_pays(sim, registered, callbacks):
    code_url = order(sim).json()["code_url"]
    answer = sim.get(f"/v3/pay/transactions/out-trade-no/PAY0001TEST?mchid={MCHID}")
    assert answer.json()["trade_state"] == "NOTPAY" and sdk_verifies(registered.merchant, answer.headers,
                                                                      answer.content)
    scan(code_url)
    paid = sim.get(f"/v3/pay/transactions/out-trade-no/PAY0001TEST?mchid={MCHID}").json()
    assert paid["trade_state"] == "SUCCESS" and paid["amount"] == {
        "total": 12345, "currency": "CNY", "payer_total": 12345, "payer_currency": "CNY"}
    assert paid["transaction_id"].startswith("4200") and paid["payer"]["openid"]


def test_paying_sends_a_signed_encrypted_transaction_success_callback(sim, registered, callbacks):
    scan(order(sim).json()["code_url"])
    [callback] = callbacks.received
    assert callback.url == NOTIFY
    assert sdk_verifies(registered.merchant, callback.headers, callback.body)
    assert callback.headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
    envelope = callback.envelope
    assert envelope["event_type"] == "TRANSACTION.SUCCESS" and envelope["resource_type"] == "encrypt-resource"
    assert envelope["resource"]["algorithm"] == "AEAD_AES_256_GCM"
    resource = sdk_decrypt(registered.merchant, envelope)
    assert resource["out_trade_no"] == "PAY0001TEST" and resource["trade_state"] == "SUCCESS"
    assert resource["mchid"] == MCHID and resource["appid"] == APPID and resource["amount"]["total"] == 12345


def test_a_bad_signature_a_stale_timestamp_or_another_key_is_sign_error(sim, registered):
    stranger = register(mchid="1900000999")
    forged = sim.post("/v3/pay/transactions/native", {}, private_key_pem=stranger.private_key_pem)
    assert forged.status_code == 401 and forged.json()["code"] == "SIGN_ERROR"
    wrong_serial = sim.post("/v3/pay/transactions/native", {}, serial="ABCDEF")
    assert wrong_serial.status_code == 401
    unsigned = sim.http.get("/sandbox/wechatpay/v3/pay/transactions/out-trade-no/X?mchid=1")
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "SIGN_ERROR"


def test_a_request_signed_five_minutes_ago_is_refused(sim, monkeypatch):
    import wechatpayv3.utils

    # The SDK stamps its signature with time.time(): make its clock (only its) 301 s slow.
    monkeypatch.setattr(wechatpayv3.utils, "time", SimpleNamespace(time=lambda: time.time() - 301))
    signed_late = sim.get(f"/v3/pay/transactions/out-trade-no/PAY0001TEST?mchid={MCHID}")
    assert signed_late.status_code == 401 and "时间戳" in signed_late.json()["message"]


def test_wrong_appid_or_mchid_in_the_body_is_refused(sim):
    assert order(sim, appid="wx0000000000000000").json()["code"] == "APPID_MCHID_NOT_MATCH"
    other = sim.post("/v3/pay/transactions/native", {"appid": APPID, "mchid": "1900000999"})
    assert other.status_code == 400 and other.json()["code"] == "PARAM_ERROR"


def test_only_cny_in_integer_fen(sim):
    assert order(sim, amount={"total": 100, "currency": "USD"}).json()["code"] == "PARAM_ERROR"
    assert order(sim, out_trade_no="PAY0002TEST", amount={"total": 1.5}).json()["code"] == "PARAM_ERROR"


def test_close_answers_204_and_a_paid_order_cannot_be_closed(sim):
    order(sim, out_trade_no="PAYCLOSE01")
    closed = sim.post("/v3/pay/transactions/out-trade-no/PAYCLOSE01/close", {"mchid": MCHID})
    assert closed.status_code == 204 and closed.content == b""
    assert sim.get(f"/v3/pay/transactions/out-trade-no/PAYCLOSE01?mchid={MCHID}").json()["trade_state"] == "CLOSED"
    scan(order(sim).json()["code_url"])
    paid = sim.post("/v3/pay/transactions/out-trade-no/PAY0001TEST/close", {"mchid": MCHID})
    assert paid.status_code == 403 and paid.json()["code"] == "ORDERPAID"


def test_refunds_full_and_partial_up_to_the_total_then_refund_success_callbacks(sim, registered, callbacks):
    scan(order(sim).json()["code_url"])
    refund = {"out_trade_no": "PAY0001TEST", "notify_url": NOTIFY, "amount": {"total": 12345, "currency": "CNY"}}
    first = sim.post("/v3/refund/domestic/refunds", {**refund, "out_refund_no": "RF1", "amount": {
        **refund["amount"], "refund": 5000}})
    assert first.status_code == 200 and first.json()["status"] == "PROCESSING"
    assert sim.get("/v3/refund/domestic/refunds/RF1").json()["status"] == "SUCCESS"  # settled after commit
    again = sim.post("/v3/refund/domestic/refunds", {**refund, "out_refund_no": "RF1", "amount": {
        **refund["amount"], "refund": 5000}})
    assert again.json()["refund_id"] == first.json()["refund_id"]  # idempotent by out_refund_no
    too_much = sim.post("/v3/refund/domestic/refunds", {**refund, "out_refund_no": "RF2", "amount": {
        **refund["amount"], "refund": 7346}})
    assert too_much.status_code == 400 and too_much.json()["code"] == "INVALID_REQUEST"
    rest = sim.post("/v3/refund/domestic/refunds", {**refund, "out_refund_no": "RF3", "amount": {
        **refund["amount"], "refund": 7345}})
    assert rest.status_code == 200
    assert callbacks.event_types == ["TRANSACTION.SUCCESS", "REFUND.SUCCESS", "REFUND.SUCCESS"]
    refund_resource = sdk_decrypt(registered.merchant, callbacks.received[1].envelope)
    assert refund_resource["refund_status"] == "SUCCESS" and refund_resource["amount"]["refund"] == 5000
    assert Transaction.objects.get().trade_state == "REFUND"


def test_certificates_are_served_sealed_with_the_apiv3_key(sim, registered):
    response = sim.get("/v3/certificates")
    [item] = response.json()["data"]
    sealed = item["encrypt_certificate"]
    pem = aes_decrypt(sealed["nonce"], sealed["ciphertext"], sealed["associated_data"], registered.apiv3_key)
    assert format(load_certificate(pem).serial_number, "X") == item["serial_no"] == registered.merchant.platform_serial
    assert sdk_verifies(registered.merchant, response.headers, response.content)


def test_fail_next_calls_answers_systemerror_and_does_nothing(sim):
    sim.controls(fail_next_calls=1)
    failed = order(sim)
    assert failed.status_code == 500 and failed.json()["code"] == "SYSTEMERROR"
    assert not Transaction.objects.exists()
    assert order(sim).status_code == 200


def test_unacknowledged_callbacks_are_retried_on_the_schedule(sim, callbacks):
    from datetime import timedelta

    from django.utils import timezone

    callbacks.script = [500, "error"]
    scan(order(sim).json()["code_url"])
    delivery = Delivery.objects.get()
    assert delivery.state == "pending" and delivery.attempts == 1 and delivery.last_status_code == 500
    assert deliveries_retry(now=timezone.now() + timedelta(seconds=16)) == 0  # connection refused
    assert deliveries_retry(now=timezone.now() + timedelta(seconds=60)) == 1
    assert Delivery.objects.get().state == "delivered" and len(callbacks.received) == 2


def test_drop_duplicate_hold_and_release_reversed(sim, callbacks):
    sim.controls(drop_notifications=True)
    scan(order(sim, out_trade_no="PAYDROP001").json()["code_url"])
    assert callbacks.received == []
    sim.controls(drop_notifications=False, duplicate_notifications=2, hold_notifications=True)
    scan(order(sim, out_trade_no="PAYHOLD001").json()["code_url"])
    scan(order(sim, out_trade_no="PAYHOLD002").json()["code_url"])
    assert callbacks.received == []
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert sim.post("/test/release_held", {"reverse": True}).json() == {"released": 4}
    order_numbers = [json.loads(aes_decrypt(r.envelope["resource"]["nonce"], r.envelope["resource"]["ciphertext"],
                                            "transaction", sim.registered.apiv3_key))["out_trade_no"]
                     for r in callbacks.received]
    assert order_numbers == ["PAYHOLD002", "PAYHOLD002", "PAYHOLD001", "PAYHOLD001"]
    assert len({r.envelope["id"] for r in callbacks.received}) == 2  # duplicates share the callback id


@pytest.mark.parametrize("decision,state", [("fail", "PAYERROR"), ("cancel", "NOTPAY")])
def test_the_buyer_can_fail_or_cancel_on_the_scan_page(sim, callbacks, decision, state):
    code_url = order(sim).json()["code_url"]
    page = Client().get("/sandbox/wechatpay/scan/", {"code_url": code_url})
    assert page.status_code == 200 and "123.45" in page.content.decode() and 'id="pay"' in page.content.decode()
    response = Client().post("/sandbox/wechatpay/scan/", {
        "code_url": code_url, "decision": decision, "return_url": "http://shop.example/pay/SO-1/return/PAY1/"})
    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query) == {"out_trade_no": ["PAY0001TEST"]}
    assert Transaction.objects.get().trade_state == state and callbacks.received == []


def test_the_scan_page_never_redirects_to_a_script_url(sim):
    code_url = order(sim).json()["code_url"]
    response = Client().post("/sandbox/wechatpay/scan/", {"code_url": code_url, "decision": "cancel",
                                                          "return_url": "javascript:alert(1)"})
    assert response.status_code == 200


def test_the_scan_page_finds_an_order_by_merchant_and_number(sim):
    order(sim)
    page = Client().get("/sandbox/wechatpay/scan/", {"mchid": MCHID, "out_trade_no": "PAY0001TEST"})
    assert page.status_code == 200


def test_another_merchants_signed_client_cannot_see_this_order(sim, registered):
    order(sim)
    stranger = SignedClient(register(mchid="1900000999", appid="wx1111111111111111"))
    hidden = stranger.get("/v3/pay/transactions/out-trade-no/PAY0001TEST?mchid=1900000999")
    assert hidden.status_code == 404 and hidden.json()["code"] == "ORDER_NOT_EXIST"
