"""Webhooks in at /webhooks/<provider>/: verified, kept once per event id, applied only forwards."""

import json

import pytest

from clearhouse.orders.models import Order
from clearhouse.payments.models import PaymentIntent, ProviderEvent, RejectedWebhook
from clearhouse.payments.services import payment_confirm, payment_start
from tests.payments.support import fresh, ledger


@pytest.fixture
def processing(order, card):
    """A card payment whose answer we never got: the provider captured it, we know nothing yet."""
    card.script("confirm", "processing")
    intent = payment_confirm(intent=payment_start(order=order, method="card", actor="lin"), payment_token="t")
    assert intent.status == "processing"
    return intent


def post(client, body, headers):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return client.post("/webhooks/sandbox/", data=body, content_type="application/json", **extra)


def test_a_genuine_webhook_completes_the_payment(client, processing, card):
    card.settle(processing.provider_reference)
    response = post(client, *card.webhook(processing.provider_reference))
    assert response.status_code == 200 and response["X-Clearhouse-Webhook-Outcome"] == "applied"
    assert fresh(processing).status == "captured"
    assert Order.objects.get(pk=processing.order_id).status == "paid"


def test_fifty_deliveries_of_one_event_have_one_effect(client, processing, card):
    card.settle(processing.provider_reference)
    body, headers = card.webhook(processing.provider_reference)
    outcomes = [post(client, body, headers)["X-Clearhouse-Webhook-Outcome"] for _ in range(50)]
    assert outcomes.count("applied") == 1 and outcomes.count("duplicate") == 49
    assert ProviderEvent.objects.count() == 1
    assert ledger() == {"1100.sandbox": 19880, "2100": -20000, "6100": 120}


def test_an_older_event_arriving_late_moves_nothing_back(client, processing, card):
    older = card.webhook(processing.provider_reference)  # says: processing
    card.settle(processing.provider_reference)
    newer = card.webhook(processing.provider_reference)  # says: captured
    assert post(client, *newer)["X-Clearhouse-Webhook-Outcome"] == "applied"
    assert post(client, *older)["X-Clearhouse-Webhook-Outcome"] == "stale"
    assert fresh(processing).status == "captured"


def test_a_tampered_webhook_is_refused_logged_and_changes_nothing(client, processing, card):
    card.settle(processing.provider_reference)
    body, headers = card.webhook(processing.provider_reference)
    tampered = body.replace(b'"captured"', b'"capturee"')
    response = post(client, tampered, headers)
    assert response.status_code == 400 and response.json()["error"]["code"] == "webhook_rejected"
    assert fresh(processing).status == "processing"
    assert RejectedWebhook.objects.get().provider == "sandbox"
    assert ProviderEvent.objects.count() == 0


def test_a_webhook_signed_with_another_secret_is_refused(client, processing, card):
    response = post(client, *card.webhook(processing.provider_reference, secret="whsec_wrong"))
    assert response.status_code == 400


def test_an_expired_timestamp_is_refused(client, processing, card):
    response = post(client, *card.webhook(processing.provider_reference, timestamp=1_000_000_000))
    assert response.status_code == 400 and RejectedWebhook.objects.count() == 1


def test_an_event_type_we_do_not_handle_is_refused_with_its_own_code(client, processing, card):
    body, _ = card.webhook(processing.provider_reference)
    event = json.loads(body)
    event["object"] = {"object": "payout", "id": "po_1"}
    body = json.dumps(event).encode()
    response = post(client, body, {"Fake-Signature": card.signature(body)})
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_event"


def test_a_webhook_about_a_payment_we_do_not_know_is_refused_and_logged(client, card):
    from clearhouse.core.money import Money
    from clearhouse.payments.providers.base import CreatePayment

    remote = card.create(CreatePayment(intent_reference="X", amount=Money(100, "CNY"), manual_capture=False,
                                       return_url="", notify_url="", description="", idempotency_key="k"))
    response = post(client, *card.webhook(remote.provider_reference))
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_payment_reference"
    assert PaymentIntent.objects.count() == 0 and ProviderEvent.objects.count() == 0
    assert RejectedWebhook.objects.get().reason.startswith("unknown_payment_reference")


def test_a_webhook_whose_amount_is_not_the_payments_is_refused_and_changes_nothing(client, processing, card):
    from dataclasses import replace

    from clearhouse.core.money import Money

    card.settle(processing.provider_reference)
    card.payments[processing.provider_reference] = replace(card.payments[processing.provider_reference],
                                                           amount=Money(100, "CNY"))
    response = post(client, *card.webhook(processing.provider_reference))
    assert response.status_code == 400 and response.json()["error"]["code"] == "amount_mismatch"
    assert fresh(processing).status == "processing" and ProviderEvent.objects.count() == 0
    assert ledger() == {}


def test_an_unknown_provider_is_a_client_error(client):
    response = client.post("/webhooks/nosuch/", data=b"{}", content_type="application/json")
    assert response.status_code == 400


def test_only_post_is_accepted(client):
    assert client.get("/webhooks/sandbox/").status_code == 405
