"""Fixtures for the PayPal simulator and adapter tests (imported by tests/sandbox/paypal/conftest.py and by
tests/payments/providers/test_paypal*.py). Everything runs in-process: no sockets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import Client, TestCase

from clearhouse.payments.providers.http import transport_factory
from clearhouse.payments.providers.paypal import PayPalProvider, token_cache_clear
from clearhouse.sandbox.paypal.services import app_register
from clearhouse.sandbox.paypal.webhooks import delivery_transport
from tests.sandbox.support import DjangoTransport, WebhookReceiver

API_BASE = "http://testserver/sandbox/paypal"
WEBHOOK_URL = "https://clearhouse.test/webhooks/paypal/1/"
RETURN_URL = "https://clearhouse.test/pay/SO-1/return/PAY-1/"


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str  # generated for this test run
    webhook_id: str
    merchant_id: str


@pytest.fixture
def paypal_settings(settings):
    """Links and cert URLs on this test server; tasks (webhook deliveries) run at once."""
    settings.CLEARHOUSE_PUBLIC_URL = "http://testserver"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    token_cache_clear()
    yield settings
    token_cache_clear()


@pytest.fixture
def paypal_receiver(paypal_settings):
    """Every webhook the simulator sends lands here (unless a test routes them elsewhere)."""
    receiver = WebhookReceiver()
    with delivery_transport(receiver):
        yield receiver


def register(*, merchant_id: str = "MERCHANT1", webhook_url: str = WEBHOOK_URL) -> Credentials:
    creds = Credentials(client_id=f"AT{secrets.token_hex(10)}", client_secret=secrets.token_urlsafe(24),
                        webhook_id=f"WH{secrets.token_hex(6).upper()}", merchant_id=merchant_id)
    app_register(client_id=creds.client_id, client_secret=creds.client_secret, merchant_id=merchant_id,
                 webhook_id=creds.webhook_id, webhook_url=webhook_url)
    return creds


@pytest.fixture
def paypal_app(db, paypal_receiver) -> Credentials:
    return register()


def token_for(creds: Credentials) -> str:
    with httpx.Client(transport=DjangoTransport(), base_url=API_BASE) as client:
        response = client.post("/v1/oauth2/token", data={"grant_type": "client_credentials"},
                               auth=(creds.client_id, creds.client_secret))
    response.raise_for_status()
    return response.json()["access_token"]


def api_client(creds: Credentials) -> httpx.Client:
    return httpx.Client(transport=DjangoTransport(), base_url=API_BASE, timeout=5,
                        headers={"Authorization": f"Bearer {token_for(creds)}"})


@pytest.fixture
def paypal_http(paypal_app):
    """A raw client of the simulator's REST API, with a bearer token of `paypal_app`."""
    with api_client(paypal_app) as client:
        yield client


@pytest.fixture
def paypal_provider(paypal_app):
    """Clearhouse's PayPalProvider for `paypal_app`, talking to the simulator in-process (5 s timeout)."""
    with transport_factory(lambda base_url: DjangoTransport()):
        yield PayPalProvider(api_base=API_BASE, client_id=paypal_app.client_id,
                             client_secret=paypal_app.client_secret, webhook_id=paypal_app.webhook_id,
                             merchant_id=paypal_app.merchant_id, timeout_s=5)


def order_body(value: str = "200.00", currency: str = "CNY", *, reference: str = "PAY-1") -> dict:
    return {"intent": "CAPTURE", "purchase_units": [{"reference_id": reference, "invoice_id": reference,
                                                     "amount": {"currency_code": currency, "value": value}}],
            "payment_source": {"paypal": {"experience_context": {"return_url": RETURN_URL,
                                                                 "cancel_url": RETURN_URL}}}}


def buyer_decides(action_url: str, *, decision: str = "approve", email: str = "buyer@example.com") -> dict:
    """The buyer on the checkout page (log in, approve or cancel); returns the redirect's query params.
    The simulator's webhooks go out when its work commits."""
    parts = urlsplit(action_url)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = Client().post(f"{parts.path}?{parts.query}",
                                 {"email": email, "password": "any-password", "decision": decision})
    assert response.status_code == 302, response.content.decode()[:1000]
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def payer_action(order: dict) -> str:
    return next(link["href"] for link in order["links"] if link["rel"] in ("payer-action", "approve"))
