"""The payments API: customers pay their own orders, staff capture, record and refund within their merchant.

The card provider is `tests.payments.fakes.FakeCardProvider`, in memory and scripted.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group, Permission
from pypdf import PdfReader

from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import user_create
from clearhouse.orders.models import Order
from clearhouse.payments.models import PaymentIntent, Refund
from clearhouse.payments.providers import providers_override
from tests.conftest import FullApiClient, _full_client_for, login_verified
from tests.orders.conftest import _media_in_tmp, longjing, noodles, tea  # noqa: F401
from tests.orders.support import buy
from tests.payments.fakes import FakeCardProvider

CHECKOUT_URL = "https://pay.example/checkout/"


@pytest.fixture(autouse=True)
def _payment_settings(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.CLEARHOUSE_SMS_BACKEND = "clearhouse.notifications.sms.LocmemSmsBackend"
    settings.PAYMENT_PROVIDER_BACKOFF_BASE_S = 0
    settings.PAYMENT_CARD_PROVIDER = "sandbox"
    settings.PAYMENT_CAPTURE_METHOD = "automatic"
    settings.REFUND_APPROVAL_THRESHOLD = "500.00"
    settings.BANK_TRANSFER_BENEFICIARY = "Clearhouse Demo Trading Co., Ltd."
    settings.BANK_TRANSFER_BANK = "Demo Bank Shanghai Branch"
    settings.BANK_TRANSFER_ACCOUNT = "6222 0210 0123 4567 890"


@pytest.fixture
def fake():
    provider = FakeCardProvider()
    with providers_override(sandbox=provider):
        yield provider


@pytest.fixture
def order(customer, longjing):
    """Lin's order of 2 x Longjing: 200.00 CNY, submitted and unpaid."""
    return buy(customer, (longjing, 2)).orders.get()


@pytest.fixture
def big_order(customer, longjing):
    """Lin's order of 6 x Longjing: 600.00 CNY (refunds above 500.00 need approval)."""
    return buy(customer, (longjing, 6)).orders.get()


@pytest.fixture
def wang_order(other_customer, longjing):
    return buy(other_customer, (longjing, 1)).orders.get()


def _session(user) -> FullApiClient:
    client = FullApiClient(None)
    login_verified(client.client, user)
    return client


@pytest.fixture
def api_manager_lee(manager):
    """A finance manager signed in (sessions carry the person: maker-checker applies)."""
    return _session(manager)


@pytest.fixture
def api_manager_zhou(db):
    return _session(user_create(username="zhou", password="x-zhou-pass-1", role=Role.FINANCE_MANAGER))


@pytest.fixture
def api_other_merchant(other_merchant):
    return _full_client_for(Role.MERCHANT_STAFF, other_merchant)


@pytest.fixture
def api_noodle_boss(other_merchant):
    """The other merchant's admin, given every payments permission: scoping alone must keep them out."""
    user = user_create(username="noodle-boss", password="x-noodle-pass-1", role=Role.MERCHANT_ADMIN,
                       merchant=other_merchant)
    group = Group.objects.create(name="payments-everything")
    group.permissions.set(Permission.objects.filter(content_type__app_label__in=["payments", "orders"]))
    user.groups.add(group)
    return _session(user)


def _error(response, status: int, code: str, param: str | None = None) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    if param is not None:
        assert error["param"] == param, error
    return error


def _start(api, order, method="card", **body):
    return api.post(f"/orders/{order.number}/payments", {"method": method, **body})


def _paid_by_card(api, order, token="pm_card_visa") -> dict:
    r = _start(api, order)
    assert r.status_code == 201, r.content
    r = api.post(f"/payments/{r.json()['reference']}/confirm", {"payment_token": token})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "captured"
    return r.json()


def _order_status(order) -> str:
    return Order.objects.get(pk=order.pk).status


