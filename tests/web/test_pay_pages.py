"""The customer's pay pages: choose a method, the card round trip through the sandbox (3-D Secure too),
bank transfer and cash instructions, failures with their reasons, the voucher, and who may see what.

The card provider is the sandbox simulator served in-process (tests/sandbox/fixtures.py): the adapter's
HTTP calls and the hosted card form run inside the test's transaction.
"""

from __future__ import annotations

import pytest

from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import user_create
from clearhouse.orders.domain import OrderStatus
from clearhouse.payments.domain import IntentStatus
from clearhouse.payments.models import PaymentIntent
from clearhouse.payments.services import calls, payment_refresh
from tests.orders.support import HOME, fill_cart
from tests.sandbox.fixtures import sandbox_provider, sandbox_settings, webhook_receiver  # noqa: F401
from tests.sandbox.support import pay_on_checkout
from tests.web.pay_support import local, order_for, shop_variants

pytestmark = pytest.mark.usefixtures("sandbox_provider")

CARD_OK = "4242424242424242"


@pytest.fixture(autouse=True)
def _fast(settings, monkeypatch, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LANGUAGE_CODE = "en"
    monkeypatch.setattr(calls, "sleep", lambda s: None)  # no real backoff between provider retries


@pytest.fixture
def variants(merchant, other_merchant):
    return shop_variants(merchant, other_merchant)


@pytest.fixture
def order(customer, variants):
    return order_for(customer, variants[0])


@pytest.fixture
def lin(client, customer_user):
    client.force_login(customer_user)
    return client


def _start(client, order, method: str):
    return client.post(f"/pay/{order.number}/", {"method": method})


def _card(client, order, number: str = CARD_OK):
    """Choose card, fill in the sandbox's hosted form, come back: the response of our return page."""
    r = _start(client, order, "card")
    assert r.status_code == 302 and "/sandbox/checkout/" in r["Location"] and "return_url=" in r["Location"]
    intent = PaymentIntent.objects.get(order=order, status__in=["requires_payment"])
    token = pay_on_checkout(client, checkout_url=r["Location"], number=number)
    return client.get(f"/pay/{order.number}/return/{intent.reference}/", {"payment_method": token}), intent


def test_pay_pages_ask_for_sign_in(client, order):
    for url in (f"/pay/{order.number}/", f"/pay/{order.number}/result/PAYX/", f"/pay/{order.number}/voucher/PAYX.pdf"):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), url


def test_the_pay_page_shows_the_amount_and_the_methods(lin, order):
    r = lin.get(f"/pay/{order.number}/")
    text = r.content.decode()
    assert r.status_code == 200
    assert "¥168.00" in text and order.number in text
    for method in ("card", "bank_transfer", "cash"):
        assert f'value="{method}"' in text
    assert 'name="viewport"' in text  # phone-ready layout from the base template


def test_a_card_payment_round_trip_ends_on_the_success_page_with_a_voucher(lin, order):
    r, intent = _card(lin, order)
    assert r.status_code == 302 and r["Location"] == f"/pay/{order.number}/result/{intent.reference}/"
    page = lin.get(r["Location"])
    text = page.content.decode()
    intent.refresh_from_db()
    order.refresh_from_db()
    assert intent.status == IntentStatus.CAPTURED and order.status == OrderStatus.PAID
    assert "Payment successful" in text and "¥168.00" in text and intent.transaction_reference in text
    assert f"/pay/{order.number}/voucher/{intent.reference}.pdf" in text

    voucher = lin.get(f"/pay/{order.number}/voucher/{intent.reference}.pdf")
    assert voucher.status_code == 200 and voucher["Content-Type"] == "application/pdf"
    assert voucher["Content-Disposition"].startswith("attachment;")
    assert voucher.content.startswith(b"%PDF")

    again = lin.get(f"/pay/{order.number}/")  # a paid order says so and links the voucher
    assert "This order is paid" in again.content.decode() and 'id="voucher-link"' in again.content.decode()
    assert 'id="choose-method"' not in again.content.decode()


def test_reloading_the_return_page_changes_nothing(lin, order):
    r, intent = _card(lin, order)
    token = intent.attempts.filter(operation="confirm").first().request_id.split(":confirm:")[1]
    r = lin.get(f"/pay/{order.number}/return/{intent.reference}/", {"payment_method": token}, follow=True)
    assert r.status_code == 200 and "Payment successful" in r.content.decode()
    assert not list(r.context["messages"])
    assert PaymentIntent.objects.filter(order=order).count() == 1


