"""The Stripe adapter over a real socket: the official SDK through our httpx client to the simulator."""

from __future__ import annotations

import pytest

from clearhouse.core.money import Money
from clearhouse.payments.providers.base import CreatePayment, ProviderStatus
from clearhouse.payments.providers.stripe import StripeProvider
from clearhouse.sandbox.stripe.services import account_create


@pytest.mark.django_db(transaction=True)
def test_create_confirm_refund_and_query_through_a_live_server(live_server, settings):
    settings.CLEARHOUSE_SANDBOX_PUBLIC_URL = live_server.url
    account = account_create(name="Live test", fee_rate="0.0290", fee_fixed=30)  # no endpoint: no events
    provider = StripeProvider(secret_key=account.secret_key, api_base=f"{live_server.url}/sandbox/stripe",
                              timeout_s=10)

    created = provider.create(CreatePayment(
        intent_reference="PAY-LIVE", amount=Money(2550, "USD"), manual_capture=False,
        return_url="https://clearhouse.test/return/", notify_url="", description="live", idempotency_key="live-1"))
    paid = provider.confirm(provider_reference=created.provider_reference, payment_token="pm_card_visa",
                            return_url="https://clearhouse.test/return/", idempotency_key="live-2")
    refund = provider.refund(provider_reference=created.provider_reference, amount=Money(550, "USD"),
                             refund_reference="R-LIVE", idempotency_key="live-3")
    queried = provider.query(provider_reference=created.provider_reference)

    assert created.status == ProviderStatus.REQUIRES_PAYMENT and paid.status == ProviderStatus.CAPTURED
    assert queried.amount_captured_minor == 2550 and queried.fee_minor == 104  # 73.95 -> 74, + 30
    assert queried.amount_refunded_minor == 550 and refund.provider_reference.startswith("re_")
    assert provider.test_connection() == "ok"