# --- paying by card --------------------------------------------------------------------------
def test_a_customer_pays_by_card_and_the_order_is_paid(api_lin, api_merchant, order, fake):
    r = _start(api_lin, order)
    assert r.status_code == 201, r.content
    intent = r.json()
    assert intent["status"] == "requires_payment" and intent["method"] == "card"
    assert (intent["amount"], intent["currency"], intent["order"]) == ("200.00", "CNY", order.number)
    assert intent["next_action"] == {"type": "redirect", "url": CHECKOUT_URL + intent["reference"]}
    assert intent["instructions"] is None

    r = api_lin.post(f"/payments/{intent['reference']}/confirm", {"payment_token": "pm_card_visa"})
    assert r.status_code == 200, r.content
    paid = r.json()
    assert paid["status"] == "captured" and paid["amount_captured"] == "200.00"
    assert paid["next_action"] is None and paid["transaction_reference"].startswith("fk_ch_")
    assert paid["fee"] is None  # the provider's fee is the merchant's business, not the customer's
    assert api_lin.get(f"/orders/{order.number}").json()["status"] == "paid"

    detail = api_merchant.get(f"/payments/{intent['reference']}").json()
    assert detail["fee"] == "1.20"  # 0.6 % of 200.00
    assert [(c["from_status"], c["to_status"]) for c in detail["status_changes"]] == [
        ("requires_payment", "processing"), ("processing", "captured")]
    assert [(a["operation"], a["outcome"]) for a in detail["attempts"]] == [
        ("create", "succeeded"), ("confirm", "succeeded")]
    assert detail["refunds"] == []
    assert api_lin.get(f"/payments/{intent['reference']}").json()["attempts"] is None


def test_a_declined_card_leaves_the_payment_failed_and_the_order_payable(api_lin, order, fake):
    reference = _start(api_lin, order).json()["reference"]
    fake.script("confirm", "decline", decline_code="insufficient_funds")
    r = api_lin.post(f"/payments/{reference}/confirm", {"payment_token": "pm_card_visa"})
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["failure_code"]) == ("failed", "insufficient_funds")
    assert _order_status(order) == "submitted"
    again = _start(api_lin, order)
    assert again.status_code == 201 and again.json()["reference"] != reference


def test_three_d_secure_sends_the_customer_on_and_refresh_picks_up_the_result(api_lin, order, fake):
    reference = _start(api_lin, order).json()["reference"]
    fake.script("confirm", "requires_action")
    r = api_lin.post(f"/payments/{reference}/confirm", {"payment_token": "pm_card_3ds"})
    assert r.json()["status"] == "requires_action"
    assert r.json()["next_action"]["url"].startswith("https://pay.example/3ds/")
    fake.complete_action(PaymentIntent.objects.get(reference=reference).provider_reference)
    r = api_lin.post(f"/payments/{reference}/refresh")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "captured" and _order_status(order) == "paid"


def test_a_timeout_leaves_the_payment_processing_until_a_refresh_finds_it_captured(api_lin, api_merchant, order,
                                                                                    fake):
    reference = _start(api_lin, order).json()["reference"]
    fake.script("confirm", "timeout_after_success")
    assert api_lin.post(f"/payments/{reference}/confirm", {"payment_token": "pm"}).json()["status"] == "processing"
    assert _order_status(order) == "submitted"
    r = api_merchant.post(f"/payments/{reference}/refresh")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "captured" and _order_status(order) == "paid"


# --- bad input changes nothing -----------------------------------------------------------------
@pytest.mark.parametrize(("body", "status", "code", "param"), [
    ({"amount": "199.99"}, 400, "amount_mismatch", "amount"),
    ({"amount": "200.01", "currency": "CNY"}, 400, "amount_mismatch", "amount"),
    ({"currency": "USD"}, 400, "amount_mismatch", "currency"),
    ({"amount": "200.00", "currency": "USD"}, 400, "amount_mismatch", "currency"),
    ({"amount": 200.0}, 400, "float_not_allowed", "amount"),
    ({"amount": "200.001"}, 400, "too_many_decimals", "amount"),
    ({"amount": "lots"}, 400, "invalid_amount", "amount"),
    ({"currency": "XYZ"}, 400, "unknown_currency", "currency"),
    ({"method": "bitcoin"}, 400, "payment_method_unavailable", "method"),
    ({"tip": "5.00"}, 400, "parameter_unknown", "tip"),
])
def test_bad_payment_requests_are_refused_with_a_code_and_change_nothing(api_lin, order, fake, body, status, code,
                                                                        param):
    before = Order.objects.values("status", "expires_at").get(pk=order.pk)
    _error(api_lin.post(f"/orders/{order.number}/payments", {"method": "card", **body}), status, code, param)
    assert PaymentIntent.objects.count() == 0
    assert fake.calls == []
    assert Order.objects.values("status", "expires_at").get(pk=order.pk) == before


