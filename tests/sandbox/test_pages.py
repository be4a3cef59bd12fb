"""The sandbox's hosted pages: the card form (validation, tokenisation, never keeping the number) and 3-D Secure."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.db import connection
from django.test import Client

from clearhouse.sandbox.models import PaymentMethod
from tests.sandbox.fixtures import NOTIFY_URL

RETURN = "https://clearhouse.test/pay/return/?intent=PI-1"


@pytest.fixture
def intent(sandbox_http):
    return sandbox_http.post("/payment_intents", json={
        "amount": 12345, "currency": "cny", "capture_method": "automatic", "reference": "PI-1",
        "notify_url": NOTIFY_URL}).json()


def checkout_path(intent) -> str:
    return f"/sandbox/checkout/{intent['id']}/?{urlencode({'return_url': RETURN})}"


def submit(intent, **fields):
    card = {"number": "4242 4242 4242 4242", "expiry": "12/34", "cvc": "123", "cardholder": "Lin Wei"} | fields
    return Client().post(checkout_path(intent), card)


def test_the_card_form_shows_the_amount_and_the_test_cards(intent):
    page = Client().get(checkout_path(intent)).content.decode()

    assert "¥123.45" in page
    for number in ("4242 4242 4242 4242", "4000 0000 0000 9995", "4000 0027 6000 3184", "4000 0000 0000 0119",
                   "4000 0000 0000 7726"):
        assert number in page
    assert 'name="viewport"' in page


def test_the_card_form_speaks_chinese(intent):
    page = Client(headers={"Accept-Language": "zh-hans"}).get(checkout_path(intent)).content.decode()

    assert "卡号" in page and "测试卡" in page


def test_a_valid_card_becomes_a_payment_method_and_the_customer_goes_back(intent):
    response = submit(intent)

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.netloc == "clearhouse.test" and location.path == "/pay/return/"
    query = parse_qs(location.query)
    assert query["intent"] == ["PI-1"]
    method = PaymentMethod.objects.get(pk=query["payment_method"][0])
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == ("visa", "4242", 12, 2034)


@pytest.mark.parametrize(("fields", "message"), [
    ({"number": "4242 4242 4242 4241"}, "This card number is not valid."),
    ({"expiry": "01/20"}, "This card has expired."),
    ({"expiry": "1234"}, "Enter the expiry as MM/YY."),
    ({"cvc": "12"}, "The CVC is 3 or 4 digits."),
])
def test_an_invalid_card_is_shown_an_error_and_nothing_is_stored(intent, fields, message):
    response = submit(intent, **fields)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PaymentMethod.objects.exists()


def test_the_card_number_is_never_echoed_back_on_an_error_page(intent):
    page = submit(intent, number="5555 5555 5555 4444", cvc="9182", expiry="01/20").content.decode()

    assert "This card has expired." in page
    assert "5555 5555 5555 4444" not in page and "5555555555554444" not in page and "9182" not in page


def test_the_full_card_number_is_never_stored_nor_logged(intent, sandbox_http, caplog):
    caplog.set_level(logging.DEBUG)
    other = "5555555555554444"
    method = parse_qs(urlsplit(submit(intent, number=other, cvc="9182")["Location"]).query)["payment_method"][0]
    sandbox_http.post(f"/payment_intents/{intent['id']}/confirm", json={"payment_method": method})
    submit(intent, number=other)  # already paid: the form is not even processed

    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # table names come from the database itself
            found += [(table, row) for row in cursor.fetchall()
                      if any(other in str(cell) or "5555 5555 5555 4444" in str(cell) for cell in row)]
    assert found == []
    assert other not in caplog.text and "5555 5555 5555 4444" not in caplog.text
    assert PaymentMethod.objects.get(pk=method).last4 == "4444"


def test_a_paid_intent_shows_nothing_to_pay(intent, sandbox_http):
    sandbox_http.post(f"/payment_intents/{intent['id']}/confirm", json={"payment_method": "pm_card_visa"})

    response = submit(intent)

    assert response.status_code == 200 and "Nothing to pay" in response.content.decode()


def test_a_return_url_that_is_not_http_is_ignored(intent):
    response = Client().post(f"/sandbox/checkout/{intent['id']}/?return_url=javascript:alert(1)",
                             {"number": "4242424242424242", "expiry": "12/34", "cvc": "123", "cardholder": "L"})

    assert response.status_code == 200 and "Card saved" in response.content.decode()


def test_the_challenge_page_offers_approve_and_deny(intent, sandbox_http):
    sandbox_http.post(f"/payment_intents/{intent['id']}/confirm",
                      json={"payment_method": "pm_card_authenticationRequired", "return_url": RETURN})

    page = Client().get(f"/sandbox/authenticate/{intent['id']}/").content.decode()

    assert 'value="approve"' in page and 'value="deny"' in page and "¥123.45" in page


def test_the_challenge_for_a_payment_not_awaiting_it_changes_nothing(intent):
    response = Client().post(f"/sandbox/authenticate/{intent['id']}/", {"decision": "approve"})

    assert response.status_code == 200 and 'value="approve"' not in response.content.decode()


def test_an_unknown_intent_is_404(db):
    assert Client().get("/sandbox/checkout/pi_nope/").status_code == 404
