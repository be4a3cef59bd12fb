"""The sandbox's JSON API under /sandbox/v1/: authentication, objects, state rules, idempotency, errors."""

from __future__ import annotations

import pytest

from clearhouse.sandbox.models import IdempotentRequest, PaymentIntent
from tests.sandbox.fixtures import NOTIFY_URL

INTENT = {"amount": 10000, "currency": "cny", "capture_method": "automatic", "reference": "PI-1",
          "description": "Order SO-1", "notify_url": NOTIFY_URL, "return_url": "https://clearhouse.test/r/"}


def create(http, **changes):
    response = http.post("/payment_intents", json={**INTENT, **changes})
    assert response.status_code == 200, response.text
    return response.json()


def confirm(http, intent, payment_method):
    return http.post(f"/payment_intents/{intent['id']}/confirm", json={"payment_method": payment_method})


def test_a_call_without_the_secret_key_is_refused(sandbox_http):
    response = sandbox_http.post("/payment_intents", json=INTENT, headers={"Authorization": "Bearer sk_wrong"})

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert not PaymentIntent.objects.exists()


def test_a_new_payment_intent_waits_for_a_card(sandbox_http):
    intent = create(sandbox_http)

    assert intent["id"].startswith("pi_") and len(intent["id"]) == 27
    assert intent | {"id": None, "created": None, "checkout_url": None} == {
        "id": None, "object": "payment_intent", "amount": 10000, "currency": "cny",
        "status": "requires_payment_method", "capture_method": "automatic", "amount_capturable": 0,
        "amount_received": 0, "amount_refunded": 0, "fee": None, "charge": None, "payment_method": None,
        "next_action": None, "last_payment_error": None, "description": "Order SO-1",
        "metadata": {"reference": "PI-1"}, "created": None, "checkout_url": None,
    }
    assert intent["checkout_url"].endswith(f"/sandbox/checkout/{intent['id']}/")
    assert sandbox_http.get(f"/payment_intents/{intent['id']}").json() == intent


@pytest.mark.parametrize("bad", [{"amount": 0}, {"amount": "100"}, {"amount": 1.5}, {"currency": "yuan"},
                                 {"capture_method": "later"}])
def test_an_invalid_payment_intent_is_refused(sandbox_http, bad):
    response = sandbox_http.post("/payment_intents", json={**INTENT, **bad})

    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


def test_posts_work_without_clearhouse_api_idempotency_or_csrf(sandbox_http):
    # /sandbox/ is outside /api/v1/: Clearhouse's own Idempotency-Key middleware does not apply.
    assert create(sandbox_http)["status"] == "requires_payment_method"


def test_the_same_idempotency_key_and_body_replays_the_stored_answer(sandbox_http):
    first = sandbox_http.post("/payment_intents", json=INTENT, headers={"Idempotency-Key": "k1"})
    again = sandbox_http.post("/payment_intents", json=INTENT, headers={"Idempotency-Key": "k1"})

    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert PaymentIntent.objects.count() == 1


def test_the_same_idempotency_key_with_another_body_is_an_idempotency_error(sandbox_http):
    sandbox_http.post("/payment_intents", json=INTENT, headers={"Idempotency-Key": "k1"})
    other = sandbox_http.post("/payment_intents", json={**INTENT, "amount": 1}, headers={"Idempotency-Key": "k1"})

    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"


def test_a_declined_confirm_answers_402_and_the_intent_keeps_the_error(sandbox_http):
    intent = create(sandbox_http)

    response = confirm(sandbox_http, intent, "pm_card_visa_chargeDeclinedInsufficientFunds")

    assert response.status_code == 402
    error = response.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == ("card_error", "card_declined",
                                                                     "insufficient_funds")
    now = sandbox_http.get(f"/payment_intents/{intent['id']}").json()
    assert now["status"] == "requires_payment_method"
    assert now["last_payment_error"]["decline_code"] == "insufficient_funds"


def test_a_new_card_after_a_decline_clears_the_error(sandbox_http):
    intent = create(sandbox_http)
    confirm(sandbox_http, intent, "pm_card_visa_chargeDeclinedInsufficientFunds")

    paid = confirm(sandbox_http, intent, "pm_card_visa").json()

    assert paid["status"] == "succeeded" and paid["last_payment_error"] is None


def test_a_processing_error_answers_500_and_changes_nothing_nor_is_remembered(sandbox_http):
    intent = create(sandbox_http)

    response = sandbox_http.post(f"/payment_intents/{intent['id']}/confirm",
                                 json={"payment_method": "pm_card_chargeDeclinedProcessingError"},
                                 headers={"Idempotency-Key": "c1"})

    assert response.status_code == 500
    assert response.json()["error"] | {"message": None} == {"type": "api_error", "code": "processing_error",
                                                            "message": None}
    assert sandbox_http.get(f"/payment_intents/{intent['id']}").json() == intent
    assert not IdempotentRequest.objects.filter(key="c1").exists()


