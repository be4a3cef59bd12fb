"""Paying in a real browser on a phone-sized screen (375 px wide), against the sandbox card provider served
by the same live server.

(a) A shopper checks out, pays by card with 3-D Secure on the sandbox's hosted form, approves the challenge,
    sees the success page and downloads the voucher (a PDF).
(b) A shopper chooses bank transfer and reads the reference to quote; a finance clerk signs in with a second
    factor and marks the transfer received; the shopper sees the order paid.

The sandbox answers from the same live server and database: no payment service holds a transaction while it
calls the provider, so even on SQLite (one writer at a time) the provider's own writes never wait on ours.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import user_create
from clearhouse.orders.models import Order
from clearhouse.payments.models import PaymentIntent
from tests.e2e.support import phone_page, screenshot
from tests.web.support import small_shop

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "x-meili-pass-1"
CLERK_PASSWORD = "x-clerk-pass-1"
WIDTH = 375


@pytest.fixture
def live_payments(live_server, settings):
    """Our public URL is the live server, and so is the card provider's (the sandbox app, reached over HTTP);
    background tasks are only recorded (the API's answers and the return page settle the payments)."""
    settings.CLEARHOUSE_PUBLIC_URL = live_server.url
    settings.CLEARHOUSE_SANDBOX_API_BASE = live_server.url + "/sandbox/v1"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    settings.LANGUAGE_CODE = "en"
    return live_server.url


def _sign_in(page, base: str, username: str, password: str, next_url: str = "/shop/") -> None:
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit] >> nth=-1")
    page.wait_for_load_state()


def _buy_and_check_out(page, base: str, product_id: int) -> str:
    """Add the product to the cart, check out to a new address; returns the order number (we land on its pay page)."""
    page.goto(f"{base}/shop/p/{product_id}/")
    page.click(".offer >> nth=0 >> button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{base}/checkout/")
    for name, value in (("recipient", "Lin Mei"), ("phone", "13800138000"), ("region", "Zhejiang"),
                        ("city", "Hangzhou"), ("line", "1 Longjing Road")):
        page.fill(f"input[name={name}]", value)
    page.click("#place-order")
    page.wait_for_url(re.compile(r"/pay/SO[\w-]+/$"))
    return re.search(r"/pay/(SO[\w-]+)/$", page.url).group(1)


def _fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_a_card_payment_with_3d_secure_and_its_voucher(live_payments, merchant, other_merchant, tmp_path):
    shop = small_shop(merchant, other_merchant)
    user_create(username="meili", password=PASSWORD, role=Role.CUSTOMER)
    base = live_payments
    with phone_page() as page:
        page.set_viewport_size({"width": WIDTH, "height": 812})
        _sign_in(page, base, "meili", PASSWORD)
        number = _buy_and_check_out(page, base, shop.longjing.pk)
        assert "¥168.00" in page.inner_text("#pay-amount")
        assert _fits_the_phone(page)
        screenshot(page, "pay-choose-method.png")

        page.check("input[name=method][value=card]")
        page.click("#pay-submit")
        page.wait_for_url(re.compile(r"/sandbox/checkout/pi_\w+/"))
        page.fill("#id_number", "4000 0027 6000 3184")
        page.fill("#id_expiry", "12/34")
        page.fill("#id_cvc", "123")
        page.fill("#id_cardholder", "Lin Mei")
        screenshot(page, "pay-sandbox-card-form.png")
        page.click("#pay")

        page.wait_for_url(re.compile(r"/sandbox/authenticate/pi_\w+/"))
        screenshot(page, "pay-3d-secure.png")
        page.click("#approve")

        page.wait_for_url(re.compile(rf"/pay/{number}/result/PAY\w+/$"))
        status = page.locator("#pay-status")
        assert status.get_attribute("data-state") == "paid"
        assert "¥168.00" in page.inner_text("#paid-amount")
        assert page.inner_text("#transaction-reference").strip()
        assert _fits_the_phone(page)
        screenshot(page, "pay-success.png")

        with page.expect_download() as download_info:
            page.click("#voucher-link")
        download = download_info.value
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
    assert saved.name.endswith(".pdf") and number in saved.name
    assert Path(saved).read_bytes().startswith(b"%PDF")
    order = Order.objects.get(number=number)
    assert order.status == "paid"
    assert PaymentIntent.objects.get(order=order).status == "captured"


def test_a_bank_transfer_marked_received_by_finance(live_payments, merchant, other_merchant):
    shop = small_shop(merchant, other_merchant)
    user_create(username="meili", password=PASSWORD, role=Role.CUSTOMER)
    clerk = user_create(username="clerk", password=CLERK_PASSWORD, role=Role.FINANCE_CLERK)
    device = TOTPDevice.objects.create(user=clerk, name="demo authenticator", confirmed=True)
    key, step, t0, digits = device.bin_key, device.step, device.t0, device.digits  # no ORM once the browser runs
    base = live_payments
    with phone_page() as page:
        page.set_viewport_size({"width": WIDTH, "height": 812})
        _sign_in(page, base, "meili", PASSWORD)
        number = _buy_and_check_out(page, base, shop.keemun.pk)
        page.check("input[name=method][value=bank_transfer]")
        page.click("#pay-submit")
        page.wait_for_url(re.compile(rf"/pay/{number}/result/PAY\w+/$"))
        reference = page.inner_text("#transfer-reference").strip()
        assert re.fullmatch(r"PAY[0-9A-Z]{11}", reference)
        assert "¥88.00" in page.inner_text("#transfer-amount")
        assert page.inner_text("#bank-account").strip() and page.inner_text("#pay-by").strip()
        assert _fits_the_phone(page)
        screenshot(page, "pay-bank-transfer.png")

        page.context.clear_cookies()
        _sign_in(page, base, "clerk", CLERK_PASSWORD, next_url="/finance/transfers/")
        page.wait_for_url(re.compile(r"/accounts/mfa/verify/"))
        page.fill("input[name=token]", f"{totp(key, step=step, t0=t0, digits=digits):0{digits}d}")
        page.click("form button[type=submit] >> nth=-1")
        page.wait_for_url(re.compile(r"/finance/transfers/$"))
        transfer = page.locator(f"#transfer-{reference}")
        assert "¥88.00" in transfer.inner_text()
        transfer.locator("input[name=bank_reference]").fill("ICBC-E2E-0001")
        screenshot(page, "finance-transfers.png")
        transfer.locator("button[value=mark_received]").click()
        page.wait_for_load_state()
        assert page.locator(".messages li.success").count() == 1
        assert page.locator(f"#transfer-{reference}").count() == 0
        screenshot(page, "finance-transfer-received.png")

        page.context.clear_cookies()
        _sign_in(page, base, "meili", PASSWORD, next_url=f"/orders/{number}/")
        page.wait_for_url(re.compile(rf"/orders/{number}/$"))
        assert page.locator("#pay-now").count() == 0
        assert reference in page.inner_text("#order-payments")
        assert _fits_the_phone(page)
        screenshot(page, "pay-order-paid.png")
    order = Order.objects.get(number=number)
    assert order.status == "paid"
    assert PaymentIntent.objects.get(order=order).received_reference == "ICBC-E2E-0001"