def test_a_3d_secure_card_goes_through_the_challenge_and_back(lin, order):
    r, intent = _card(lin, order, "4000002760003184")
    assert r.status_code == 302 and "/sandbox/authenticate/" in r["Location"]
    intent.refresh_from_db()
    assert intent.status == IntentStatus.REQUIRES_ACTION
    result = lin.get(f"/pay/{order.number}/result/{intent.reference}/")  # the customer wandered off meanwhile
    assert "Confirm with your bank" in result.content.decode() and 'hx-trigger="every 2s"' in result.content.decode()

    back = lin.post(local(r["Location"]), {"decision": "approve"})
    assert back.status_code == 302 and "payment_intent=" in back["Location"]
    r = lin.get(local(back["Location"]))
    assert r["Location"] == f"/pay/{order.number}/result/{intent.reference}/"
    intent.refresh_from_db()
    assert intent.status == IntentStatus.CAPTURED
    assert "Payment successful" in lin.get(r["Location"]).content.decode()


def test_a_declined_card_says_why_and_offers_to_try_again_or_another_method(lin, order):
    r, intent = _card(lin, order, "4000000000009995")
    page = lin.get(r["Location"]).content.decode()
    intent.refresh_from_db()
    assert intent.status == IntentStatus.FAILED and intent.failure_code == "insufficient_funds"
    assert "not enough funds" in page and 'id="try-again"' in page and 'id="other-method"' in page
    assert "not enough funds" in lin.get(f"/pay/{order.number}/").content.decode()

    retry = _start(lin, order, "card")  # a new payment, back to the card form
    assert retry.status_code == 302 and "/sandbox/checkout/" in retry["Location"]
    assert PaymentIntent.objects.filter(order=order).count() == 2


def test_a_processing_error_is_explained(lin, order):
    _response, intent = _card(lin, order, "4000000000000119")
    intent.refresh_from_db()
    text = lin.get(f"/pay/{order.number}/result/{intent.reference}/").content.decode()
    assert intent.status == IntentStatus.FAILED, intent.failure_code
    assert "processing error" in text and "Nothing was charged" in text


def test_a_slow_provider_leaves_the_payment_processing_and_the_page_polls(lin, order, settings):
    settings.PAYMENT_PROVIDER_TIMEOUT_S = 0.1  # the sandbox's slow card answers after 0.3 s
    r, intent = _card(lin, order, "4000000000007726")
    intent.refresh_from_db()
    assert intent.status == IntentStatus.PROCESSING
    page = lin.get(r["Location"]).content.decode()
    status_url = f"/pay/{order.number}/status/{intent.reference}/"
    assert "Processing your payment" in page and f'hx-get="{status_url}"' in page
    assert "web/htmx.min.js" in page

    fragment = lin.get(status_url).content.decode()
    assert fragment.lstrip().startswith('<div id="pay-status"') and "<html" not in fragment
    assert 'hx-trigger="every 2s"' in fragment

    settings.PAYMENT_PROVIDER_TIMEOUT_S = 5
    payment_refresh(intent=intent)  # what the webhook or the janitor does
    fragment = lin.get(status_url).content.decode()
    assert "Payment successful" in fragment and "hx-trigger" not in fragment


def test_bank_transfer_shows_where_to_send_the_money_and_the_reference(lin, order, settings):
    settings.BANK_TRANSFER_BENEFICIARY = "Clearhouse Test Trading"
    settings.BANK_TRANSFER_BANK = "Test Bank Hangzhou"
    settings.BANK_TRANSFER_ACCOUNT = "6222 0000 1111 2222"
    r = _start(lin, order, "bank_transfer")
    intent = PaymentIntent.objects.get(order=order)
    assert r.status_code == 302 and r["Location"] == f"/pay/{order.number}/result/{intent.reference}/"
    text = lin.get(r["Location"]).content.decode()
    order.refresh_from_db()
    for expected in ("Clearhouse Test Trading", "Test Bank Hangzhou", "6222 0000 1111 2222", "¥168.00",
                     intent.reference, 'id="pay-by"', order.expires_at.strftime("%Y-%m-%d"), "Copy"):
        assert expected in text, expected
    # back on the pay page, the transfer under way is linked
    assert f"/pay/{order.number}/result/{intent.reference}/" in lin.get(f"/pay/{order.number}/").content.decode()


def test_cash_says_pay_at_the_counter(lin, order):
    r = _start(lin, order, "cash")
    text = lin.get(r["Location"]).content.decode()
    assert "Pay at the counter" in text and "staff record your payment" in text


