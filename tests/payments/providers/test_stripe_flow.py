"""Paying an order through Stripe end to end, offline: Clearhouse's services and the official SDK on one side,
the Stripe simulator (its API, payment page, 3-D Secure page and signed events) on the other, all in-process;
the events arrive at Clearhouse's own /webhooks/stripe/<account>/ endpoint."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlsplit

import pytest
import stripe
from django.db import connection
from django.test import Client

from clearhouse.core.errors import DomainError
from clearhouse.ledger.verify import ledger_verify
from clearhouse.orders.models import Order
from clearhouse.payments.models import ProviderEvent, RejectedWebhook
from clearhouse.payments.providers.http import transport_factory
from clearhouse.payments.services import payment_return, payment_start, payments_resolve_stuck, refund_request
from clearhouse.sandbox.stripe.demo import DEMO_ACCOUNT_NAME, demo_provision
from clearhouse.sandbox.stripe.models import Account, WebhookEndpoint
from clearhouse.sandbox.stripe.webhooks import delivery_transport
from tests.payments.support import cny, fresh, ledger
from tests.payments.test_janitor import later
from tests.sandbox.stripe.fixtures import DECLINE, THREE_DS, VISA, after_commit, authenticate, pay_on_page, query_of
from tests.sandbox.support import DjangoTransport

PAID_LEDGER = {"1100.stripe": 19420, "2100": -20000, "6100": 580}  # 200.00 CNY, fee 2.9% = 5.80


@pytest.fixture
def stripe_demo(db, settings):
    """The demo's wiring: demo_provision on this test server, HTTP both ways in-process."""
    settings.CLEARHOUSE_PUBLIC_URL = "http://testserver"
    settings.CLEARHOUSE_SANDBOX_PUBLIC_URL = "http://testserver"
    account = demo_provision(public_url="http://testserver")
    with transport_factory(lambda base_url: DjangoTransport()), delivery_transport(DjangoTransport()):
        yield account


def simulator() -> Account:
    return Account.objects.get(name=DEMO_ACCOUNT_NAME)


def start(order):
    intent = payment_start(order=order, method="card", actor="lin")
    assert intent.provider == "stripe" and intent.status == "requires_payment"
    assert urlsplit(intent.action_url).path == f"/sandbox/stripe/pay/{intent.provider_reference}/"
    return intent


def come_back(intent, location: str):
    """The browser lands on our return URL; the service handles it as the pay_return view does (a payment
    already finished by the provider's event is refused as a transition and simply shown)."""
    assert urlsplit(location).path == f"/pay/{intent.order.number}/return/{intent.reference}/"
    try:
        return payment_return(intent=fresh(intent), params=query_of(location), actor="lin")
    except DomainError:
        return fresh(intent)


def test_demo_provision_is_idempotent(stripe_demo):
    again = demo_provision(public_url="http://testserver")
    assert again.pk == stripe_demo.pk and json.loads(again.secrets) == json.loads(stripe_demo.secrets)
    assert Account.objects.count() == 1 and WebhookEndpoint.objects.count() == 1
    assert WebhookEndpoint.objects.get().url == f"http://testserver/webhooks/stripe/{stripe_demo.pk}/"


def test_a_card_paid_on_the_page_is_captured_the_order_paid_and_the_fee_booked(stripe_demo, order):
    intent = start(order)
    location = pay_on_page(intent.action_url, VISA)
    assert fresh(intent).status == "captured"  # the signed event arrived before the customer came back
    intent = come_back(intent, location)
    assert intent.status == "captured" and intent.fee_minor == 580 and intent.transaction_reference.startswith("ch_")
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert ProviderEvent.objects.get(type="payment_intent.succeeded").outcome == "applied"
    assert ledger() == PAID_LEDGER and ledger_verify().ok


def test_a_declined_card_fails_the_payment_and_the_order_stays_unpaid(stripe_demo, order):
    intent = start(order)
    location = pay_on_page(intent.action_url, DECLINE)
    assert query_of(location)["redirect_status"] == "failed"
    intent = come_back(intent, location)
    assert intent.status == "failed" and intent.failure_code == "insufficient_funds"
    assert Order.objects.get(pk=order.pk).status == "submitted" and ledger() == {}


def test_three_d_secure_completed_captures(stripe_demo, order):
    intent = start(order)
    back = authenticate(pay_on_page(intent.action_url, THREE_DS), "complete")
    assert come_back(intent, back).status == "captured"
    assert ledger() == PAID_LEDGER


def test_lost_events_and_a_customer_who_never_returns_are_recovered_by_the_janitor(stripe_demo, order):
    Account.objects.filter(pk=simulator().pk).update(drop_webhooks=True)
    intent = start(order)
    pay_on_page(intent.action_url, VISA)  # the browser is closed here: no return, no event
    assert fresh(intent).status == "requires_payment"
    assert payments_resolve_stuck(now=later()).resolved == 1
    assert fresh(intent).status == "captured" and Order.objects.get(pk=order.pk).status == "paid"
    assert payments_resolve_stuck(now=later(7200)).resolved == 0
    assert ledger() == PAID_LEDGER and ledger_verify().ok


