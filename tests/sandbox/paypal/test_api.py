"""The PayPal simulator speaks PayPal's REST protocol: OAuth2, Orders v2, Payments v2, errors, idempotency."""

from __future__ import annotations

import pytest
from django.test import Client

from clearhouse.sandbox.paypal.models import Capture, Order
from tests.sandbox.paypal.fixtures import RETURN_URL, api_client, buyer_decides, order_body, payer_action, register


def types(receiver) -> list[str]:
    return [event["event_type"] for event in receiver.events]


def create(http, body=None, request_id="req-1"):
    return http.post("/v2/checkout/orders", json=body or order_body(), headers={"PayPal-Request-Id": request_id})


def approved_order(http, **buyer) -> dict:
    order = create(http).json()
    buyer_decides(payer_action(order), **buyer)
    return order


def test_a_token_needs_the_right_client_secret(paypal_app, paypal_http):
    import httpx

    from tests.sandbox.support import DjangoTransport

    with httpx.Client(transport=DjangoTransport(), base_url="http://testserver/sandbox/paypal") as client:
        wrong = client.post("/v1/oauth2/token", data={"grant_type": "client_credentials"},
                            auth=(paypal_app.client_id, "not-the-secret"))
        right = client.post("/v1/oauth2/token", data={"grant_type": "client_credentials"},
                            auth=(paypal_app.client_id, paypal_app.client_secret))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert right.status_code == 200 and right.json()["token_type"] == "Bearer" and right.json()["expires_in"] > 0


