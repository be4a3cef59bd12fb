"""The buyer's pages of the Alipay simulator: page pay through the gateway to the cashier, log in and
pay (signed sync return), a buyer without balance, cancel; the scan-and-pay page."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from django.test import Client

from clearhouse.core.money import Money
from clearhouse.payments.providers.alipay import load_public_key, verify_notification
from clearhouse.payments.providers.base import CreatePayment
from clearhouse.sandbox.alipay.models import Trade
from tests.sandbox.alipay.fixtures import NOTIFY_URL, RETURN_URL, buyer_cancels, buyer_pays, open_cashier


def page_pay(alipay, amount_minor=12345):
    return alipay.create(CreatePayment(intent_reference="PAY-1", amount=Money(amount_minor, "CNY"),
                                       manual_capture=False, return_url=RETURN_URL, notify_url=NOTIFY_URL,
                                       description="Order SO-1", idempotency_key="k"))


def test_the_cashier_shows_the_trade_and_paying_returns_signed_params(alipay, alipay_app, notify_receiver):
    client = Client()
    cashier = open_cashier(client, page_pay(alipay).action_url)
    page = client.get(cashier)
    assert page.status_code == 200 and "¥123.45" in page.content.decode() and 'name="viewport"' in page.content.decode()

    response = buyer_pays(client, cashier)

    assert response.status_code == 302 and response["Location"].startswith(RETURN_URL + "?")
    params = dict(parse_qsl(urlsplit(response["Location"]).query))
    assert params["method"] == "alipay.trade.page.pay.return" and params["total_amount"] == "123.45"
    assert verify_notification(params, load_public_key(alipay_app.alipay_public_key))
    assert Trade.objects.get(out_trade_no="PAY-1").status == "TRADE_SUCCESS"
    assert notify_receiver.statuses == ["TRADE_SUCCESS"]
    assert notify_receiver.received[0].url == NOTIFY_URL


def test_a_buyer_without_balance_cannot_pay_and_the_trade_waits(alipay, notify_receiver):
    client = Client()
    cashier = open_cashier(client, page_pay(alipay).action_url)
    response = buyer_pays(client, cashier, account="nobalance@sandbox.alipay")
    assert response.status_code == 200 and 'id="error"' in response.content.decode()
    assert Trade.objects.get().status == "WAIT_BUYER_PAY" and notify_receiver.received == []


def test_cancel_closes_the_trade_and_goes_back_to_the_merchant_unsigned(alipay):
    client = Client()
    cashier = open_cashier(client, page_pay(alipay).action_url)
    response = buyer_cancels(client, cashier)
    assert response.status_code == 302 and response["Location"] == RETURN_URL + "?out_trade_no=PAY-1"
    assert Trade.objects.get().status == "TRADE_CLOSED"


def test_a_tampered_page_pay_link_shows_alipays_error_page(alipay):
    url = page_pay(alipay).action_url.replace("123.45", "1.00")
    parts = urlsplit(url)
    response = Client().get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200 and "isv.invalid-signature" in response.content.decode()
    assert not Trade.objects.exists()


def test_the_scan_page_of_a_qr_trade_is_paid_without_a_return(alipay, notify_receiver):
    alipay.flow = "qr"
    payment = page_pay(alipay)
    response = buyer_pays(Client(), payment.qr_code)
    assert response.status_code == 200 and 'id="result"' in response.content.decode()
    assert notify_receiver.statuses == ["TRADE_SUCCESS"]


def test_a_page_pay_link_past_its_time_expire_cannot_be_paid(alipay):
    import time

    alipay._clock = lambda: time.time() - 3600  # made an hour ago: time_expire (30 min) has passed
    url = page_pay(alipay).action_url
    parts = urlsplit(url)
    response = Client().get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200 and "ACQ.TRADE_HAS_CLOSE" in response.content.decode()
    assert not Trade.objects.exists()


def test_the_cashier_speaks_chinese(alipay):
    client = Client(headers={"Accept-Language": "zh-hans"})
    page = client.get(open_cashier(client, page_pay(alipay).action_url))
    assert "确认付款 ¥123.45" in page.content.decode()