def test_duplicate_and_out_of_order_events_capture_once(stripe_demo, order):
    Account.objects.filter(pk=simulator().pk).update(hold_webhooks=True, duplicate_webhooks=3)
    intent = start(order)
    authenticate(pay_on_page(intent.action_url, THREE_DS), "complete")
    assert fresh(intent).status == "requires_payment"  # the news is held back
    Account.objects.filter(pk=simulator().pk).update(hold_webhooks=False)
    from clearhouse.sandbox.stripe.webhooks import held_release

    with after_commit():
        assert held_release(account=simulator(), reverse=True) == 6  # succeeded x3 first, then requires_action x3
    assert fresh(intent).status == "captured"
    assert ProviderEvent.objects.filter(type="payment_intent.succeeded").count() == 1
    assert ProviderEvent.objects.get(type="payment_intent.requires_action").outcome == "stale"
    assert ledger() == PAID_LEDGER


def test_transient_errors_on_return_are_retried_with_the_same_key(stripe_demo, order):
    Account.objects.filter(pk=simulator().pk).update(drop_webhooks=True)
    intent = start(order)
    location = pay_on_page(intent.action_url, VISA)
    Account.objects.filter(pk=simulator().pk).update(fail_next_calls=2)
    intent = come_back(intent, location)
    assert intent.status == "captured"
    assert [a.outcome for a in intent.attempts.filter(operation="return")] == ["unavailable", "unavailable",
                                                                              "succeeded"]


def test_partial_and_full_refunds_go_back_through_stripe(stripe_demo, order, clerk):
    intent = start(order)
    come_back(intent, pay_on_page(intent.action_url, VISA))
    part = refund_request(intent=fresh(intent), amount=cny("80.00"), reason="returned one", actor=clerk, user=clerk)
    assert part.status == "succeeded" and part.provider_reference.startswith("re_")
    rest = refund_request(intent=fresh(intent), amount=cny("120.00"), reason="returned all", actor=clerk, user=clerk)
    assert rest.status == "succeeded"
    assert ledger().get("2100", 0) == 0 and ledger_verify().ok


# --- refused notifications, over HTTP to our endpoint ----------------------------------------------------
def post_event(stripe_demo, obj: dict, *, type="payment_intent.succeeded", event_id="evt_forged", secret=None,
               timestamp=None, tamper=False):
    body = json.dumps({"id": event_id, "object": "event", "type": type, "created": int(time.time()),
                       "data": {"object": obj}}).encode()
    secret = secret or json.loads(stripe_demo.secrets)["webhook_secret"]
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=timestamp)
    if tamper:
        body = body.replace(b'"object": "event"', b'"object": "evenT"')
    return Client().post(f"/webhooks/stripe/{stripe_demo.pk}/", data=body, content_type="application/json",
                         headers={"Stripe-Signature": header})


def pi_object(intent, **changes) -> dict:
    obj = {"id": intent.provider_reference, "object": "payment_intent", "amount": 20000, "currency": "cny",
           "amount_received": 20000, "status": "succeeded", "latest_charge": None, "last_payment_error": None}
    return {**obj, **changes}


@pytest.mark.parametrize(("how", "status"), [
    ({"tamper": True}, 400),
    ({"timestamp": int(time.time()) - 400}, 400),
    ({"secret": "whsec_of_another_endpoint"}, 400),
])
def test_a_forged_tampered_or_stale_event_is_refused_and_logged(stripe_demo, order, how, status):
    intent = start(order)
    response = post_event(stripe_demo, pi_object(intent), **how)
    assert response.status_code == status
    assert fresh(intent).status == "requires_payment" and RejectedWebhook.objects.count() == 1


def test_an_event_with_another_amount_is_refused(stripe_demo, order):
    intent = start(order)
    response = post_event(stripe_demo, pi_object(intent, amount=1, amount_received=1))
    assert response.status_code == 400 and response.json()["error"]["code"] == "amount_mismatch"
    assert fresh(intent).status == "requires_payment" and ledger() == {}


def test_an_event_about_an_unknown_payment_is_refused(stripe_demo, order):
    intent = start(order)
    response = post_event(stripe_demo, pi_object(intent, id="pi_never_made"))
    assert response.status_code == 404


def test_a_replayed_event_is_acknowledged_once_and_changes_nothing(stripe_demo, order):
    intent = start(order)
    Account.objects.filter(pk=simulator().pk).update(drop_webhooks=True)
    pay_on_page(intent.action_url, VISA)
    first = post_event(stripe_demo, pi_object(intent), event_id="evt_once")
    again = post_event(stripe_demo, pi_object(intent), event_id="evt_once")
    assert first.status_code == again.status_code == 200
    assert (first["X-Clearhouse-Webhook-Outcome"], again["X-Clearhouse-Webhook-Outcome"]) == ("applied", "duplicate")
    assert ledger() == PAID_LEDGER


def test_no_key_and_no_card_number_is_left_in_any_table_or_log(stripe_demo, order, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = json.loads(stripe_demo.secrets)
    intent = start(order)
    come_back(intent, pay_on_page(intent.action_url, "4000 0566 5566 5556"))  # a Visa debit test card
    assert fresh(intent).status == "captured"
    needles = [secrets["secret_key"], secrets["webhook_secret"], "4000056655665556", "4000 0566 5566 5556"]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            rows = repr(cursor.fetchall())
            assert not [n for n in needles if n in rows], table
    assert not [n for n in needles if n in caplog.text]