def test_calls_without_a_valid_bearer_token_are_refused(paypal_http):
    response = paypal_http.get("/v2/checkout/orders/NOSUCHORDER", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401 and response.json()["name"] == "AUTHENTICATION_FAILURE"


def test_an_order_waits_for_the_payer_at_the_payer_action_link(paypal_http):
    response = create(paypal_http)
    order = response.json()
    assert response.status_code == 201 and order["status"] == "PAYER_ACTION_REQUIRED"
    assert payer_action(order) == f"http://testserver/sandbox/paypal/checkoutnow?token={order['id']}"
    assert order["purchase_units"][0]["amount"] == {"currency_code": "CNY", "value": "200.00"}
    assert paypal_http.get(f"/v2/checkout/orders/{order['id']}").json()["status"] == "PAYER_ACTION_REQUIRED"


@pytest.mark.parametrize(("value", "currency", "status", "issue"), [
    ("1000.50", "JPY", 422, "DECIMALS_NOT_SUPPORTED"),
    ("1000.50", "HUF", 422, "DECIMALS_NOT_SUPPORTED"),
    ("10.000", "KWD", 422, "CURRENCY_NOT_SUPPORTED"),
    ("10.001", "USD", 400, "DECIMAL_PRECISION"),
    ("10", "usd", 400, "INVALID_PARAMETER_VALUE"),
])
def test_amounts_are_checked_as_paypal_does(paypal_http, value, currency, status, issue):
    response = create(paypal_http, order_body(value, currency))
    assert response.status_code == status and response.json()["details"][0]["issue"] == issue


def test_zero_decimal_currencies_take_whole_amounts(paypal_http):
    order = create(paypal_http, order_body("1000", "JPY")).json()
    assert order["purchase_units"][0]["amount"] == {"currency_code": "JPY", "value": "1000"}


def test_the_same_request_id_replays_and_a_different_body_is_refused(paypal_http):
    first, again = create(paypal_http).json(), create(paypal_http).json()
    other = create(paypal_http, order_body("1.00"))
    assert first["id"] == again["id"] and Order.objects.count() == 1
    assert other.status_code == 422 and other.json()["details"][0]["issue"] == "PAYPAL_REQUEST_ID_PREVIOUSLY_USED"


def test_approve_then_capture_once_with_fee_and_order_id(paypal_http, paypal_receiver):
    order = create(paypal_http).json()
    early = paypal_http.post(f"/v2/checkout/orders/{order['id']}/capture", headers={"PayPal-Request-Id": "c0"})
    assert early.status_code == 422 and early.json()["details"][0]["issue"] == "ORDER_NOT_APPROVED"
    back = buyer_decides(payer_action(order))
    assert back["token"] == order["id"] and back["PayerID"]
    assert types(paypal_receiver) == ["CHECKOUT.ORDER.APPROVED"]

    captured = paypal_http.post(f"/v2/checkout/orders/{order['id']}/capture", headers={"PayPal-Request-Id": "c1"})
    capture = captured.json()["purchase_units"][0]["payments"]["captures"][0]
    assert captured.status_code == 201 and captured.json()["status"] == "COMPLETED"
    assert capture["status"] == "COMPLETED" and capture["amount"]["value"] == "200.00"
    assert capture["seller_receivable_breakdown"]["paypal_fee"] == {"currency_code": "CNY", "value": "6.80"}
    assert capture["supplementary_data"]["related_ids"]["order_id"] == order["id"]
    assert types(paypal_receiver)[-1] == "PAYMENT.CAPTURE.COMPLETED"
    twice = paypal_http.post(f"/v2/checkout/orders/{order['id']}/capture", headers={"PayPal-Request-Id": "c2"})
    assert twice.status_code == 422 and twice.json()["details"][0]["issue"] == "ORDER_ALREADY_CAPTURED"
    assert Capture.objects.count() == 1


def test_the_buyer_cancels_and_goes_back_with_the_token_only(paypal_http):
    order = create(paypal_http).json()
    assert buyer_decides(payer_action(order), decision="cancel") == {"token": order["id"]}
    assert Order.objects.get().status == "PAYER_ACTION_REQUIRED"


def test_the_checkout_page_shows_the_amount_and_test_buyers(paypal_http):
    order = create(paypal_http).json()
    page = Client().get(f"/sandbox/paypal/checkoutnow?token={order['id']}")
    html = page.content.decode()
    assert page.status_code == 200 and 'name="viewport"' in html and "buyer@example.com" in html
    assert "200.00" in html and RETURN_URL not in html


def test_another_apps_order_is_not_theirs(paypal_http):
    order = create(paypal_http).json()
    with api_client(register(merchant_id="OTHER")) as other:
        response = other.get(f"/v2/checkout/orders/{order['id']}")
    assert response.status_code == 403 and response.json()["details"][0]["issue"] == "PERMISSION_DENIED"


def test_a_declined_funding_source_refuses_the_capture(paypal_http):
    order = approved_order(paypal_http, email="declined@example.com")
    response = paypal_http.post(f"/v2/checkout/orders/{order['id']}/capture", headers={"PayPal-Request-Id": "c"})
    assert response.status_code == 422 and response.json()["details"][0]["issue"] == "INSTRUMENT_DECLINED"
    assert response.json()["name"] == "UNPROCESSABLE_ENTITY" and response.json()["debug_id"]


def test_partial_refunds_up_to_the_captured_total(paypal_http, paypal_receiver):
    order = approved_order(paypal_http)
    capture = paypal_http.post(f"/v2/checkout/orders/{order['id']}/capture", headers={"PayPal-Request-Id": "c"}
                               ).json()["purchase_units"][0]["payments"]["captures"][0]

    def refund(value, key):
        return paypal_http.post(f"/v2/payments/captures/{capture['id']}/refund", headers={"PayPal-Request-Id": key},
                                json={"amount": {"currency_code": "CNY", "value": value}})

    assert refund("80.00", "r1").json()["status"] == "COMPLETED"
    assert refund("80.00", "r1").json()["id"] == Capture.objects.get().refunds.get().id  # replayed, not twice
    too_much = refund("120.01", "r2")
    assert too_much.status_code == 422 and too_much.json()["details"][0]["issue"] == "REFUND_AMOUNT_EXCEEDED"
    rest = paypal_http.post(f"/v2/payments/captures/{capture['id']}/refund", headers={"PayPal-Request-Id": "r3"},
                            json={})
    assert rest.json()["amount"]["value"] == "120.00"
    assert paypal_http.get(f"/v2/payments/captures/{capture['id']}").json()["status"] == "REFUNDED"
    assert paypal_http.get(f"/v2/payments/refunds/{rest.json()['id']}").json()["status"] == "COMPLETED"
    assert types(paypal_receiver).count("PAYMENT.CAPTURE.REFUNDED") == 2


def test_an_injected_failure_answers_500_and_changes_nothing(paypal_http):
    paypal_http.post("/v1/test_controls", json={"fail_next_calls": 1}).raise_for_status()
    failed = create(paypal_http)
    assert failed.status_code == 500 and failed.json()["name"] == "INTERNAL_SERVER_ERROR"
    assert Order.objects.count() == 0
    assert create(paypal_http).status_code == 201  # the same request id runs again


def test_a_pending_capture_clears_later_with_its_webhook(paypal_http, paypal_receiver):
    order = approved_order(paypal_http, email="pending@example.com")
    capture = paypal_http.post(f"/v2/checkout/orders/{order['id']}/capture", headers={"PayPal-Request-Id": "c"}
                               ).json()["purchase_units"][0]["payments"]["captures"][0]
    assert capture["status"] == "PENDING" and "seller_receivable_breakdown" not in capture
    settled = paypal_http.post(f"/v1/test_controls/captures/{capture['id']}", json={"status": "COMPLETED"})
    assert settled.json()["status"] == "COMPLETED"
    assert types(paypal_receiver)[-2:] == ["PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.COMPLETED"]