def test_three_d_secure_requires_a_redirect_to_the_challenge(sandbox_http):
    intent = create(sandbox_http)

    answer = confirm(sandbox_http, intent, "pm_card_authenticationRequired").json()

    assert answer["status"] == "requires_action"
    assert answer["next_action"]["type"] == "redirect_to_url"
    assert answer["next_action"]["redirect_url"].startswith("http")
    assert answer["next_action"]["redirect_url"].endswith(f"/sandbox/authenticate/{intent['id']}/")


def test_a_payment_method_from_another_intent_is_refused(sandbox_http):
    intent = create(sandbox_http)

    response = confirm(sandbox_http, intent, "pm_not_from_this_checkout")

    assert response.status_code == 400 and response.json()["error"]["code"] == "resource_missing"


def test_only_an_authorized_payment_can_be_captured_and_never_above_the_hold(sandbox_http):
    intent = create(sandbox_http, capture_method="manual")
    too_early = sandbox_http.post(f"/payment_intents/{intent['id']}/capture", json={})
    held = confirm(sandbox_http, intent, "pm_card_visa").json()
    too_much = sandbox_http.post(f"/payment_intents/{intent['id']}/capture", json={"amount_to_capture": 10001})
    captured = sandbox_http.post(f"/payment_intents/{intent['id']}/capture", json={"amount_to_capture": 2500}).json()
    twice = sandbox_http.post(f"/payment_intents/{intent['id']}/capture", json={})

    assert too_early.json()["error"]["code"] == "payment_intent_unexpected_state"
    assert (held["status"], held["amount_capturable"]) == ("requires_capture", 10000)
    assert too_much.json()["error"]["code"] == "amount_too_large"
    assert (captured["status"], captured["amount_received"], captured["amount_capturable"], captured["fee"]) == (
        "succeeded", 2500, 0, 15)
    assert twice.json()["error"]["code"] == "payment_intent_unexpected_state"


def test_a_full_capture_without_an_amount_takes_the_whole_hold(sandbox_http):
    intent = create(sandbox_http, capture_method="manual")
    confirm(sandbox_http, intent, "pm_card_visa")

    captured = sandbox_http.post(f"/payment_intents/{intent['id']}/capture", json={}).json()

    assert (captured["amount_received"], captured["fee"]) == (10000, 60)


def test_refunds_are_limited_to_what_was_received_minus_what_was_refunded(sandbox_http):
    intent = create(sandbox_http)
    confirm(sandbox_http, intent, "pm_card_visa")

    first = sandbox_http.post("/refunds", json={"payment_intent": intent["id"], "amount": 7000, "reference": "R1"})
    too_large = sandbox_http.post("/refunds", json={"payment_intent": intent["id"], "amount": 3001})

    assert first.json() | {"id": None, "created": None} == {
        "id": None, "object": "refund", "amount": 7000, "currency": "cny", "payment_intent": intent["id"],
        "status": "succeeded", "failure_reason": None, "metadata": {"reference": "R1"}, "created": None}
    assert too_large.status_code == 400 and too_large.json()["error"]["code"] == "amount_too_large"
    assert sandbox_http.get(f"/refunds/{first.json()['id']}").json() == first.json()
    assert sandbox_http.get(f"/payment_intents/{intent['id']}").json()["amount_refunded"] == 7000


def test_an_unpaid_intent_cannot_be_refunded(sandbox_http):
    intent = create(sandbox_http)

    response = sandbox_http.post("/refunds", json={"payment_intent": intent["id"], "amount": 1})

    assert response.status_code == 400 and response.json()["error"]["code"] == "charge_not_refundable"


def test_fail_next_calls_answers_500_to_that_many_calls(sandbox_http):
    sandbox_http.post("/test_controls", json={"fail_next_calls": 2})

    answers = [sandbox_http.post("/payment_intents", json=INTENT).status_code for _ in range(3)]

    assert answers == [500, 500, 200]
    assert PaymentIntent.objects.count() == 1
    assert sandbox_http.get("/test_controls").json()["fail_next_calls"] == 0


def test_unknown_test_controls_are_refused(sandbox_http):
    assert sandbox_http.post("/test_controls", json={"explode": True}).status_code == 400


def test_a_wrong_method_is_405(sandbox_http):
    assert sandbox_http.delete("/payment_intents").status_code == 405
