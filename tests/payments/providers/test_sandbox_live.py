"""The sandbox adapter over a real socket: Clearhouse and the simulator as two HTTP parties."""

from __future__ import annotations

import pytest

from clearhouse.core.money import Money
from clearhouse.payments.providers.base import CreatePayment, ProviderStatus
from clearhouse.payments.providers.sandbox import SandboxProvider


@pytest.mark.django_db(transaction=True)
def test_create_confirm_and_query_through_a_live_server(live_server, settings):
    settings.CLEARHOUSE_SANDBOX_API_BASE = live_server.url + "/sandbox/v1"
    provider = SandboxProvider(timeout_s=10)

    created = provider.create(CreatePayment(
        intent_reference="PI-LIVE", amount=Money(2550, "CNY"), manual_capture=False,
        return_url="https://clearhouse.test/return/", notify_url="", description="live", idempotency_key="live-1"))
    paid = provider.confirm(provider_reference=created.provider_reference, payment_token="pm_card_visa",
                            return_url="https://clearhouse.test/return/", idempotency_key="live-2")
    queried = provider.query(provider_reference=created.provider_reference)

    assert created.status == ProviderStatus.REQUIRES_PAYMENT
    assert paid.status == queried.status == ProviderStatus.CAPTURED
    assert queried.amount_captured_minor == 2550 and queried.fee_minor == 15
