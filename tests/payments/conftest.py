"""Payment fixtures: an order to pay (Lin buys two Longjing at 100.00), tasks run at once, SMS in memory."""

from __future__ import annotations

import pytest

from clearhouse.customers.models import CustomerProfile
from tests.orders.conftest import _media_in_tmp, longjing, noodles, tea  # noqa: F401
from tests.orders.support import buy
from tests.sandbox.fixtures import (  # noqa: F401
    sandbox_http,
    sandbox_provider,
    sandbox_settings,
    sandbox_webhooks_in_process,
    webhook_receiver,
)


@pytest.fixture(autouse=True)
def _payment_settings(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.CLEARHOUSE_SMS_BACKEND = "clearhouse.notifications.sms.LocmemSmsBackend"
    settings.PAYMENT_PROVIDER_BACKOFF_BASE_S = 0
    settings.CLEARHOUSE_PUBLIC_URL = "https://shop.example"
    settings.REFUND_APPROVAL_THRESHOLD = "500.00"
    from clearhouse.notifications import sms

    sms.outbox.clear()


@pytest.fixture
def reachable_customer(customer):
    """Lin, with an email address and a mobile number."""
    CustomerProfile.objects.filter(pk=customer.pk).update(email="lin@example.com", phone="13800000000")
    customer.refresh_from_db()
    return customer


@pytest.fixture
def order(reachable_customer, longjing):
    """Lin's order of 2 x Longjing: 200.00 CNY, submitted and unpaid."""
    return buy(reachable_customer, (longjing, 2)).orders.get()


@pytest.fixture
def card(db):
    """The card provider, in memory (tests/payments/fakes.py), standing in for the configured one."""
    from clearhouse.payments.providers import providers_override
    from tests.payments.fakes import FakeCardProvider

    fake = FakeCardProvider()
    with providers_override(sandbox=fake):
        yield fake