def test_the_right_amount_and_currency_are_accepted(api_lin, order, fake):
    assert _start(api_lin, order, amount="200.00", currency="cny").status_code == 201


def test_a_cancelled_order_cannot_be_paid(api_lin, order, fake):
    assert api_lin.post(f"/orders/{order.number}/cancel", {"reason": "changed my mind"}).status_code == 200
    _error(_start(api_lin, order), 409, "order_not_payable")
    assert PaymentIntent.objects.count() == 0 and fake.calls == []


def test_a_paid_order_cannot_be_paid_again(api_lin, order, fake):
    _paid_by_card(api_lin, order)
    _error(_start(api_lin, order), 409, "order_already_paid")
    _error(_start(api_lin, order, method="bank_transfer"), 409, "order_already_paid")
    assert PaymentIntent.objects.count() == 1 and fake.calls_to("create") == 1


def test_a_failed_payment_cannot_be_captured(api_lin, api_merchant, order, fake):
    reference = _start(api_lin, order).json()["reference"]
    fake.script("confirm", "decline")
    api_lin.post(f"/payments/{reference}/confirm", {"payment_token": "pm"})
    _error(api_merchant.post(f"/payments/{reference}/capture"), 409, "invalid_transition", "status")
    _error(api_merchant.post(f"/payments/{reference}/void"), 409, "invalid_transition", "status")
    assert fake.calls_to("capture") == fake.calls_to("cancel") == 0


def test_a_customer_cannot_act_as_staff(api_lin, order, fake):
    reference = _paid_by_card(api_lin, order)["reference"]
    for path, body in [(f"/payments/{reference}/capture", {}), (f"/payments/{reference}/void", {}),
                       (f"/payments/{reference}/refunds", {"amount": "1.00", "reason": "x"}),
                       (f"/orders/{order.number}/cash-payments", {"amount": "200.00", "receipt_number": "R1"})]:
        _error(api_lin.post(path, body), 403, "permission_denied")


def test_api_keys_cannot_pay_orders(api_admin, order, fake):
    _error(_start(api_admin, order), 403, "customer_account_required")


# --- idempotency ----------------------------------------------------------------------------
def test_a_payment_call_without_an_idempotency_key_is_refused(api_lin, order, fake):
    r = api_lin.post(f"/orders/{order.number}/payments", {"method": "card"}, idempotency_key=False)
    _error(r, 400, "idempotency_key_required")
    assert PaymentIntent.objects.count() == 0 and fake.calls == []


def test_a_replay_returns_the_same_payment_without_calling_the_provider_again(api_lin, order, fake):
    first = api_lin.post(f"/orders/{order.number}/payments", {"method": "card"}, idempotency_key="pay-1")
    again = api_lin.post(f"/orders/{order.number}/payments", {"method": "card"}, idempotency_key="pay-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    reference = first.json()["reference"]
    for _ in range(2):
        r = api_lin.post(f"/payments/{reference}/confirm", {"payment_token": "pm"}, idempotency_key="confirm-1")
        assert r.json()["status"] == "captured"
    assert (fake.calls_to("create"), fake.calls_to("confirm")) == (1, 1)
    _error(api_lin.post(f"/orders/{order.number}/payments", {"method": "bank_transfer"}, idempotency_key="pay-1"),
           409, "idempotency_key_reuse")


# --- manual capture --------------------------------------------------------------------------
def test_an_authorization_is_captured_in_part_by_the_merchant(settings, api_lin, api_merchant, order, fake):
    settings.PAYMENT_CAPTURE_METHOD = "manual"
    reference = _start(api_lin, order).json()["reference"]
    r = api_lin.post(f"/payments/{reference}/confirm", {"payment_token": "pm"})
    assert (r.json()["status"], r.json()["amount_authorized"]) == ("authorized", "200.00")
    assert _order_status(order) == "paid"
    _error(api_merchant.post(f"/payments/{reference}/capture", {"amount": "200.01"}), 400,
           "capture_exceeds_authorized")
    r = api_merchant.post(f"/payments/{reference}/capture", {"amount": "150.00"})
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["amount_captured"], r.json()["fee"]) == ("captured", "150.00", "0.90")


