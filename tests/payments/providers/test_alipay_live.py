"""The Alipay adapter over a real socket: Clearhouse and the simulator as two HTTP parties."""

from __future__ import annotations

import httpx
import pytest

from clearhouse.core.money import Money
from clearhouse.payments.models import ProviderAccount
from clearhouse.payments.providers import reset_cache
from clearhouse.payments.providers.alipay import AlipayProvider
from clearhouse.payments.providers.base import CreatePayment, ProviderStatus
from clearhouse.sandbox.alipay.demo import demo_provision


@pytest.mark.django_db(transaction=True)
def test_precreate_scan_pay_and_query_through_a_live_server(live_server):
    demo_provision(public_url=live_server.url)
    provider = AlipayProvider.from_account(ProviderAccount.objects.get(provider="alipay"))
    provider.flow = "qr"
    try:
        assert provider.test_connection() == "ok"
        created = provider.create(CreatePayment(
            intent_reference="PAY-LIVE", amount=Money(2550, "CNY"), manual_capture=False, return_url="",
            notify_url="", description="live", idempotency_key="live-1"))
        assert created.qr_code.startswith(live_server.url + "/sandbox/alipay/qr/")
        with httpx.Client(follow_redirects=False, timeout=10) as browser:
            page = browser.get(created.qr_code)
            token = page.cookies.get("csrftoken") or browser.cookies.get("csrftoken")
            paid = browser.post(created.qr_code, data={"action": "pay", "account": "buyer@sandbox.alipay",
                                                       "password": "111111", "csrfmiddlewaretoken": token},
                                headers={"Referer": created.qr_code})
        assert paid.status_code == 200 and 'id="result"' in paid.text
        queried = provider.query(provider_reference="PAY-LIVE")
        assert queried.status == ProviderStatus.CAPTURED and queried.amount == Money(2550, "CNY")
    finally:
        reset_cache()
