"""The PayPal adapter over a real socket: Clearhouse and the PayPal simulator as two HTTP parties."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from clearhouse.core.money import Money
from clearhouse.payments.providers.base import CreatePayment, ProviderStatus
from clearhouse.payments.providers.paypal import PayPalProvider
from tests.sandbox.paypal.fixtures import paypal_settings, register  # noqa: F401


@pytest.mark.django_db(transaction=True)
def test_order_approval_capture_and_query_through_a_live_server(live_server, paypal_settings):
    paypal_settings.CLEARHOUSE_PUBLIC_URL = live_server.url
    creds = register(webhook_url="")
    provider = PayPalProvider(api_base=f"{live_server.url}/sandbox/paypal", client_id=creds.client_id,
                              client_secret=creds.client_secret, webhook_id=creds.webhook_id, timeout_s=10)
    created = provider.create(CreatePayment(
        intent_reference="PAY-LIVE", amount=Money(2550, "USD"), manual_capture=False,
        return_url="https://clearhouse.test/return/", notify_url="", description="live", idempotency_key="live-1"))
    with httpx.Client(timeout=10) as browser:  # the buyer's browser, CSRF cookie and all
        page = browser.get(created.action_url)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = browser.post(created.action_url, data={"csrfmiddlewaretoken": csrf, "email": "buyer@example.com",
                                                        "password": "pw", "decision": "approve"})
    assert answer.status_code == 302
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    paid = provider.handle_return(provider_reference=created.provider_reference, params=params,
                                  idempotency_key="live-2")
    queried = provider.query(provider_reference=created.provider_reference)
    assert created.status == ProviderStatus.REQUIRES_ACTION
    assert paid.status == queried.status == ProviderStatus.CAPTURED
    assert queried.amount_captured_minor == 2550 and queried.fee_minor == 87