def test_voiding_an_authorization_cancels_the_paid_order(settings, api_lin, api_merchant, order, fake):
    settings.PAYMENT_CAPTURE_METHOD = "manual"
    reference = _start(api_lin, order).json()["reference"]
    api_lin.post(f"/payments/{reference}/confirm", {"payment_token": "pm"})
    r = api_merchant.post(f"/payments/{reference}/void")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "cancelled" and _order_status(order) == "cancelled"
    assert fake.calls_to("cancel") == 1


# --- offline ----------------------------------------------------------------------------------
def test_a_bank_transfer_gets_instructions_and_finance_marks_it_received(api_lin, api_clerk, order):
    r = _start(api_lin, order, method="bank_transfer")
    assert r.status_code == 201, r.content
    intent = r.json()
    order.refresh_from_db()
    assert intent["next_action"] is None
    instructions = intent["instructions"]
    assert instructions["reference"] == intent["reference"]
    assert (instructions["amount"], instructions["currency"]) == ("200.00", "CNY")
    assert instructions["beneficiary"] == "Clearhouse Demo Trading Co., Ltd."
    assert instructions["bank"] == "Demo Bank Shanghai Branch"
    assert instructions["account"] == "6222 0210 0123 4567 890"
    assert instructions["pay_by"] is not None and instructions["pay_by"].startswith(order.expires_at.date().isoformat())

    path = f"/payments/{intent['reference']}/mark-received"
    _error(api_clerk.post(path, {"amount": "199.99", "bank_reference": "BOC-7781"}), 400, "amount_mismatch")
    _error(api_clerk.post(path, {"amount": "200.00", "bank_reference": " "}), 400, "validation_failed")
    r = api_clerk.post(path, {"amount": "200.00", "currency": "CNY", "bank_reference": "BOC-7781"})
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["received_reference"]) == ("captured", "BOC-7781")
    assert r.json()["instructions"] is None
    assert _order_status(order) == "paid"


def test_merchant_staff_cannot_mark_transfers_received(api_lin, api_merchant, order):
    reference = _start(api_lin, order, method="bank_transfer").json()["reference"]
    _error(api_merchant.post(f"/payments/{reference}/mark-received", {"amount": "200.00", "bank_reference": "B"}),
           403, "permission_denied")


def test_cash_taken_at_the_counter_pays_the_order(api_clerk, order):
    body = {"amount": "200.00", "currency": "CNY", "receipt_number": "R-0001"}
    _error(api_clerk.post(f"/orders/{order.number}/cash-payments", {**body, "amount": "100.00"}), 400,
           "amount_mismatch")
    r = api_clerk.post(f"/orders/{order.number}/cash-payments", body)
    assert r.status_code == 201, r.content
    assert (r.json()["method"], r.json()["status"], r.json()["receipt_number"]) == ("cash", "captured", "R-0001")
    assert _order_status(order) == "paid"


