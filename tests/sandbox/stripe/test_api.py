"""The Stripe simulator's v1 API, spoken raw (form-encoded, as Stripe's wire format) over in-process HTTP."""

import time

import pytest

from clearhouse.sandbox.stripe.models import Charge, PaymentIntent

CREATE = {"amount": "20000", "currency": "cny", "metadata[reference]": "PAY-1", "description": "Order SO-1"}


def create(http, key="create-1", **extra):
    response = http.post("/v1/payment_intents", data={**CREATE, **extra}, headers={"Idempotency-Key": key})
    assert response.status_code == 200, response.text
    return response.json()


def confirm(http, pi, payment_method="pm_card_visa", key="confirm-1"):
    return http.post(f"/v1/payment_intents/{pi['id']}/confirm", data={"payment_method": payment_method},
                     headers={"Idempotency-Key": key})


def test_a_payment_intent_is_created_in_stripes_shape(stripe_http):
    pi = create(stripe_http)
    assert pi["object"] == "payment_intent" and pi["id"].startswith("pi_")
    assert pi["status"] == "requires_payment_method" and pi["amount"] == 20000 and pi["currency"] == "cny"
    assert pi["metadata"] == {"reference": "PAY-1"} and pi["client_secret"].startswith(pi["id"] + "_secret_")
    assert pi["latest_charge"] is None and pi["livemode"] is False


def test_an_unknown_parameter_is_refused_like_stripe(stripe_http):
    response = stripe_http.post("/v1/payment_intents", data={**CREATE, "amont": "1"})
    assert response.status_code == 400
    assert response.json()["error"] == {"type": "invalid_request_error", "code": "parameter_unknown",
                                        "param": "amont", "message": "Received unknown parameter: amont"}


