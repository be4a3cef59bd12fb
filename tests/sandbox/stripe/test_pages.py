"""The simulator's customer pages: pay with a test card, 3-D Secure, and back to the merchant like Stripe.js."""

from django.test import Client

from clearhouse.sandbox.stripe.models import PaymentMethod
from tests.sandbox.stripe.fixtures import (
    DECLINE,
    RETURN_URL,
    THREE_DS,
    VISA,
    authenticate,
    pay_on_page,
    query_of,
)


def new_intent(stripe_http):
    return stripe_http.post("/v1/payment_intents", data={"amount": "20000", "currency": "cny"},
                            headers={"Idempotency-Key": "c"}).json()


def page(pi):
    return f"/sandbox/stripe/pay/{pi['id']}/?return_url={RETURN_URL}"


def test_the_page_shows_the_amount_and_stripes_test_cards_on_a_phone(stripe_http):
    response = Client().get(page(new_intent(stripe_http)))
    html = response.content.decode()
    assert response.status_code == 200 and 'name="viewport"' in html
    assert "200.00" in html and "4242 4242 4242 4242" in html and "4000 0027 6000 3184" in html


def test_a_good_card_pays_and_returns_with_stripes_parameters(stripe_http):
    pi = new_intent(stripe_http)
    location = pay_on_page(page(pi), VISA)
    assert location.startswith(RETURN_URL)
    assert query_of(location) == {"payment_intent": pi["id"], "payment_intent_client_secret": pi["client_secret"],
                                  "redirect_status": "succeeded"}
    assert stripe_http.get(f"/v1/payment_intents/{pi['id']}").json()["status"] == "succeeded"
    method = PaymentMethod.objects.get()
    assert (method.brand, method.last4) == ("visa", "4242")  # never the number


def test_a_declined_card_returns_failed(stripe_http):
    pi = new_intent(stripe_http)
    assert query_of(pay_on_page(page(pi), DECLINE))["redirect_status"] == "failed"
    assert stripe_http.get(f"/v1/payment_intents/{pi['id']}").json()["last_payment_error"]["decline_code"] == \
        "insufficient_funds"


def test_three_d_secure_completed_then_back_succeeded(stripe_http):
    pi = new_intent(stripe_http)
    location = pay_on_page(page(pi), THREE_DS)
    assert location == f"/sandbox/stripe/authenticate/{pi['id']}/"
    assert stripe_http.get(f"/v1/payment_intents/{pi['id']}").json()["next_action"]["type"] == "redirect_to_url"
    assert query_of(authenticate(location, "complete"))["redirect_status"] == "succeeded"


def test_three_d_secure_failed_then_back_failed(stripe_http):
    pi = new_intent(stripe_http)
    back = authenticate(pay_on_page(page(pi), THREE_DS), "fail")
    assert query_of(back)["redirect_status"] == "failed"
    error = stripe_http.get(f"/v1/payment_intents/{pi['id']}").json()["last_payment_error"]
    assert error["code"] == "payment_intent_authentication_failure"


def test_a_javascript_return_url_is_never_followed(stripe_http):
    pi = new_intent(stripe_http)
    response = Client().post(f"/sandbox/stripe/pay/{pi['id']}/?return_url=javascript:alert(1)",
                             {"number": VISA, "expiry": "12/34", "cvc": "123", "cardholder": "Lin"})
    assert response.status_code == 200  # the result is shown on the page instead


def test_the_card_number_is_not_kept_anywhere(stripe_http):
    pi = new_intent(stripe_http)
    pay_on_page(page(pi), "4000 0566 5566 5556")
    from django.db import connection

    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if table.startswith("sandbox_stripe"):
                cursor.execute(f'SELECT * FROM "{table}"')
                assert "4000056655665556" not in repr(cursor.fetchall())