# --- refunds ----------------------------------------------------------------------------------
def test_a_small_refund_goes_back_through_the_provider_at_once(api_lin, api_merchant, order, fake):
    reference = _paid_by_card(api_lin, order)["reference"]
    r = api_merchant.post(f"/payments/{reference}/refunds", {"amount": "50.00", "reason": "one tin was dented"})
    assert r.status_code == 201, r.content
    refund = r.json()
    assert (refund["status"], refund["amount"], refund["payment"], refund["order"]) == (
        "succeeded", "50.00", reference, order.number)
    detail = api_lin.get(f"/payments/{reference}").json()
    assert detail["amount_refunded"] == "50.00"
    assert [x["reference"] for x in detail["refunds"]] == [refund["reference"]]
    assert api_lin.get(f"/refunds/{refund['reference']}").json()["status"] == "succeeded"
    assert [x["reference"] for x in api_lin.get("/refunds").json()["data"]] == [refund["reference"]]


def test_a_refund_above_what_was_captured_is_refused(api_lin, api_merchant, order, fake):
    reference = _paid_by_card(api_lin, order)["reference"]
    path = f"/payments/{reference}/refunds"
    _error(api_merchant.post(path, {"amount": "200.01", "reason": "too much"}), 409, "refund_exceeds_captured",
           "amount")
    assert api_merchant.post(path, {"amount": "150.00", "reason": "most of it"}).status_code == 201
    _error(api_merchant.post(path, {"amount": "50.01", "reason": "the rest and a bit"}), 409,
           "refund_exceeds_captured")
    _error(api_merchant.post(path, {"amount": "50.00", "currency": "USD", "reason": "x"}), 400, "amount_mismatch")
    assert Refund.objects.count() == 1 and fake.calls_to("refund") == 1


def test_a_payment_not_captured_cannot_be_refunded(api_lin, api_merchant, order, fake):
    reference = _start(api_lin, order).json()["reference"]
    _error(api_merchant.post(f"/payments/{reference}/refunds", {"amount": "1.00", "reason": "x"}), 409,
           "invalid_transition")


def test_a_large_refund_waits_for_another_manager(api_lin, api_manager_lee, api_manager_zhou, api_merchant,
                                                  big_order, fake):
    reference = _paid_by_card(api_lin, big_order)["reference"]
    r = api_manager_lee.post(f"/payments/{reference}/refunds", {"amount": "550.00", "reason": "spoiled batch"})
    assert r.status_code == 201, r.content
    refund = r.json()
    assert refund["status"] == "awaiting_approval" and fake.calls_to("refund") == 0
    assert [x["reference"] for x in api_manager_zhou.get("/refunds", status="awaiting_approval").json()["data"]] == [
        refund["reference"]]

    _error(api_manager_lee.post(f"/refunds/{refund['reference']}/approve"), 403, "self_approval_refused")
    _error(api_merchant.post(f"/refunds/{refund['reference']}/approve"), 403, "permission_denied")
    assert fake.calls_to("refund") == 0
    r = api_manager_zhou.post(f"/refunds/{refund['reference']}/approve")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "succeeded" and r.json()["decided_by"]
    assert fake.calls_to("refund") == 1
    assert api_lin.get(f"/payments/{reference}").json()["amount_refunded"] == "550.00"


def test_an_api_key_cannot_approve_its_own_refund(api_lin, api_manager, big_order, fake):
    reference = _paid_by_card(api_lin, big_order)["reference"]
    refund = api_manager.post(f"/payments/{reference}/refunds", {"amount": "550.00", "reason": "spoiled"}).json()
    assert refund["status"] == "awaiting_approval"
    _error(api_manager.post(f"/refunds/{refund['reference']}/approve"), 403, "self_approval_refused")
    _error(api_manager.post(f"/refunds/{refund['reference']}/reject"), 403, "self_approval_refused")
    other_key = _full_client_for(Role.FINANCE_MANAGER)
    assert other_key.post(f"/refunds/{refund['reference']}/approve").json()["status"] == "succeeded"


def test_a_refund_at_the_threshold_needs_no_approval(api_lin, api_manager_lee, big_order, fake):
    reference = _paid_by_card(api_lin, big_order)["reference"]
    r = api_manager_lee.post(f"/payments/{reference}/refunds", {"amount": "500.00", "reason": "goodwill"})
    assert r.json()["status"] == "succeeded"


