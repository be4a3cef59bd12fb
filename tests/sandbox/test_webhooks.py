"""Webhooks from the sandbox: signed events on every status change, retries, and the test controls."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from clearhouse.sandbox.domain import signature_header
from clearhouse.sandbox.models import DeliveryState, WebhookDelivery, WebhookEvent
from clearhouse.sandbox.tasks import retry_webhook_deliveries
from clearhouse.sandbox.webhooks import MAX_ATTEMPTS, sandbox_deliveries_retry
from tests.sandbox.fixtures import NOTIFY_URL, WEBHOOK_SECRET


def paid(http, *, capture_method="automatic", notify_url=NOTIFY_URL):
    intent = http.post("/payment_intents", json={"amount": 5000, "currency": "cny", "capture_method": capture_method,
                                                 "reference": "PI-9", "notify_url": notify_url}).json()
    http.post(f"/payment_intents/{intent['id']}/confirm", json={"payment_method": "pm_card_visa"})
    return intent


def test_a_status_change_posts_a_signed_event_to_the_notify_url(sandbox_http, webhook_receiver):
    intent = paid(sandbox_http)

    [webhook] = webhook_receiver.received
    timestamp = webhook.headers["sandbox-signature"].split(",")[0].removeprefix("t=")
    assert webhook.url == NOTIFY_URL
    assert webhook.headers["sandbox-signature"] == signature_header(secret=WEBHOOK_SECRET, timestamp=int(timestamp),
                                                                    body=webhook.body)
    event = webhook.event
    assert event["id"].startswith("evt_") and event["object"] == "event"
    assert event["type"] == "payment_intent.succeeded" and isinstance(event["created"], int)
    assert event["data"]["object"]["id"] == intent["id"]
    assert event["data"]["object"]["status"] == "succeeded" and event["data"]["object"]["fee"] == 30


def test_each_event_carries_the_object_as_of_that_moment(sandbox_http, webhook_receiver):
    intent = paid(sandbox_http, capture_method="manual")
    sandbox_http.post(f"/payment_intents/{intent['id']}/capture", json={"amount_to_capture": 1000})
    sandbox_http.post("/refunds", json={"payment_intent": intent["id"], "amount": 400})

    assert webhook_receiver.types == ["payment_intent.amount_capturable_updated", "payment_intent.succeeded",
                                      "refund.succeeded"]
    held, captured, refund = (e["data"]["object"] for e in webhook_receiver.events)
    assert (held["status"], held["amount_capturable"]) == ("requires_capture", 5000)
    assert (captured["status"], captured["amount_received"]) == ("succeeded", 1000)
    assert (refund["object"], refund["amount"], refund["payment_intent"]) == ("refund", 400, intent["id"])


def test_without_a_notify_url_events_are_recorded_but_not_sent(sandbox_http, webhook_receiver):
    paid(sandbox_http, notify_url="")

    assert WebhookEvent.objects.count() == 1 and not WebhookDelivery.objects.exists()
    assert webhook_receiver.received == []


def test_dropped_webhooks_are_recorded_and_never_sent(sandbox_http, webhook_receiver):
    sandbox_http.post("/test_controls", json={"drop_webhooks": True})

    paid(sandbox_http)

    assert webhook_receiver.received == []
    assert WebhookDelivery.objects.get().state == DeliveryState.DROPPED


def test_duplicated_webhooks_arrive_that_many_times_with_the_same_event_id(sandbox_http, webhook_receiver):
    sandbox_http.post("/test_controls", json={"duplicate_webhooks": 3})

    paid(sandbox_http)

    assert webhook_receiver.types == ["payment_intent.succeeded"] * 3
    assert len({e["id"] for e in webhook_receiver.events}) == 1


def test_held_webhooks_are_released_in_reverse_order_to_arrive_out_of_order(sandbox_http, webhook_receiver):
    sandbox_http.post("/test_controls", json={"hold_webhooks": True})
    intent = paid(sandbox_http, capture_method="manual")
    sandbox_http.post(f"/payment_intents/{intent['id']}/capture", json={})
    assert webhook_receiver.received == []

    released = sandbox_http.post("/test_controls/release_held", json={"reverse": True}).json()

    assert released["released"] == 2
    assert webhook_receiver.types == ["payment_intent.succeeded", "payment_intent.amount_capturable_updated"]


def test_a_refused_delivery_is_retried_after_a_backoff(sandbox_http, webhook_receiver):
    webhook_receiver.script = [500]
    paid(sandbox_http)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (DeliveryState.PENDING, 1, 500)

    soon = delivery.next_attempt_at - timedelta(seconds=1)
    assert sandbox_deliveries_retry(now=soon) == 0
    assert sandbox_deliveries_retry(now=delivery.next_attempt_at) == 1

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 2)
    assert webhook_receiver.types == ["payment_intent.succeeded"] * 2  # refused once, then accepted


def test_delivery_gives_up_after_the_last_attempt(sandbox_http, webhook_receiver):
    webhook_receiver.script = ["error"] * MAX_ATTEMPTS
    paid(sandbox_http)
    now = timezone.now()
    for _ in range(MAX_ATTEMPTS):
        now += timedelta(days=1)
        sandbox_deliveries_retry(now=now)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (DeliveryState.FAILED, MAX_ATTEMPTS, None)
    assert delivery.last_error.startswith("ConnectError")
    assert webhook_receiver.received == []


def test_the_retry_task_resends_due_deliveries(sandbox_http, webhook_receiver):
    webhook_receiver.script = [503]
    paid(sandbox_http)
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))

    result = retry_webhook_deliveries.enqueue()

    assert result.return_value == 1
    assert WebhookDelivery.objects.get().state == DeliveryState.DELIVERED


def test_webhooks_can_be_delivered_to_this_project_in_process(sandbox_http, sandbox_webhooks_in_process,
                                                             webhook_receiver):
    # No merchant endpoint is mounted at this path: this project's own URL routing answers 404.
    paid(sandbox_http, notify_url="http://testserver/sandbox/no-such-endpoint/")

    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (DeliveryState.PENDING, 1, 404)
    assert webhook_receiver.received == []
