"""Finance's payment desk: who may look (MFA-verified finance, merchant staff scoped to their merchant), the
bank transfer "mark received" flow, refunds with maker-checker approval, capture and void, cash at the counter,
and refusals shown as messages (never a 500)."""

from __future__ import annotations

import pytest
from django.test import Client

from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import user_create
from clearhouse.core.money import Money
from clearhouse.orders.domain import OrderStatus
from clearhouse.payments.domain import IntentStatus, RefundState
from clearhouse.payments.models import PaymentIntent, Refund
from clearhouse.payments.services import (
    calls,
    payment_cash_record,
    payment_confirm,
    payment_mark_received,
    payment_start,
)
from tests.conftest import login_verified
from tests.sandbox.fixtures import sandbox_provider, sandbox_settings, webhook_receiver  # noqa: F401
from tests.web.pay_support import order_for, shop_variants


@pytest.fixture(autouse=True)
def _setup(settings, monkeypatch, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LANGUAGE_CODE = "en"
    settings.REFUND_APPROVAL_THRESHOLD = "500.00"
    monkeypatch.setattr(calls, "sleep", lambda s: None)


@pytest.fixture
def variants(merchant, other_merchant):
    return shop_variants(merchant, other_merchant)


@pytest.fixture
def transfer(customer, variants):
    """A bank transfer of 168.00 for the tea house's order, awaiting funds."""
    return payment_start(order=order_for(customer, variants[0]), method="bank_transfer")


@pytest.fixture
def noodle_transfer(customer, variants):
    return payment_start(order=order_for(customer, variants[1]), method="bank_transfer")


def _as(user) -> Client:
    client = Client()
    login_verified(client, user)
    return client


def _staff(merchant, username="desk"):
    return user_create(username=username, password="x-staff-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_finance_pages_need_sign_in_verified_mfa_and_a_finance_role(client, clerk, customer_user, transfer):
    urls = ["/finance/payments/", f"/finance/payments/{transfer.reference}/", "/finance/transfers/",
            "/finance/refunds/", "/finance/exceptions/", f"/finance/orders/{transfer.order.number}/"]
    for url in urls:
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), url
    client.force_login(clerk)  # signed in, second factor not verified yet
    for url in urls:
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/mfa/"), url
    client.force_login(customer_user)
    for url in urls:
        assert client.get(url).status_code == 403, url
    clerk_client = _as(clerk)
    for url in urls:
        assert clerk_client.get(url).status_code == 200, url


def test_the_payment_list_filters_and_searches(clerk, transfer, noodle_transfer, customer, variants):
    cash_order = order_for(customer, variants[0])
    cash = payment_cash_record(order=cash_order, amount=Money(16800, "CNY"), receipt_number="R-1")
    c = _as(clerk)
    text = c.get("/finance/payments/").content.decode()
    assert all(i.reference in text for i in (transfer, noodle_transfer, cash))
    text = c.get("/finance/payments/", {"method": "cash"}).content.decode()
    assert cash.reference in text and transfer.reference not in text
    text = c.get("/finance/payments/", {"status": "requires_payment"}).content.decode()
    assert transfer.reference in text and cash.reference not in text
    text = c.get("/finance/payments/", {"q": transfer.reference.lower()}).content.decode()
    assert transfer.reference in text and noodle_transfer.reference not in text
    text = c.get("/finance/payments/", {"q": cash_order.number}).content.decode()
    assert cash.reference in text and transfer.reference not in text
    assert c.get("/finance/payments/", {"status": "nonsense", "method": "<x>"}).status_code == 200


def test_merchant_staff_see_only_their_merchants_payments(merchant, transfer, noodle_transfer):
    c = Client()
    c.force_login(_staff(merchant))
    text = c.get("/finance/payments/").content.decode()
    assert transfer.reference in text and noodle_transfer.reference not in text
    assert c.get(f"/finance/payments/{transfer.reference}/").status_code == 200
    assert c.get(f"/finance/payments/{noodle_transfer.reference}/").status_code == 404
    assert c.get(f"/finance/orders/{noodle_transfer.order.number}/").status_code == 404
    text = c.get("/finance/transfers/").content.decode()
    assert transfer.reference in text and noodle_transfer.reference not in text
    assert "Mark received" not in text  # merchant staff cannot record money received
    r = c.post(f"/finance/payments/{transfer.reference}/action/",
               {"action": "mark_received", "amount": "168.00", "bank_reference": "B1"})
    assert r.status_code == 403
    r = c.post(f"/finance/payments/{noodle_transfer.reference}/action/", {"action": "void"})
    assert r.status_code == 404
    noodle_transfer.refresh_from_db()
    assert noodle_transfer.status == IntentStatus.REQUIRES_PAYMENT


def test_mark_received_pays_the_order_and_leaves_the_queue(clerk, transfer, customer_user):
    c = _as(clerk)
    page = c.get("/finance/transfers/").content.decode()
    assert transfer.reference in page and "¥168.00" in page
    r = c.post(f"/finance/payments/{transfer.reference}/action/",
               {"action": "mark_received", "amount": "168.00", "bank_reference": "ICBC-20261123-77",
                "next": "/finance/transfers/"}, follow=True)
    assert r.redirect_chain[-1][0] == "/finance/transfers/"
    assert any("marked received" in m for m in _messages(r))
    assert f'id="transfer-{transfer.reference}"' not in r.content.decode()
    assert "No transfers are awaited." in r.content.decode()
    transfer.refresh_from_db()
    assert transfer.status == IntentStatus.CAPTURED and transfer.received_reference == "ICBC-20261123-77"
    assert transfer.order.status == OrderStatus.PAID
    customer = Client()
    customer.force_login(customer_user)
    assert "This order is paid" in customer.get(f"/pay/{transfer.order.number}/").content.decode()


def test_a_wrong_or_malformed_amount_is_refused_and_nothing_changes(clerk, transfer):
    c = _as(clerk)
    url = f"/finance/payments/{transfer.reference}/action/"
    for amount, expected in (("100.00", "does not match"), ("168.005", "decimal places"), ("abc", "decimal number"),
                             ("", "Enter the amount received.")):
        r = c.post(url, {"action": "mark_received", "amount": amount, "bank_reference": "B1"}, follow=True)
        assert r.status_code == 200 and any(expected in m for m in _messages(r)), (amount, _messages(r))
    r = c.post(url, {"action": "mark_received", "amount": "168.00", "bank_reference": ""}, follow=True)
    assert any("bank's reference" in m for m in _messages(r))
    r = c.post(url, {"action": "explode"}, follow=True)
    assert any("Unknown action" in m for m in _messages(r))
    transfer.refresh_from_db()
    assert transfer.status == IntentStatus.REQUIRES_PAYMENT


def test_a_large_refund_waits_for_another_manager_then_is_paid_out_offline(manager, customer, variants):
    intent = payment_start(order=order_for(customer, variants[0], quantity=4), method="bank_transfer")  # 672.00
    payment_mark_received(intent=intent, amount=Money(67200, "CNY"), bank_reference="B-IN-1")
    maker = _as(manager)
    r = maker.post(f"/finance/payments/{intent.reference}/action/",
                   {"action": "refund", "amount": "600.00", "reason": "goods damaged"}, follow=True)
    assert any("waits for a finance manager" in m for m in _messages(r)), _messages(r)
    refund = Refund.objects.get()
    assert refund.status == RefundState.AWAITING_APPROVAL and refund.offline

    page = maker.get("/finance/refunds/").content.decode()
    assert refund.reference in page and "goods damaged" in page
    r = maker.post(f"/finance/refunds/{refund.reference}/action/", {"action": "approve"}, follow=True)
    assert r.status_code == 200
    assert any("someone else must approve" in m for m in _messages(r)), _messages(r)
    refund.refresh_from_db()
    assert refund.status == RefundState.AWAITING_APPROVAL

    checker = _as(user_create(username="manager2", password="x-manager-pass-2", role=Role.FINANCE_MANAGER))
    r = checker.post(f"/finance/refunds/{refund.reference}/action/", {"action": "approve"}, follow=True)
    assert any("approved" in m for m in _messages(r))
    refund.refresh_from_db()
    assert refund.status == RefundState.PENDING  # offline: due to be paid out by finance
    assert f'id="due-{refund.reference}"' in r.content.decode()

    r = checker.post(f"/finance/refunds/{refund.reference}/action/", {"action": "paid", "bank_reference": ""},
                     follow=True)
    assert any("payout" in m for m in _messages(r))
    r = checker.post(f"/finance/refunds/{refund.reference}/action/",
                     {"action": "paid", "bank_reference": "B-OUT-9"}, follow=True)
    refund.refresh_from_db()
    assert refund.status == RefundState.SUCCEEDED and refund.payout_reference == "B-OUT-9"
    detail = checker.get(f"/finance/payments/{intent.reference}/").content.decode()
    assert refund.reference in detail and "¥600.00" in detail


def test_a_clerk_may_request_but_not_decide_refunds(clerk, manager, customer, variants):
    intent = payment_start(order=order_for(customer, variants[0], quantity=4), method="bank_transfer")
    payment_mark_received(intent=intent, amount=Money(67200, "CNY"), bank_reference="B-IN-2")
    c = _as(clerk)
    c.post(f"/finance/payments/{intent.reference}/action/", {"action": "refund", "amount": "700.00", "reason": "x"})
    r = c.post(f"/finance/payments/{intent.reference}/action/", {"action": "refund", "amount": "700.00",
                                                                  "reason": "x"}, follow=True)
    assert any("larger than what is left" in m for m in _messages(r))
    c.post(f"/finance/payments/{intent.reference}/action/", {"action": "refund", "amount": "510.00", "reason": "x"})
    refund = Refund.objects.get()
    assert "Approve" not in c.get("/finance/refunds/").content.decode()
    assert c.post(f"/finance/refunds/{refund.reference}/action/", {"action": "approve"}).status_code == 403
    r = c.post(f"/finance/refunds/{refund.reference}/action/", {"action": "reject"})
    assert r.status_code == 403
    m = _as(manager)
    r = m.post(f"/finance/refunds/{refund.reference}/action/", {"action": "reject", "reason": "no"}, follow=True)
    refund.refresh_from_db()
    assert refund.status == RefundState.REJECTED and any("rejected" in x for x in _messages(r))


@pytest.mark.usefixtures("sandbox_provider")
def test_capture_part_of_an_authorized_card_payment_and_void_another(settings, clerk, customer, variants):
    settings.PAYMENT_CAPTURE_METHOD = "manual"
    first = payment_start(order=order_for(customer, variants[0]), method="card")
    first = payment_confirm(intent=first, payment_token="pm_card_visa")
    second = payment_start(order=order_for(customer, variants[0]), method="card")
    second = payment_confirm(intent=second, payment_token="pm_card_visa")
    assert first.status == second.status == IntentStatus.AUTHORIZED
    c = _as(clerk)
    page = c.get(f"/finance/payments/{first.reference}/").content.decode()
    assert 'value="capture"' in page and 'value="void"' in page and 'id="attempts"' in page and "confirm" in page
    r = c.post(f"/finance/payments/{first.reference}/action/", {"action": "capture", "amount": "200.00"}, follow=True)
    assert any("capture is larger" in m for m in _messages(r))
    r = c.post(f"/finance/payments/{first.reference}/action/", {"action": "capture", "amount": "150.00"}, follow=True)
    first.refresh_from_db()
    assert first.status == IntentStatus.CAPTURED and first.amount_captured_minor == 15000
    assert "¥150.00" in r.content.decode() and 'id="status-changes"' in r.content.decode()
    c.post(f"/finance/payments/{second.reference}/action/", {"action": "void"})
    second.refresh_from_db()
    assert second.status == IntentStatus.CANCELLED


def test_cash_at_the_counter_is_recorded_on_the_finance_order_page(clerk, customer, variants):
    order = order_for(customer, variants[0])
    c = _as(clerk)
    r = c.get("/finance/orders/", {"number": order.number})
    assert r.status_code == 302 and r["Location"] == f"/finance/orders/{order.number}/"
    assert 'id="cash-form"' in c.get(r["Location"]).content.decode()
    r = c.post(f"/finance/orders/{order.number}/cash/", {"amount": "168.00", "receipt_number": ""}, follow=True)
    assert any("receipt" in m for m in _messages(r))
    r = c.post(f"/finance/orders/{order.number}/cash/", {"amount": "168.00", "receipt_number": "C-0042"},
               follow=True)
    assert any("recorded" in m for m in _messages(r)), _messages(r)
    intent = PaymentIntent.objects.get(order=order)
    order.refresh_from_db()
    assert intent.status == IntentStatus.CAPTURED and intent.receipt_number == "C-0042"
    assert order.status == OrderStatus.PAID and 'id="cash-form"' not in r.content.decode()
    r = c.get("/finance/orders/", {"number": "SO-NOPE"}, follow=True)
    assert any("There is no order" in m for m in _messages(r))


def test_the_merchant_order_page_lists_its_payments(merchant, customer, variants):
    order = order_for(customer, variants[0])
    intent = payment_cash_record(order=order, amount=Money(16800, "CNY"), receipt_number="C-1")
    c = Client()
    c.force_login(_staff(merchant))
    page = c.get(f"/merchant/orders/{order.number}/").content.decode()
    assert intent.reference in page and f"/pay/{order.number}/voucher/{intent.reference}.pdf" in page
    assert 'id="cash-form"' not in page  # merchant staff do not record money


def test_the_exception_list_shows_what_needs_attention(clerk, merchant, transfer, noodle_transfer):
    PaymentIntent.objects.filter(pk=transfer.pk).update(attention_reason="provider never answered")
    PaymentIntent.objects.filter(pk=noodle_transfer.pk).update(attention_reason="noodle trouble")
    text = _as(clerk).get("/finance/exceptions/").content.decode()
    assert transfer.reference in text and "provider never answered" in text and "noodle trouble" in text
    c = Client()
    c.force_login(_staff(merchant))
    text = c.get("/finance/exceptions/").content.decode()
    assert "provider never answered" in text and "noodle trouble" not in text


def test_posts_need_the_csrf_token(clerk, transfer):
    c = Client(enforce_csrf_checks=True)
    login_verified(c, clerk)
    r = c.post(f"/finance/payments/{transfer.reference}/action/",
               {"action": "mark_received", "amount": "168.00", "bank_reference": "B1"})
    assert r.status_code == 403
    transfer.refresh_from_db()
    assert transfer.status == IntentStatus.REQUIRES_PAYMENT