def test_a_rejected_refund_frees_the_amount_again(api_lin, api_manager_lee, api_manager_zhou, big_order, fake):
    reference = _paid_by_card(api_lin, big_order)["reference"]
    path = f"/payments/{reference}/refunds"
    refund = api_manager_lee.post(path, {"amount": "600.00", "reason": "all of it"}).json()
    _error(api_manager_lee.post(f"/refunds/{refund['reference']}/reject", {"reason": "mine"}), 403,
           "self_approval_refused")
    r = api_manager_zhou.post(f"/refunds/{refund['reference']}/reject", {"reason": "no evidence"})
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["failure_code"]) == ("rejected", "no evidence")
    _error(api_manager_zhou.post(f"/refunds/{refund['reference']}/approve"), 409, "invalid_transition")
    assert api_manager_lee.post(path, {"amount": "100.00", "reason": "partial"}).json()["status"] == "succeeded"


def test_an_offline_refund_is_paid_out_by_finance(api_lin, api_clerk, api_manager, order):
    reference = _start(api_lin, order, method="bank_transfer").json()["reference"]
    api_clerk.post(f"/payments/{reference}/mark-received", {"amount": "200.00", "bank_reference": "BOC-1"})
    refund = api_clerk.post(f"/payments/{reference}/refunds", {"amount": "20.00", "reason": "late"}).json()
    assert (refund["status"], refund["offline"]) == ("pending", True)
    _error(api_clerk.post(f"/refunds/{refund['reference']}/mark-paid", {"bank_reference": "OUT-1"}), 403,
           "permission_denied")
    r = api_manager.post(f"/refunds/{refund['reference']}/mark-paid", {"bank_reference": "OUT-1"})
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["payout_reference"]) == ("succeeded", "OUT-1")


def test_an_online_refund_cannot_be_marked_paid_by_hand(api_lin, api_merchant, api_manager, order, fake):
    reference = _paid_by_card(api_lin, order)["reference"]
    refund = api_merchant.post(f"/payments/{reference}/refunds", {"amount": "1.00", "reason": "x"}).json()
    _error(api_manager.post(f"/refunds/{refund['reference']}/mark-paid", {"bank_reference": "OUT-1"}), 409,
           "invalid_transition")


# --- voucher ----------------------------------------------------------------------------------
def test_the_voucher_of_a_captured_payment_is_a_pdf(api_lin, api_merchant, order, fake):
    reference = _start(api_lin, order).json()["reference"]
    _error(api_lin.get(f"/payments/{reference}/voucher"), 404, "not_found")
    api_lin.post(f"/payments/{reference}/confirm", {"payment_token": "pm"})
    for api in (api_lin, api_merchant):
        r = api.get(f"/payments/{reference}/voucher")
        assert r.status_code == 200, r.content
        assert r["Content-Type"] == "application/pdf"
        assert f"voucher-{order.number}-{reference}.pdf" in r["Content-Disposition"]
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
        assert order.number in text


# --- lists --------------------------------------------------------------------------------------
def test_payments_are_listed_and_filtered(api_lin, api_wang, api_merchant, api_auditor, order, wang_order, fake):
    failed = _start(api_lin, order).json()["reference"]
    fake.script("confirm", "decline")
    api_lin.post(f"/payments/{failed}/confirm", {"payment_token": "pm"})
    paid = _paid_by_card(api_lin, order)["reference"]
    transfer = _start(api_wang, wang_order, method="bank_transfer").json()["reference"]

    def refs(api, **params):
        r = api.get("/payments", **params)
        assert r.status_code == 200, r.content
        return [p["reference"] for p in r.json()["data"]]

    assert refs(api_lin) == [paid, failed]
    assert refs(api_wang) == [transfer]
    assert refs(api_merchant) == refs(api_auditor) == [transfer, paid, failed]
    assert refs(api_merchant, status="captured") == [paid]
    assert refs(api_merchant, method="bank_transfer") == [transfer]
    page = api_merchant.get("/payments", page_size=2).json()
    assert (len(page["data"]), page["has_more"]) == (2, True)
    _error(api_merchant.get("/payments", status="paid"), 400, "parameter_invalid", "status")
    order_refs = [p["reference"] for p in api_lin.get(f"/orders/{order.number}/payments").json()]
    assert order_refs == [paid, failed]


