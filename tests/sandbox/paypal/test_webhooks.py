"""The simulator's webhooks are signed as PayPal signs them, verified by its postback, and retried."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.test import Client
from django.utils import timezone

from clearhouse.sandbox.paypal.models import DeliveryState, WebhookDelivery
from clearhouse.sandbox.paypal.webhooks import paypal_deliveries_retry
from tests.sandbox.paypal.fixtures import buyer_decides, order_body, payer_action


def approve_one(http):
    order = http.post("/v2/checkout/orders", json=order_body(), headers={"PayPal-Request-Id": "o"}).json()
    buyer_decides(payer_action(order))
    return order


def expected_signed_string(transmission_id: str, timestamp: str, webhook_id: str, event_body: str) -> bytes:
    """PayPal's own rule, as its Python SDK writes it (paypalrestsdk WebhookEvent._get_expected_sig):
    transmission_id|timestamp|webhook_id|str(crc32(body) & 0xffffffff)."""
    data = str(binascii.crc32(event_body.encode("utf-8")) & 0xffffffff)
    return (transmission_id + "|" + timestamp + "|" + webhook_id + "|" + data).encode("utf-8")


def test_a_webhook_verifies_offline_with_the_certificate_at_its_cert_url(paypal_app, paypal_http, paypal_receiver):
    approve_one(paypal_http)
    sent = paypal_receiver.received[0]
    headers = {k.lower(): v for k, v in sent.headers.items()}
    assert headers["paypal-auth-algo"] == "SHA256withRSA" and sent.url == "https://clearhouse.test/webhooks/paypal/1/"
    pem = Client().get(headers["paypal-cert-url"].removeprefix("http://testserver")).content
    public_key = x509.load_pem_x509_certificate(pem).public_key()
    message = expected_signed_string(headers["paypal-transmission-id"], headers["paypal-transmission-time"],
                                     paypal_app.webhook_id, sent.body.decode())
    signature = base64.b64decode(headers["paypal-transmission-sig"])
    public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public_key.verify(signature, message.replace(b"|", b"|x", 1), padding.PKCS1v15(), hashes.SHA256())


def verify(http, sent, *, webhook_id, event=None):
    headers = {k.lower(): v for k, v in sent.headers.items()}
    return http.post("/v1/notifications/verify-webhook-signature",
                     headers={"PayPal-Request-Id": uuid.uuid4().hex}, json={
        "auth_algo": headers["paypal-auth-algo"], "cert_url": headers["paypal-cert-url"],
        "transmission_id": headers["paypal-transmission-id"], "transmission_sig": headers["paypal-transmission-sig"],
        "transmission_time": headers["paypal-transmission-time"], "webhook_id": webhook_id,
        "webhook_event": event if event is not None else json.loads(sent.body)}).json()["verification_status"]


def test_the_postback_says_success_only_for_the_untouched_event_and_its_own_webhook(paypal_app, paypal_http,
                                                                                    paypal_receiver):
    approve_one(paypal_http)
    sent = paypal_receiver.received[0]
    tampered = json.loads(sent.body)
    tampered["resource"]["purchase_units"][0]["amount"]["value"] = "2.00"
    assert verify(paypal_http, sent, webhook_id=paypal_app.webhook_id) == "SUCCESS"
    assert verify(paypal_http, sent, webhook_id=paypal_app.webhook_id, event=tampered) == "FAILURE"
    assert verify(paypal_http, sent, webhook_id="SOMEONEELSES") == "FAILURE"


def test_a_refused_delivery_is_retried_with_backoff(paypal_http, paypal_receiver):
    paypal_receiver.script = [500, "error"]
    approve_one(paypal_http)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1 and delivery.last_status_code == 500
    assert paypal_deliveries_retry(now=timezone.now()) == 0  # not due yet
    assert paypal_deliveries_retry(now=timezone.now() + timedelta(seconds=31)) == 0  # connection refused
    assert paypal_deliveries_retry(now=timezone.now() + timedelta(seconds=200)) == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 3
    assert len(paypal_receiver.received) == 2  # the one answered 500, then the accepted one


def test_dropped_duplicated_and_held_deliveries(paypal_http, paypal_receiver):
    paypal_http.post("/v1/test_controls", json={"drop_webhooks": True}).raise_for_status()
    approve_one(paypal_http)
    assert paypal_receiver.received == []
    paypal_http.post("/v1/test_controls", json={"drop_webhooks": False, "hold_webhooks": True,
                                                "duplicate_webhooks": 2}).raise_for_status()
    order = paypal_http.post("/v2/checkout/orders", json=order_body("5.00"), headers={"PayPal-Request-Id": "o2"})
    buyer_decides(payer_action(order.json()))
    assert paypal_receiver.received == []
    paypal_http.post("/v1/test_controls", json={"hold_webhooks": False}).raise_for_status()
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert paypal_http.post("/v1/test_controls/release_held", json={"reverse": True}).json()["released"] == 2
    ids = [event["id"] for event in paypal_receiver.events]
    assert len(ids) == 2 and ids[0] == ids[1]
