"""Specification of the Alipay simulator's gateway: signatures checked as Alipay checks them, answers
signed over their exact text, trades, refunds, closes, errors and test controls."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from django.test import Client

from clearhouse.payments.providers.alipay import response_content, rsa2_verify
from clearhouse.sandbox.alipay.models import Trade
from tests.sandbox.alipay.fixtures import (
    GATEWAY,
    NOTIFY_URL,
    buyer_pays,
    controls,
    gateway_call,
)
from tests.sandbox.support import DjangoTransport


def precreate(alipay, out_trade_no="PAY-1", amount="88.88"):
    return gateway_call(alipay, "alipay.trade.precreate",
                        {"out_trade_no": out_trade_no, "total_amount": amount, "subject": "Order SO-1"},
                        notify_url=NOTIFY_URL)


def paid_trade(alipay, out_trade_no="PAY-1", amount="88.88") -> Trade:
    qr_code = precreate(alipay, out_trade_no, amount)["alipay_trade_precreate_response"]["qr_code"]
    buyer_pays(Client(), qr_code)
    return Trade.objects.get(out_trade_no=out_trade_no)


def raw_post(params: dict) -> httpx.Response:
    with httpx.Client(transport=DjangoTransport(), timeout=5) as client:
        return client.post(GATEWAY, data=params)


def test_precreate_answers_a_qr_code_signed_over_the_exact_response_text(alipay, alipay_app):
    response = raw_post(alipay.signed_params("alipay.trade.precreate", {
        "out_trade_no": "PAY-1", "total_amount": "88.88", "subject": "订单 SO-1"}, notify_url=NOTIFY_URL))
    assert response.headers["content-type"] == "text/html;charset=utf-8"
    body = response.json()
    answer = body["alipay_trade_precreate_response"]
    assert answer["code"] == "10000" and answer["msg"] == "Success" and answer["out_trade_no"] == "PAY-1"
    assert answer["qr_code"].startswith("http://testserver/sandbox/alipay/qr/")
    content = response_content(response.text, "alipay_trade_precreate_response")
    assert json.loads(content) == answer
    from clearhouse.payments.providers.alipay import load_public_key
    assert rsa2_verify(load_public_key(alipay_app.alipay_public_key), content, body["sign"])


def test_precreate_again_with_the_same_out_trade_no_is_the_same_trade(alipay):
    first = precreate(alipay)["alipay_trade_precreate_response"]
    again = precreate(alipay)["alipay_trade_precreate_response"]
    other = precreate(alipay, amount="1.00")["alipay_trade_precreate_response"]
    assert again["qr_code"] == first["qr_code"] and Trade.objects.count() == 1
    assert other["code"] == "40004" and other["sub_code"] == "ACQ.CONTEXT_INCONSISTENT"


def test_a_tampered_request_is_refused_unsigned(alipay):
    params = alipay.signed_params("alipay.trade.query", {"out_trade_no": "PAY-1"})
    params["biz_content"] = params["biz_content"].replace("PAY-1", "PAY-2")
    body = raw_post(params).json()
    assert body["alipay_trade_query_response"]["sub_code"] == "isv.invalid-signature"
    assert "sign" not in body


def test_an_unknown_app_id_is_refused(alipay):
    alipay.app_id = "9021000999999999"
    body = gateway_call(alipay, "alipay.trade.query", {"out_trade_no": "PAY-1"})
    assert body["alipay_trade_query_response"]["sub_code"] == "isv.invalid-app-id"


def test_query_of_an_unknown_trade_is_trade_not_exist(alipay):
    answer = gateway_call(alipay, "alipay.trade.query", {"out_trade_no": "nope"})["alipay_trade_query_response"]
    assert (answer["code"], answer["sub_code"]) == ("40004", "ACQ.TRADE_NOT_EXIST")


def test_a_paid_trade_is_queried_refunded_in_parts_and_closed_when_all_is_refunded(alipay, notify_receiver):
    trade = paid_trade(alipay)
    assert trade.status == "TRADE_SUCCESS" and notify_receiver.statuses == ["TRADE_SUCCESS"]
    query = gateway_call(alipay, "alipay.trade.query", {"out_trade_no": "PAY-1"})["alipay_trade_query_response"]
    assert query["trade_status"] == "TRADE_SUCCESS" and query["total_amount"] == "88.88" and query["send_pay_date"]

    def refund(no, amount):
        return gateway_call(alipay, "alipay.trade.refund", {"out_trade_no": "PAY-1", "refund_amount": amount,
                                                            "out_request_no": no})["alipay_trade_refund_response"]

    assert refund("R1", "30.00")["fund_change"] == "Y"
    again = refund("R1", "30.00")
    assert again["fund_change"] == "N" and again["refund_fee"] == "30.00"
    assert refund("R1", "31.00")["sub_code"] == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    assert refund("R2", "60.00")["sub_code"] == "ACQ.REASON_TRADE_REFUND_FEE_ERR"
    assert refund("R2", "58.88")["refund_fee"] == "88.88"
    trade.refresh_from_db()
    assert trade.status == "TRADE_CLOSED" and trade.refunded_amount == Decimal("88.88")
    def refund_query(no):
        return gateway_call(alipay, "alipay.trade.fastpay.refund.query", {
            "out_trade_no": "PAY-1", "out_request_no": no})["alipay_trade_fastpay_refund_query_response"]

    assert refund_query("R2")["refund_amount"] == "58.88"
    assert "refund_amount" not in refund_query("R9")


def test_close_closes_an_unpaid_trade_but_not_a_paid_one(alipay):
    precreate(alipay, "PAY-A")
    closed = gateway_call(alipay, "alipay.trade.close", {"out_trade_no": "PAY-A"})["alipay_trade_close_response"]
    assert closed["code"] == "10000" and Trade.objects.get(out_trade_no="PAY-A").status == "TRADE_CLOSED"
    paid_trade(alipay, "PAY-B")
    refused = gateway_call(alipay, "alipay.trade.close", {"out_trade_no": "PAY-B"})["alipay_trade_close_response"]
    assert refused["sub_code"] == "ACQ.TRADE_STATUS_ERROR"


@pytest.mark.parametrize(("kind", "expected"), [
    ("http_500", 500), ("system_error", "ACQ.SYSTEM_ERROR"), ("unknown_error", "isp.unknow-error")])
def test_fail_next_calls_fails_exactly_that_many_calls(alipay, kind, expected):
    controls(alipay, fail_next_calls=1, fail_kind=kind)
    with httpx.Client(transport=DjangoTransport(), timeout=5) as client:
        first = client.post(GATEWAY, data=alipay.signed_params("alipay.trade.query", {"out_trade_no": "x"}))
    if isinstance(expected, int):
        assert first.status_code == expected
    else:
        assert first.json()["alipay_trade_query_response"]["sub_code"] == expected
    second = gateway_call(alipay, "alipay.trade.query", {"out_trade_no": "x"})["alipay_trade_query_response"]
    assert second["sub_code"] == "ACQ.TRADE_NOT_EXIST"


def test_a_slow_call_does_the_work_and_answers_late(alipay):
    controls(alipay, slow_next_calls=1, slow_ms=300)
    with httpx.Client(transport=DjangoTransport(), timeout=0.1) as client, pytest.raises(httpx.ReadTimeout):
        client.post(GATEWAY, data=alipay.signed_params("alipay.trade.precreate", {
            "out_trade_no": "PAY-S", "total_amount": "1.00", "subject": "s"}))
    assert Trade.objects.filter(out_trade_no="PAY-S").exists()


def test_amounts_with_more_than_two_decimals_or_over_the_limit_are_refused(alipay):
    assert precreate(alipay, "A", "1.001")["alipay_trade_precreate_response"]["sub_code"] == "isv.invalid-parameter"
    assert precreate(alipay, "B", "100000000.01")["alipay_trade_precreate_response"]["sub_code"] == \
        "ACQ.TOTAL_FEE_EXCEED"
