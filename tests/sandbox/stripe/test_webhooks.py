"""The simulator's events: signed per endpoint (verified by the official SDK), retried, dropped, duplicated,
held and released out of order."""

from datetime import timedelta

import stripe
from django.utils import timezone

from clearhouse.sandbox.stripe.models import DeliveryState, EventDelivery
from clearhouse.sandbox.stripe.services import endpoint_create
from clearhouse.sandbox.stripe.webhooks import stripe_deliveries_retry


def paid(stripe_http, key="k"):
    pi = stripe_http.post("/v1/payment_intents", data={"amount": "1000", "currency": "usd"},
                          headers={"Idempotency-Key": f"{key}-c"}).json()
    stripe_http.post(f"/v1/payment_intents/{pi['id']}/confirm", data={"payment_method": "pm_card_visa"},
                     headers={"Idempotency-Key": f"{key}-p"})
    return pi


def controls(stripe_http, **values):
    stripe_http.post("/_test/controls", data={k: str(v).lower() for k, v in values.items()}).raise_for_status()


def test_every_event_is_signed_so_the_official_sdk_accepts_it(stripe_http, stripe_receiver, stripe_endpoint):
    paid(stripe_http)
    for received in stripe_receiver.received:
        event = stripe.Webhook.construct_event(received.body, received.headers["stripe-signature"],
                                               stripe_endpoint.secret)
        assert event.object == "event" and event.api_version
    assert stripe_receiver.events[-1]["data"]["object"]["status"] == "succeeded"


def test_an_endpoint_gets_only_the_events_it_listens_to(stripe_http, stripe_receiver, stripe_account):
    stripe_account.endpoints.all().delete()
    endpoint_create(account=stripe_account, url="https://shop.test/hooks/", enabled_events=["payment_intent.succeeded"])
    paid(stripe_http)
    assert stripe_receiver.types == ["payment_intent.succeeded"]


def test_a_refused_delivery_is_retried_with_backoff_until_accepted(stripe_http, stripe_receiver):
    stripe_receiver.script = [500, "error"] + [200] * 10
    paid(stripe_http)
    failed = EventDelivery.objects.filter(state=DeliveryState.PENDING).order_by("id")
    assert failed.count() == 2 and failed[0].last_status_code == 500
    assert stripe_deliveries_retry(now=timezone.now() + timedelta(minutes=2)) == 2
    assert not EventDelivery.objects.filter(state=DeliveryState.PENDING).exists()


def test_dropped_events_are_recorded_but_never_sent(stripe_http, stripe_receiver):
    controls(stripe_http, drop_webhooks=True)
    paid(stripe_http)
    assert stripe_receiver.received == []
    assert EventDelivery.objects.filter(state=DeliveryState.DROPPED).count() == 3


def test_duplicated_events_keep_their_id(stripe_http, stripe_receiver):
    controls(stripe_http, duplicate_webhooks=2)
    paid(stripe_http)
    ids = [e["id"] for e in stripe_receiver.events if e["type"] == "payment_intent.succeeded"]
    assert len(ids) == 2 and ids[0] == ids[1]


def test_held_events_are_released_newest_first(stripe_http, stripe_receiver):
    controls(stripe_http, hold_webhooks=True)
    paid(stripe_http)
    assert stripe_receiver.received == []
    from tests.sandbox.stripe.fixtures import after_commit

    with after_commit():
        released = stripe_http.post("/_test/controls/release_held", data={"reverse": "true"}).json()
    assert released["released"] == 3
    assert stripe_receiver.types == ["payment_intent.succeeded", "charge.succeeded", "payment_intent.created"]