def test_a_caller_without_payment_permissions_is_refused(db, order, fake):
    api = _full_client_for(Role.MERCHANT_STAFF, order.merchant)
    api.token = None  # no key at all
    assert api.get("/payments").status_code == 401


# --- scoping: every endpoint ------------------------------------------------------------------
@pytest.fixture
def lins_payment_world(api_lin, api_manager_lee, big_order, fake):
    """Lin paid 600.00 by card; a 550.00 refund awaits approval."""
    reference = _paid_by_card(api_lin, big_order)["reference"]
    refund = api_manager_lee.post(f"/payments/{reference}/refunds", {"amount": "550.00", "reason": "spoiled"}).json()
    return {"order": big_order.number, "payment": reference, "refund": refund["reference"]}


CUSTOMER_ENDPOINTS = [
    ("post", "/orders/{order}/payments", {"method": "card"}),
    ("get", "/orders/{order}/payments", None),
    ("get", "/payments/{payment}", None),
    ("post", "/payments/{payment}/confirm", {"payment_token": "pm"}),
    ("post", "/payments/{payment}/refresh", {}),
    ("get", "/payments/{payment}/voucher", None),
    ("get", "/refunds/{refund}", None),
]
STAFF_ENDPOINTS = [
    ("get", "/orders/{order}/payments", None),
    ("get", "/payments/{payment}", None),
    ("post", "/payments/{payment}/refresh", {}),
    ("post", "/payments/{payment}/capture", {}),
    ("post", "/payments/{payment}/void", {}),
    ("post", "/payments/{payment}/mark-received", {"amount": "600.00", "bank_reference": "B-1"}),
    ("post", "/orders/{order}/cash-payments", {"amount": "600.00", "receipt_number": "R-1"}),
    ("post", "/payments/{payment}/refunds", {"amount": "1.00", "reason": "x"}),
    ("get", "/payments/{payment}/voucher", None),
    ("get", "/refunds/{refund}", None),
    ("post", "/refunds/{refund}/approve", {}),
    ("post", "/refunds/{refund}/reject", {"reason": "no"}),
    ("post", "/refunds/{refund}/mark-paid", {"bank_reference": "OUT-1"}),
]


def _state() -> list:
    return [sorted(PaymentIntent.objects.values_list("reference", "status", "amount_refunded_minor")),
            sorted(Refund.objects.values_list("reference", "status")),
            sorted(Order.objects.values_list("number", "status"))]


@pytest.mark.parametrize(("method", "path", "body"), CUSTOMER_ENDPOINTS)
def test_another_customer_gets_404_on_every_endpoint(api_wang, lins_payment_world, method, path, body):
    before = _state()
    url = path.format(**lins_payment_world)
    r = api_wang.get(url) if method == "get" else api_wang.post(url, body)
    _error(r, 404, "not_found")
    assert _state() == before


@pytest.mark.parametrize(("method", "path", "body"), STAFF_ENDPOINTS)
def test_another_merchant_gets_404_on_every_endpoint(api_noodle_boss, lins_payment_world, method, path, body):
    before = _state()
    url = path.format(**lins_payment_world)
    r = api_noodle_boss.get(url) if method == "get" else api_noodle_boss.post(url, body)
    _error(r, 404, "not_found")
    assert _state() == before


@pytest.mark.parametrize("client", ["api_wang", "api_other_merchant", "api_noodle_boss"])
def test_outsiders_list_none_of_lins_payments_or_refunds(request, lins_payment_world, client):
    api = request.getfixturevalue(client)
    assert api.get("/payments").json()["data"] == []
    assert api.get("/refunds").json()["data"] == []


def test_the_own_merchant_and_platform_finance_see_lins_payment(api_merchant, api_auditor, lins_payment_world):
    for api in (api_merchant, api_auditor):
        assert api.get("/payments/{payment}".format(**lins_payment_world)).status_code == 200
        assert api.get("/refunds/{refund}".format(**lins_payment_world)).status_code == 200
