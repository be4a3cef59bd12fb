"""Fixtures shared by the Stripe simulator tests and the Stripe adapter tests (imported by their modules).

Keys are generated per test by the simulator (never fixed in the repository);
everything runs in-process: the adapter's HTTP through `DjangoTransport`, the
simulator's webhooks through `delivery_transport(...)`.
"""

from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.test import Client, TestCase

from clearhouse.payments.providers.http import transport_factory
from clearhouse.payments.providers.stripe import StripeProvider
from clearhouse.sandbox.stripe.services import account_create, endpoint_create
from clearhouse.sandbox.stripe.webhooks import delivery_transport
from tests.sandbox.support import DjangoTransport, WebhookReceiver

API_BASE = "http://testserver/sandbox/stripe"
NOTIFY_URL = "https://clearhouse.test/webhooks/stripe/1/"
RETURN_URL = "https://clearhouse.test/pay/SO-1/return/PAY-1/"
VISA, DECLINE, THREE_DS, PROCESSING_ERROR = ("4242424242424242", "4000000000009995", "4000002760003184",
                                             "4000000000000119")


@pytest.fixture
def stripe_settings(settings):
    """Tasks run at once (events are delivered after commit); simulator pages live on testserver."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.CLEARHOUSE_SANDBOX_PUBLIC_URL = "http://testserver"
    return settings


@pytest.fixture
def stripe_account(db, stripe_settings):
    """A test-mode account: 2.9% + 30 (Stripe units) fees, freshly generated keys."""
    return account_create(name="Test shop", fee_rate="0.0290", fee_fixed=30)


@pytest.fixture
def stripe_endpoint(stripe_account):
    """The account's webhook endpoint, listening to every event type."""
    return endpoint_create(account=stripe_account, url=NOTIFY_URL, enabled_events=["*"])


@pytest.fixture
def stripe_receiver(stripe_endpoint):
    """Every event the simulator sends during the test lands here."""
    receiver = WebhookReceiver()
    with delivery_transport(receiver):
        yield receiver


@pytest.fixture
def stripe_http(stripe_account, stripe_receiver):
    """An httpx client for the raw simulator API (form-encoded, as Stripe), served in-process."""
    with httpx.Client(transport=DjangoTransport(), base_url=API_BASE, timeout=5,
                      headers={"Authorization": f"Bearer {stripe_account.secret_key}"}) as client:
        yield client


@pytest.fixture
def stripe_provider(stripe_account, stripe_endpoint, stripe_receiver):
    """Clearhouse's StripeProvider (the official SDK) talking to the simulator in-process, 5 s timeout."""
    with transport_factory(lambda base_url: DjangoTransport()):
        yield StripeProvider(secret_key=stripe_account.secret_key, webhook_secret=stripe_endpoint.secret,
                             api_base=API_BASE, timeout_s=5)


@contextmanager
def after_commit():
    """Run what a request registered for after its commit (the simulator's event deliveries)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        yield


def pay_on_page(action_url: str, number: str, *, client: Client | None = None) -> httpx.URL | str:
    """Pay like a customer on the simulator's payment page; returns where the browser is sent next."""
    parts = urlsplit(action_url)
    with after_commit():
        response = (client or Client()).post(f"{parts.path}?{parts.query}", {
            "number": number, "expiry": "12/34", "cvc": "123", "cardholder": "Lin Wei"})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def authenticate(location: str, decision: str) -> str:
    """Answer the 3-D Secure test page ("complete" or "fail"); returns the redirect back to the merchant."""
    with after_commit():
        response = Client().post(urlsplit(location).path, {"decision": decision})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
