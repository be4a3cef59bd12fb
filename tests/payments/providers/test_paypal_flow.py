"""Paying an order with PayPal through Clearhouse's services, against the PayPal simulator in-process: the
platform account from `demo_provision`, PayPal's approval page, our return URL, webhooks at
/webhooks/paypal/<account id>/, the janitor, refunds and the ledger."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from django.test import Client

from clearhouse.ledger.verify import ledger_verify
from clearhouse.orders.models import Order
from clearhouse.payments.models import ProviderAccount, ProviderEvent, RejectedWebhook
from clearhouse.payments.providers import reset_cache
from clearhouse.payments.providers.http import transport_factory
from clearhouse.payments.services import payment_return, payment_start, payments_resolve_stuck, refund_request
from clearhouse.sandbox.paypal.demo import demo_provision
from clearhouse.sandbox.paypal.models import Capture
from clearhouse.sandbox.paypal.webhooks import canonical, delivery_transport, transmission_headers
from tests.payments.support import cny, fresh, ledger
from tests.payments.test_janitor import later
from tests.sandbox.paypal.fixtures import Credentials, api_client, buyer_decides, paypal_settings  # noqa: F401
from tests.sandbox.support import DjangoTransport

PAID_LEDGER = {"1100.paypal": 19320, "2100": -20000, "6100": 680}


@pytest.fixture(autouse=True)
def _through_paypal(db, paypal_settings):
    demo_provision(public_url="http://testserver")
    reset_cache()
    with transport_factory(lambda base_url: DjangoTransport()), delivery_transport(DjangoTransport()):
        yield


@pytest.fixture
def account():
    return ProviderAccount.objects.get(provider="paypal")


@pytest.fixture
def paypal_http(account):
    creds = Credentials(client_id=account.settings["client_id"],
                        client_secret=json.loads(account.secrets)["client_secret"],
                        webhook_id=account.settings["webhook_id"], merchant_id=account.settings["merchant_id"])
    with api_client(creds) as client:
        yield client


def controls(http, **values):
    http.post("/v1/test_controls", json=values).raise_for_status()


def start(order):
    intent = payment_start(order=order, method="paypal", actor="lin")
    assert urlsplit(intent.action_url).path == "/sandbox/paypal/checkoutnow"
    return intent


def order_status(order) -> str:
    return Order.objects.get(pk=order.pk).status


def test_approved_on_paypal_captured_on_return_order_paid_and_booked(order, account):
    intent = start(order)
    params = buyer_decides(intent.action_url)
    assert fresh(intent).status == "requires_action"  # CHECKOUT.ORDER.APPROVED arrived at our webhook
    intent = payment_return(intent=fresh(intent), params=params, actor="lin")
    assert intent.status == "captured" and intent.fee_minor == 680
    assert intent.transaction_reference == Capture.objects.get().id
    assert order_status(order) == "paid"
    assert ProviderEvent.objects.get(type="CHECKOUT.ORDER.APPROVED").outcome == "applied"
    assert ProviderEvent.objects.get(type="PAYMENT.CAPTURE.COMPLETED").outcome in {"applied", "stale"}
    assert intent.status_changes.filter(to_status="captured").count() == 1
    assert ledger() == PAID_LEDGER and ledger_verify().ok


def test_cancelled_on_paypal_leaves_the_order_unpaid(order):
    intent = start(order)
    intent = payment_return(intent=fresh(intent), params=buyer_decides(intent.action_url, decision="cancel"),
                            actor="lin")
    assert intent.status == "failed" and intent.failure_code == "payer_cancelled"
    assert order_status(order) == "submitted" and ledger() == {}


def test_declined_funding_fails_the_payment(order):
    intent = start(order)
    params = buyer_decides(intent.action_url, email="declined@example.com")
    intent = payment_return(intent=fresh(intent), params=params, actor="lin")
    assert intent.status == "failed" and intent.failure_code == "instrument_declined"
    assert intent.attempts.get(operation="return").outcome == "declined"
    assert order_status(order) == "submitted"


def test_a_customer_who_approved_but_never_came_back_is_captured_by_the_janitor(order, paypal_http):
    controls(paypal_http, drop_webhooks=True)
    intent = start(order)
    buyer_decides(intent.action_url)  # and the browser is closed; the webhook is lost
    assert fresh(intent).status == "requires_payment"
    assert payments_resolve_stuck(now=later()).resolved == 1
    assert fresh(intent).status == "captured" and order_status(order) == "paid"
    assert payments_resolve_stuck(now=later(7200)).resolved == 0
    assert ledger() == PAID_LEDGER and ledger_verify().ok


def test_a_capture_that_timed_out_is_found_by_the_janitor_once(order, paypal_http, settings):
    controls(paypal_http, drop_webhooks=True)
    intent = start(order)
    params = buyer_decides(intent.action_url)
    settings.PAYMENT_PROVIDER_TIMEOUT_S = 0.5
    controls(paypal_http, slow_next_calls=1, slow_response_s=1.0)  # the capture is done, its answer comes late
    intent = payment_return(intent=fresh(intent), params=params, actor="lin")
    assert intent.status == "processing" and order_status(order) == "submitted"
    assert intent.attempts.get(operation="return").outcome == "timeout"
    assert payments_resolve_stuck(now=later()).resolved == 1
    assert fresh(intent).status == "captured" and Capture.objects.count() == 1
    assert ledger() == PAID_LEDGER


def test_transient_errors_on_capture_are_retried_with_the_same_request_id(order, paypal_http):
    intent = start(order)
    params = buyer_decides(intent.action_url)
    controls(paypal_http, fail_next_calls=2)
    intent = payment_return(intent=fresh(intent), params=params, actor="lin")
    assert intent.status == "captured"
    assert [a.outcome for a in intent.attempts.filter(operation="return")] == ["unavailable", "unavailable",
                                                                              "succeeded"]


def test_duplicate_and_out_of_order_webhooks_leave_one_capture(order, paypal_http):
    controls(paypal_http, hold_webhooks=True, duplicate_webhooks=3)
    intent = start(order)
    intent = payment_return(intent=fresh(intent), params=buyer_decides(intent.action_url), actor="lin")
    assert intent.status == "captured"
    controls(paypal_http, hold_webhooks=False)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        paypal_http.post("/v1/test_controls/release_held", json={"reverse": True}).raise_for_status()
    # Captured arrives first, approved last (out of order); each three times (deduplicated by event id).
    assert ProviderEvent.objects.filter(type="PAYMENT.CAPTURE.COMPLETED").count() == 1
    assert ProviderEvent.objects.get(type="CHECKOUT.ORDER.APPROVED").outcome == "stale"
    assert fresh(intent).status == "captured" and intent.status_changes.filter(to_status="captured").count() == 1
    assert ledger() == PAID_LEDGER


def test_partial_and_full_refunds_go_back_through_paypal(order, clerk):
    intent = start(order)
    intent = payment_return(intent=fresh(intent), params=buyer_decides(intent.action_url), actor="lin")
    first = refund_request(intent=intent, amount=cny("80.00"), reason="one returned", actor=clerk, user=clerk)
    second = refund_request(intent=intent, amount=cny("120.00"), reason="the other", actor=clerk, user=clerk)
    assert first.status == second.status == "succeeded"
    capture = Capture.objects.get()
    assert capture.status == "REFUNDED" and capture.refunds.count() == 2
    assert ledger().get("2100", 0) == 0 and ledger_verify().ok


def post_webhook(account, body: bytes, headers: dict):
    return Client().post(f"/webhooks/paypal/{account.pk}/", data=body, content_type="application/json",
                         headers=headers)


def capture_event(order_id: str, value: str) -> bytes:
    return canonical({
        "id": "WH-FORGED-AMOUNT", "event_version": "1.0", "create_time": "2026-01-01T00:00:00.000Z",
        "resource_type": "capture", "event_type": "PAYMENT.CAPTURE.COMPLETED", "summary": "",
        "resource": {"id": "CAPTUREX", "status": "COMPLETED", "amount": {"currency_code": "CNY", "value": value},
                     "payee": {"merchant_id": "CLEARHOUSEDEMO"},
                     "supplementary_data": {"related_ids": {"order_id": order_id}}}})


def test_a_genuine_notification_with_another_amount_is_refused_and_logged(order, account):
    intent = start(order)
    body = capture_event(intent.provider_reference, "2.00")
    response = post_webhook(account, body, transmission_headers(body=body, webhook_id=account.settings["webhook_id"]))
    assert response.status_code == 400 and response.json()["error"]["code"] == "amount_mismatch"
    assert fresh(intent).status == "requires_payment" and RejectedWebhook.objects.count() == 1


def test_a_tampered_or_unknown_notification_is_refused(order, account):
    intent = start(order)
    body = capture_event(intent.provider_reference, "200.00")
    headers = transmission_headers(body=body, webhook_id=account.settings["webhook_id"])
    tampered = post_webhook(account, body.replace(b"CAPTUREX", b"CAPTUREY"), headers)
    assert tampered.status_code == 400 and fresh(intent).status == "requires_payment"
    unknown = capture_event("NOSUCHORDER", "200.00")
    answer = post_webhook(account, unknown, transmission_headers(body=unknown,
                                                                 webhook_id=account.settings["webhook_id"]))
    assert answer.status_code == 404
    assert RejectedWebhook.objects.count() == 2
    genuine = post_webhook(account, body, headers)
    assert genuine.status_code == 200 and fresh(intent).status == "captured"


def test_demo_provision_is_idempotent_and_keeps_the_credentials(account):
    demo_provision(public_url="http://testserver")
    again = ProviderAccount.objects.get(provider="paypal")
    assert again.pk == account.pk and again.settings == account.settings and again.secrets == account.secrets
    assert again.settings["api_base"] == "http://testserver/sandbox/paypal"