def test_an_unknown_method_is_refused_politely(lin, order):
    r = lin.post(f"/pay/{order.number}/", {"method": "bitcoin"}, follow=True)
    assert r.status_code == 200 and "Choose a payment method." in r.content.decode()
    assert not PaymentIntent.objects.exists()


def test_a_cancelled_order_cannot_be_paid(lin, order):
    from clearhouse.orders.services import order_cancel

    order_cancel(order=order, reason="changed my mind")
    assert "This order cannot be paid" in lin.get(f"/pay/{order.number}/").content.decode()
    r = _start(lin, order, "card")
    assert r.status_code == 302
    assert "cannot be paid" in lin.get(r["Location"]).content.decode()
    assert not PaymentIntent.objects.exists()


def test_another_customer_gets_404_everywhere(client, order, other_customer_user, customer_user):
    client.force_login(customer_user)
    _start(client, order, "bank_transfer")
    intent = PaymentIntent.objects.get(order=order)
    client.force_login(other_customer_user)
    for url in (f"/pay/{order.number}/", f"/pay/{order.number}/result/{intent.reference}/",
                f"/pay/{order.number}/status/{intent.reference}/", f"/pay/{order.number}/return/{intent.reference}/",
                f"/pay/{order.number}/voucher/{intent.reference}.pdf"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/pay/{order.number}/", {"method": "card"}).status_code == 404


def test_a_payment_of_another_order_is_404_under_this_order(lin, customer, variants, order):
    second = order_for(customer, variants[0])
    _start(lin, second, "bank_transfer")
    intent = PaymentIntent.objects.get(order=second)
    assert lin.get(f"/pay/{order.number}/result/{intent.reference}/").status_code == 404


def test_the_voucher_is_404_until_the_money_is_captured(lin, order):
    _start(lin, order, "bank_transfer")
    intent = PaymentIntent.objects.get(order=order)
    assert lin.get(f"/pay/{order.number}/voucher/{intent.reference}.pdf").status_code == 404


def test_merchant_staff_download_their_own_vouchers_only(client, order, merchant, other_merchant, customer_user):
    client.force_login(customer_user)
    _card(client, order)
    intent = PaymentIntent.objects.get(order=order)
    url = f"/pay/{order.number}/voucher/{intent.reference}.pdf"
    client.force_login(user_create(username="desk", password="x-desk-pass-1", role=Role.MERCHANT_STAFF,
                                   merchant=merchant))
    r = client.get(url)
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    client.force_login(user_create(username="noodle-desk", password="x-desk-pass-2", role=Role.MERCHANT_STAFF,
                                   merchant=other_merchant))
    assert client.get(url).status_code == 404


def test_checkout_goes_to_the_pay_page_which_lists_the_other_orders_of_the_checkout(lin, customer, variants):
    fill_cart(customer, (variants[0], 1), (variants[1], 2))
    address = {"address": "new", "recipient": HOME.recipient, "phone": HOME.phone, "region": HOME.region,
               "city": HOME.city, "line": HOME.line, "postal_code": HOME.postal_code}
    r = lin.post("/checkout/", {**address, "action": "submit"})
    orders = list(customer.orders.order_by("id"))
    assert len(orders) == 2
    first, second = orders
    assert r.status_code == 302 and r["Location"] == f"/pay/{first.number}/"
    text = lin.get(r["Location"]).content.decode()
    assert 'id="other-orders"' in text and f'href="/pay/{second.number}/"' in text and "¥39.98" in text
    # paying the second: the first is still listed there
    assert f'href="/pay/{first.number}/"' in lin.get(f"/pay/{second.number}/").content.decode()


def test_my_order_page_has_pay_now_while_unpaid_then_lists_the_payment_and_voucher(lin, order):
    page = lin.get(f"/orders/{order.number}/").content.decode()
    assert 'id="pay-now"' in page and f'href="/pay/{order.number}/"' in page
    _card(lin, order)
    intent = PaymentIntent.objects.get(order=order)
    page = lin.get(f"/orders/{order.number}/").content.decode()
    assert 'id="pay-now"' not in page
    assert intent.reference in page and f"/pay/{order.number}/voucher/{intent.reference}.pdf" in page


def test_the_pay_page_in_chinese(lin, order):
    lin.cookies["django_language"] = "zh-hans"
    text = lin.get(f"/pay/{order.number}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "银行转账" in text and "选择支付方式" in text