def test_a_wrong_secret_key_is_refused(stripe_http, stripe_account):
    response = stripe_http.get("/v1/payment_intents/pi_x", headers={"Authorization": "Bearer sk_test_nope"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_invalid"


def test_another_accounts_payment_intent_does_not_exist_for_this_account(stripe_http, stripe_account):
    from clearhouse.sandbox.stripe.services import account_create

    other = account_create(name="Another shop")
    pi = create(stripe_http)
    response = stripe_http.get(f"/v1/payment_intents/{pi['id']}",
                               headers={"Authorization": f"Bearer {other.secret_key}"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "resource_missing"


def test_the_same_idempotency_key_replays_the_first_answer(stripe_http):
    first = stripe_http.post("/v1/payment_intents", data=CREATE, headers={"Idempotency-Key": "k1"})
    again = stripe_http.post("/v1/payment_intents", data=CREATE, headers={"Idempotency-Key": "k1"})
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert PaymentIntent.objects.count() == 1


def test_the_same_idempotency_key_with_other_parameters_is_an_idempotency_error(stripe_http):
    create(stripe_http, key="k1")
    response = stripe_http.post("/v1/payment_intents", data={**CREATE, "amount": "1"},
                                headers={"Idempotency-Key": "k1"})
    assert response.status_code == 400 and response.json()["error"]["type"] == "idempotency_error"


def test_a_card_confirm_captures_and_books_the_fee_on_a_balance_transaction(stripe_http, stripe_receiver):
    pi = create(stripe_http)
    response = stripe_http.post(f"/v1/payment_intents/{pi['id']}/confirm",
                                data={"payment_method": "pm_card_visa",
                                      "expand[]": "latest_charge.balance_transaction"},
                                headers={"Idempotency-Key": "c1"})
    paid = response.json()
    assert paid["status"] == "succeeded" and paid["amount_received"] == 20000
    txn = paid["latest_charge"]["balance_transaction"]
    assert txn["object"] == "balance_transaction" and txn["fee"] == 610 and txn["net"] == 19390
    assert stripe_receiver.types == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]


def test_a_decline_answers_402_and_is_kept_on_the_intent(stripe_http, stripe_receiver):
    pi = create(stripe_http)
    response = confirm(stripe_http, pi, "pm_card_visa_chargeDeclinedInsufficientFunds")
    assert response.status_code == 402
    error = response.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == ("card_error", "card_declined",
                                                                    "insufficient_funds")
    assert error["payment_intent"]["status"] == "requires_payment_method"
    now = stripe_http.get(f"/v1/payment_intents/{pi['id']}").json()
    assert now["last_payment_error"]["decline_code"] == "insufficient_funds"
    assert Charge.objects.get().status == "failed"
    assert stripe_receiver.types[-1] == "payment_intent.payment_failed"


def test_manual_capture_holds_then_captures_part(stripe_http, stripe_receiver):
    pi = create(stripe_http, capture_method="manual")
    held = confirm(stripe_http, pi).json()
    assert held["status"] == "requires_capture" and held["amount_capturable"] == 20000
    captured = stripe_http.post(f"/v1/payment_intents/{pi['id']}/capture",
                                data={"amount_to_capture": "15000", "expand[]": "latest_charge.balance_transaction"},
                                headers={"Idempotency-Key": "cap"}).json()
    assert captured["status"] == "succeeded" and captured["amount_received"] == 15000
    assert captured["latest_charge"]["balance_transaction"]["fee"] == 465  # 435 + 30
    assert "payment_intent.amount_capturable_updated" in stripe_receiver.types


def test_capture_more_than_held_is_refused(stripe_http):
    pi = create(stripe_http, capture_method="manual")
    confirm(stripe_http, pi)
    response = stripe_http.post(f"/v1/payment_intents/{pi['id']}/capture", data={"amount_to_capture": "20001"},
                                headers={"Idempotency-Key": "cap"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "amount_too_large"


def test_cancel_and_then_confirm_is_an_unexpected_state(stripe_http, stripe_receiver):
    pi = create(stripe_http)
    canceled = stripe_http.post(f"/v1/payment_intents/{pi['id']}/cancel", data={"cancellation_reason": "abandoned"},
                                headers={"Idempotency-Key": "x"}).json()
    assert canceled["status"] == "canceled" and canceled["cancellation_reason"] == "abandoned"
    response = confirm(stripe_http, pi)
    assert response.status_code == 400 and response.json()["error"]["code"] == "payment_intent_unexpected_state"
    assert "payment_intent.canceled" in stripe_receiver.types


def test_partial_then_full_refund_and_no_more(stripe_http, stripe_receiver):
    pi = create(stripe_http)
    confirm(stripe_http, pi)
    first = stripe_http.post("/v1/refunds", data={"payment_intent": pi["id"], "amount": "8000"},
                             headers={"Idempotency-Key": "r1"}).json()
    assert first["object"] == "refund" and first["status"] == "succeeded" and first["amount"] == 8000
    rest = stripe_http.post("/v1/refunds", data={"payment_intent": pi["id"]}, headers={"Idempotency-Key": "r2"}).json()
    assert rest["amount"] == 12000
    again = stripe_http.post("/v1/refunds", data={"payment_intent": pi["id"]}, headers={"Idempotency-Key": "r3"})
    assert again.status_code == 400 and again.json()["error"]["code"] == "charge_already_refunded"
    assert stripe_http.get(f"/v1/refunds/{first['id']}").json()["payment_intent"] == pi["id"]
    assert stripe_receiver.types.count("charge.refunded") == 2 and stripe_receiver.types.count("refund.created") == 2


def test_three_decimal_amounts_must_end_in_zero(stripe_http):
    response = stripe_http.post("/v1/payment_intents", data={**CREATE, "currency": "kwd", "amount": "5124"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "amount_invalid_for_currency"
    assert create(stripe_http, currency="kwd", amount="5120")["amount"] == 5120


def test_fail_next_calls_answers_500_and_a_retry_with_the_same_key_runs(stripe_http):
    stripe_http.post("/_test/controls", data={"fail_next_calls": "1"}).raise_for_status()
    failed = stripe_http.post("/v1/payment_intents", data=CREATE, headers={"Idempotency-Key": "k"})
    assert failed.status_code == 500 and failed.json()["error"]["type"] == "api_error"
    assert failed.headers["Stripe-Should-Retry"] == "true"
    assert stripe_http.post("/v1/payment_intents", data=CREATE, headers={"Idempotency-Key": "k"}).status_code == 200
    assert PaymentIntent.objects.count() == 1


def test_slow_next_calls_does_the_work_then_answers_late(stripe_http):
    stripe_http.post("/_test/controls", data={"slow_next_calls": "1", "slow_s": "0.3"}).raise_for_status()
    started = time.monotonic()
    create(stripe_http)
    assert time.monotonic() - started >= 0.3


def test_unknown_test_controls_are_refused(stripe_http):
    response = stripe_http.post("/_test/controls", data={"explode": "true"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "parameter_unknown"


@pytest.mark.parametrize("path", ["/v1/payment_intents/pi_unknown", "/v1/refunds/re_unknown"])
def test_unknown_objects_are_404_resource_missing(stripe_http, path):
    response = stripe_http.get(path)
    assert response.status_code == 404 and response.json()["error"]["code"] == "resource_missing"
