"""Paying through each real-provider simulator in a real browser on a phone-sized screen.

The live server is wired to the Stripe, PayPal, Alipay and WeChat Pay simulators exactly as the demo does
(`demo_provision(public_url=...)`), and background tasks run at once, so the simulators' notifications reach
our /webhooks/... over real HTTP while the shopper is still on their pages. For each provider a shopper checks
out one order, chooses the method on our pay page, completes the customer step on the simulator's page, lands
on our result page, sees the order paid and downloads the voucher (a PDF). In the end every order is paid and
the ledger verifies.
"""

from __future__ import annotations

import re

import pytest

from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import user_create
from clearhouse.ledger.verify import ledger_verify
from clearhouse.orders.models import Order
from clearhouse.payments.models import PaymentIntent, ProviderEvent, RejectedWebhook
from clearhouse.payments.providers import reset_cache
from clearhouse.sandbox.alipay.demo import demo_provision as alipay_provision
from clearhouse.sandbox.paypal.demo import demo_provision as paypal_provision
from clearhouse.sandbox.stripe.demo import demo_provision as stripe_provision
from clearhouse.sandbox.wechatpay.demo import demo_provision as wechatpay_provision
from tests.e2e.support import phone_page, screenshot
from tests.e2e.test_payments import PASSWORD, WIDTH, _buy_and_check_out, _sign_in
from tests.support import database_rows_containing
from tests.web.support import small_shop

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_providers(live_server, settings):
    """Our public URL is the live server, and so is every simulator's; tasks (webhooks) run immediately."""
    settings.CLEARHOUSE_PUBLIC_URL = live_server.url
    settings.CLEARHOUSE_SANDBOX_API_BASE = live_server.url + "/sandbox/v1"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.LANGUAGE_CODE = "en"
    reset_cache()
    yield live_server.url
    reset_cache()


def _pay_by_stripe(page) -> None:
    page.wait_for_url(re.compile(r"/sandbox/stripe/pay/\w+/"))
    page.fill("#id_number", "4242 4242 4242 4242")
    page.fill("#id_expiry", "12/34")
    page.fill("#id_cvc", "123")
    page.fill("#id_cardholder", "Lin Mei")
    screenshot(page, "providers-stripe.png")
    page.click("#pay")


def _pay_by_paypal(page) -> None:
    page.wait_for_url(re.compile(r"/sandbox/paypal/"))
    page.fill("#id_email", "buyer@example.com")
    page.fill("#id_password", "any-password")
    screenshot(page, "providers-paypal.png")
    page.click("#approve")


def _pay_by_alipay(page) -> None:
    page.wait_for_url(re.compile(r"/sandbox/alipay/"))
    assert page.input_value("#id_account")
    page.fill("#id_password", "111111")
    screenshot(page, "providers-alipay.png")
    page.click("#pay")


def _pay_by_wechatpay(page) -> None:
    page.wait_for_url(re.compile(r"/pay/SO[\w-]+/result/PAY\w+/$"))
    assert page.locator("#pay-status").get_attribute("data-state") == "scan"
    assert page.locator("#pay-qr svg").count() == 1
    screenshot(page, "providers-wechatpay-qr.png")
    result_url = page.url
    page.click("#open-scanner")
    page.wait_for_url(re.compile(r"/sandbox/wechatpay/scan/"))
    screenshot(page, "providers-wechatpay.png")
    page.click("#pay")
    page.wait_for_load_state()
    if "/sandbox/wechatpay/" in page.url:  # no return address: the buyer goes back to the shop's page
        page.locator("#result-paid").wait_for()
        page.goto(result_url)


PROVIDERS = (("card", _pay_by_stripe), ("paypal", _pay_by_paypal), ("alipay", _pay_by_alipay),
             ("wechat_pay", _pay_by_wechatpay))


def test_paying_through_each_provider_simulator(live_providers, merchant, other_merchant, caplog):
    caplog.set_level("DEBUG")  # every log line of the server threads, to look for secrets in
    base = live_providers
    for provision in (stripe_provision, paypal_provision, alipay_provision, wechatpay_provision):
        provision(public_url=base)
    reset_cache()
    shop = small_shop(merchant, other_merchant)
    user_create(username="meili", password=PASSWORD, role=Role.CUSTOMER)
    numbers = []
    with phone_page() as page:
        page.set_viewport_size({"width": WIDTH, "height": 812})
        _sign_in(page, base, "meili", PASSWORD)
        for method, customer_step in PROVIDERS:
            number = _buy_and_check_out(page, base, shop.longjing.pk)
            numbers.append(number)
            page.check(f"input[name=method][value={method}]")
            page.click("#pay-submit")
            customer_step(page)

            page.wait_for_url(re.compile(rf"/pay/{number}/result/PAY\w+/"))
            page.locator("#pay-status[data-state=paid]").wait_for(timeout=20_000)
            assert "¥168.00" in page.inner_text("#paid-amount")
            screenshot(page, f"providers-{method}-paid.png")
            voucher = page.request.get(base + page.get_attribute("#voucher-link", "href"))
            assert voucher.ok and voucher.body().startswith(b"%PDF"), (method, voucher.status)
    for number in numbers:
        order = Order.objects.get(number=number)
        assert order.status == "paid", number
        assert PaymentIntent.objects.get(order=order).status == "captured", number
    # The simulators' notifications reached our webhooks over HTTP, verified, while the shopper paid.
    assert set(ProviderEvent.objects.values_list("provider", flat=True)) >= {"stripe", "paypal", "alipay", "wechatpay"}
    assert not RejectedWebhook.objects.exists()
    assert ledger_verify().ok
    # No provider secret and no card number anywhere in the database (secrets are stored encrypted).
    needles = ["4242424242424242", "4242 4242 4242 4242", *_secret_fragments()]
    assert database_rows_containing(needles) == []
    logged = caplog.text
    assert logged and [n for n in needles if n in logged] == []  # ... and none in the logs


def _secret_fragments() -> list[str]:
    """Recognisable pieces of every provider account's secrets (a PEM key's body lines, whole short secrets)."""
    import json

    from clearhouse.payments.models import ProviderAccount

    fragments = []
    for account in ProviderAccount.objects.all():
        for name, value in json.loads(account.secrets or "{}").items():
            if "public" in name or "certificate" in name:
                continue  # public halves: the simulators hold them in the open, as the real providers do
            lines = [ln for ln in str(value).splitlines() if len(ln) >= 40 and "-----" not in ln]
            fragments += lines[:2] if lines else [str(value)] if len(str(value)) >= 12 else []
    assert fragments, "the accounts have secrets to look for"
    return fragments
