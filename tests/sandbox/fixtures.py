"""Fixtures shared by the sandbox simulator tests and the sandbox adapter tests (imported by their conftests)."""

from __future__ import annotations

import httpx
import pytest

from clearhouse.payments.providers.http import transport_factory
from clearhouse.payments.providers.sandbox import SandboxProvider
from clearhouse.sandbox.webhooks import delivery_transport
from tests.sandbox.support import DjangoTransport, WebhookReceiver

SECRET_KEY = "sk_test_for_tests"
WEBHOOK_SECRET = "whsec_for_tests"
NOTIFY_URL = "https://clearhouse.test/webhooks/sandbox/"
RETURN_URL = "https://clearhouse.test/pay/return/?intent=PI-1"


@pytest.fixture
def sandbox_settings(settings):
    """Known secrets, a fast "slow card", and tasks run at once (webhooks are delivered after commit)."""
    settings.CLEARHOUSE_SANDBOX_SECRET_KEY = SECRET_KEY
    settings.CLEARHOUSE_SANDBOX_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.CLEARHOUSE_SANDBOX_SLOW_RESPONSE_S = 0.3
    settings.CLEARHOUSE_SANDBOX_FEE_RATE = "0.0060"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return settings


@pytest.fixture
def webhook_receiver(sandbox_settings):
    """Every webhook the sandbox sends during the test lands here."""
    receiver = WebhookReceiver()
    with delivery_transport(receiver):
        yield receiver


@pytest.fixture
def sandbox_webhooks_in_process(webhook_receiver):
    """Deliver the sandbox's webhooks to this project's own URLs in-process (e.g. Clearhouse's /webhooks/sandbox/):
    use a notify_url such as http://testserver/webhooks/sandbox/. Overrides `webhook_receiver` for the test."""
    with delivery_transport(DjangoTransport()):
        yield


@pytest.fixture
def sandbox_http(db, sandbox_settings, webhook_receiver):
    """An httpx client for the raw sandbox API, served in-process, authenticated."""
    with httpx.Client(transport=DjangoTransport(), base_url="http://testserver/sandbox/v1",
                      headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=5) as client:
        yield client


@pytest.fixture
def sandbox_provider(db, sandbox_settings, webhook_receiver):
    """Clearhouse's SandboxProvider talking to the simulator in-process (5 s timeout).."""
    with transport_factory(lambda base_url: DjangoTransport()):
        yield SandboxProvider(timeout_s=5)
