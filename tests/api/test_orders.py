"""The cart and orders API: customers see their own, merchants theirs, finance all; refusals are 4xx codes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clearhouse.accounts.roles import Role
from clearhouse.core.money import Money
from clearhouse.customers.services import points_adjust
from clearhouse.orders.models import Order
from clearhouse.orders.services import coupon_create
from tests.catalog.support import make_category, make_product, only_variant
from tests.conftest import _full_client_for
from tests.inventory.support import counters
from tests.orders.support import world

ADDRESS = {"recipient": "Lin Mei", "phone": "13800000000", "region": "Zhejiang", "city": "Hangzhou",
           "line": "1 West Lake Road"}


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def skus(merchant, other_merchant):
    tea = make_category("Tea")
    return {
        "tea": only_variant(make_product(merchant, tea, "Longjing", sku="TEA-1", price="100.00", stock=10)),
        "noodles": only_variant(make_product(other_merchant, tea, "Noodles", sku="NOODLE-1", price="19.99", stock=10)),
    }


@pytest.fixture
def api_other_merchant(other_merchant):
    return _full_client_for(Role.MERCHANT_STAFF, other_merchant)


@pytest.fixture
def api_finance(db):
    return _full_client_for(Role.FINANCE_CLERK)


def _checkout(api, *lines, **body):
    for sku, quantity in lines:
        assert api.post("/cart/lines", {"sku": sku, "quantity": quantity}).status_code == 201
    return api.post("/cart/checkout", {"address": ADDRESS, **body})


def _error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


# --- cart ----------------------------------------------------------------------------------
def test_a_customer_keeps_a_cart(api_lin, skus):
    r = api_lin.post("/cart/lines", {"sku": "TEA-1", "quantity": 2})
    assert r.status_code == 201
    line = r.json()["lines"][0]
    assert (line["sku"], line["quantity"], line["unit_price"], line["available"]) == ("TEA-1", 2, "100.00", 10)
    assert api_lin.patch(f"/cart/lines/{line['id']}", {"quantity": 3}).json()["lines"][0]["quantity"] == 3
    assert api_lin.get("/cart").json()["totals"] == {"CNY": "300.00"}
    assert api_lin.delete(f"/cart/lines/{line['id']}").json()["lines"] == []


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"sku": "TEA-1", "quantity": 0}, 400, "invalid_quantity"),
    ({"sku": "TEA-1", "quantity": -2}, 400, "invalid_quantity"),
    ({"sku": "NOPE", "quantity": 1}, 404, "unknown_sku"),
    ({"sku": "TEA-1", "quantity": 11}, 409, "insufficient_stock"),
])
def test_bad_cart_lines_are_refused_with_a_code(api_lin, skus, customer, body, status, code):
    before = world(customer)
    _error(api_lin.post("/cart/lines", body), status, code)
    assert world(customer) == before


def test_api_keys_have_no_cart(api_customer, api_merchant, skus):
    _error(api_customer.post("/cart/lines", {"sku": "TEA-1", "quantity": 1}), 403, "customer_account_required")
    _error(api_merchant.get("/cart"), 403, "permission_denied")


# --- checkout ------------------------------------------------------------------------------
def test_checkout_returns_the_group_and_one_order_per_merchant(api_lin, skus, customer):
    points_adjust(customer=customer, delta=1000, note="gift")
    coupon_create(code="PLAT10", percent_off=Decimal("10"), currency="CNY")
    r = _checkout(api_lin, ("TEA-1", 2), ("NOODLE-1", 1), platform_coupon="PLAT10", points=1000)
    assert r.status_code == 201, r.content
    group = r.json()
    assert [o["merchant"] for o in group["orders"]] == ["teahouse", "noodles"]
    assert group["total"] == "187.99"  # 219.99 - 10% (22.00) - 1,000 points (10.00), no shipping
    assert sum(o["total_minor"] for o in group["orders"]) == group["total_minor"]
    for order in group["orders"]:
        assert sum(ln["line_total_minor"] for ln in order["lines"]) == order["total_minor"]
        assert order["timeline"][0]["to_status"] == "submitted"
        assert order["shipping_address"]["city"] == "Hangzhou"
    assert api_lin.get("/cart").json()["lines"] == []


def test_checkout_with_one_of_my_addresses(api_lin, skus, customer):
    from clearhouse.customers.services import address_create

    address = address_create(customer=customer, recipient="Lin", phone="13800000000", region="Zhejiang",
                             city="Ningbo", line="2 Harbour St")
    api_lin.post("/cart/lines", {"sku": "TEA-1", "quantity": 1})
    r = api_lin.post("/cart/checkout", {"address_id": address.pk})
    assert r.status_code == 201
    assert r.json()["orders"][0]["shipping_address"]["city"] == "Ningbo"


@pytest.mark.parametrize(("setup", "body", "status", "code"), [
    ("expired", {"platform_coupon": "OLD"}, 400, "coupon_expired"),
    ("exhausted", {"platform_coupon": "GONE"}, 400, "coupon_exhausted"),
    ("min_spend", {"platform_coupon": "BIG"}, 400, "coupon_min_spend_not_met"),
    ("", {"points": 999999}, 400, "insufficient_points"),
    ("", {"platform_coupon": "NOPE"}, 404, "coupon_not_found"),
])
def test_bad_checkouts_are_refused_with_a_code_and_nothing_changes(api_lin, skus, customer, setup, body, status,
                                                                   code):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    points_adjust(customer=customer, delta=100, note="gift")
    if setup == "expired":
        coupon_create(code="OLD", percent_off=Decimal("5"), currency="CNY", valid_to=now - timedelta(days=1))
    if setup == "exhausted":
        coupon_create(code="GONE", percent_off=Decimal("5"), currency="CNY", total_limit=0)
    if setup == "min_spend":
        coupon_create(code="BIG", amount_off=Money(1000, "CNY"), min_spend=Money(100000, "CNY"))
    api_lin.post("/cart/lines", {"sku": "TEA-1", "quantity": 2})
    before = world(customer)
    _error(api_lin.post("/cart/checkout", {"address": ADDRESS, **body}), status, code)
    assert world(customer) == before


# --- who sees which orders -----------------------------------------------------------------
def test_a_merchant_key_lists_only_its_merchants_orders(api_lin, api_wang, api_merchant, api_other_merchant, skus):
    _checkout(api_lin, ("TEA-1", 1), ("NOODLE-1", 1))
    _checkout(api_wang, ("NOODLE-1", 2))
    mine = api_merchant.get("/orders").json()["data"]
    assert [o["merchant"] for o in mine] == ["teahouse"]
    theirs = api_other_merchant.get("/orders").json()["data"]
    assert sorted(o["merchant"] for o in theirs) == ["noodles", "noodles"]


def test_a_customer_lists_only_their_own_orders(api_lin, api_wang, skus):
    _checkout(api_lin, ("TEA-1", 1))
    wang = _checkout(api_wang, ("NOODLE-1", 1)).json()["orders"][0]["number"]
    listed = api_lin.get("/orders").json()["data"]
    assert len(listed) == 1 and listed[0]["number"] != wang
    _error(api_lin.get(f"/orders/{wang}"), 404, "not_found")
    _error(api_lin.post(f"/orders/{wang}/cancel", {"reason": "mine now"}), 404, "not_found")


def test_another_merchants_order_is_a_404_and_stays_as_it_was(api_lin, api_merchant, skus):
    number = _checkout(api_lin, ("NOODLE-1", 1)).json()["orders"][0]["number"]
    _error(api_merchant.get(f"/orders/{number}"), 404, "not_found")
    _error(api_merchant.post(f"/orders/{number}/approve", {}), 404, "not_found")
    _error(api_merchant.post(f"/orders/{number}/cancel", {"reason": "no"}), 404, "not_found")
    assert Order.objects.get(number=number).status == "submitted"


def test_finance_sees_every_order(api_lin, api_finance, skus):
    _checkout(api_lin, ("TEA-1", 1), ("NOODLE-1", 1))
    assert len(api_finance.get("/orders").json()["data"]) == 2
    assert len(api_finance.get("/orders", status="submitted").json()["data"]) == 2
    assert api_finance.get("/orders", status="paid").json()["data"] == []


# --- the order's life through the API ----------------------------------------------------------
def test_an_order_from_checkout_to_completion_with_its_timeline(api_lin, api_merchant, api_finance, skus):
    number = _checkout(api_lin, ("TEA-1", 2)).json()["orders"][0]["number"]
    assert api_merchant.post(f"/orders/{number}/approve", {"note": "ok"}).status_code == 200
    cash = {"amount": "200.00", "currency": "CNY", "receipt_number": "R-1"}
    assert api_finance.post(f"/orders/{number}/cash-payments", cash).status_code == 201
    r = api_merchant.post(f"/orders/{number}/ship", {"carrier": "SF Express", "tracking_number": "SF1"})
    assert r.json()["tracking_number"] == "SF1"
    assert counters(skus["tea"]) == (8, 0)
    assert api_merchant.post(f"/orders/{number}/deliver", {"signed_by": "Lin Mei"}).json()["signed_by"] == "Lin Mei"
    assert api_finance.post(f"/orders/{number}/complete").json()["status"] == "completed"
    timeline = api_lin.get(f"/orders/{number}").json()["timeline"]
    assert [step["to_status"] for step in timeline] == ["submitted", "approved", "paid", "shipped", "delivered",
                                                          "completed"]
    assert all(step["actor"] and step["at"] for step in timeline)


def test_roles_are_kept_apart(api_lin, api_merchant, api_finance, skus):
    number = _checkout(api_lin, ("TEA-1", 1)).json()["orders"][0]["number"]
    _error(api_lin.post(f"/orders/{number}/approve", {}), 403, "permission_denied")
    cash = {"amount": "100.00", "currency": "CNY", "receipt_number": "R-1"}
    _error(api_merchant.post(f"/orders/{number}/cash-payments", cash), 403, "permission_denied")
    _error(api_finance.post(f"/orders/{number}/approve", {}), 403, "permission_denied")


def test_an_illegal_transition_is_a_409(api_lin, api_merchant, skus):
    number = _checkout(api_lin, ("TEA-1", 1)).json()["orders"][0]["number"]
    _error(api_merchant.post(f"/orders/{number}/ship", {"carrier": "SF", "tracking_number": "1"}), 409,
           "invalid_transition")
    assert Order.objects.get(number=number).status == "submitted"
    assert counters(skus["tea"]) == (10, 1)


def test_a_customer_cancels_and_the_stock_comes_back(api_lin, skus):
    number = _checkout(api_lin, ("TEA-1", 3)).json()["orders"][0]["number"]
    r = api_lin.post(f"/orders/{number}/cancel", {"reason": "ordered by mistake"})
    assert r.json()["status"] == "cancelled"
    assert r.json()["timeline"][-1]["note"] == "ordered by mistake"
    assert counters(skus["tea"]) == (10, 0)


def test_a_customer_edits_lines_before_approval_but_not_after(api_lin, api_merchant, skus, customer):
    number = _checkout(api_lin, ("TEA-1", 1)).json()["orders"][0]["number"]
    r = api_lin.client.put(f"/api/v1/orders/{number}/lines", data='{"lines": [{"sku": "TEA-1", "quantity": 4}]}',
                           content_type="application/json", headers=api_lin._headers(None))
    assert r.status_code == 200, r.content
    assert r.json()["total"] == "400.00"
    assert counters(skus["tea"]) == (10, 4)
    api_merchant.post(f"/orders/{number}/approve", {})
    before = world(customer)
    r = api_lin.put(f"/orders/{number}/lines", {"lines": [{"sku": "TEA-1", "quantity": 5}]})
    _error(r, 409, "order_not_editable")
    assert world(customer) == before


def test_an_unknown_order_number_is_a_404_and_a_malformed_one_a_400(api_lin, skus):
    _error(api_lin.get("/orders/SO-20260101-000001"), 404, "not_found")
    assert api_lin.get("/orders/not-a-number").status_code == 400


# --- direct checkout ("buy now") -------------------------------------------------------------
def test_a_direct_checkout_buys_the_lines_given_and_leaves_the_cart_alone(api_lin, skus, customer):
    assert api_lin.post("/cart/lines", {"sku": "NOODLE-1", "quantity": 1}).status_code == 201
    r = api_lin.post("/cart/checkout", {"address": ADDRESS, "lines": [
        {"sku": "TEA-1", "quantity": 2}, {"variant_id": skus["noodles"].pk, "quantity": 3}]})
    assert r.status_code == 201, r.content
    body = r.json()
    assert [(o["merchant"], o["total"], [(ln["sku"], ln["quantity"]) for ln in o["lines"]]) for o in body["orders"]] \
        == [("teahouse", "200.00", [("TEA-1", 2)]), ("noodles", "59.97", [("NOODLE-1", 3)])]
    assert [o["timeline"][0]["to_status"] for o in body["orders"]] == ["submitted", "submitted"]
    # The answer is what a read of the orders gives.
    for placed in body["orders"]:
        assert api_lin.get(f"/orders/{placed['number']}").json() == placed
    assert [(ln["sku"], ln["quantity"]) for ln in api_lin.get("/cart").json()["lines"]] == [("NOODLE-1", 1)]
    assert counters(skus["tea"])[1] == 2 and counters(skus["noodles"])[1] == 3


@pytest.mark.parametrize(("lines", "status", "code"), [
    ([{"sku": "NOPE", "quantity": 1}], 404, "unknown_sku"),
    ([{"sku": "TEA-1", "quantity": 0}], 400, "invalid_quantity"),
    ([{"sku": "TEA-1", "quantity": 1}, {"variant_id": None, "sku": "TEA-1", "quantity": 1}], 400, "validation_failed"),
    ([{"quantity": 1}], 400, "validation_failed"),
    ([{"sku": "TEA-1", "quantity": 11}], 409, "insufficient_stock"),
])
def test_bad_direct_checkouts_are_refused_and_nothing_changes(api_lin, skus, customer, lines, status, code):
    r = api_lin.post("/cart/checkout", {"address": ADDRESS, "lines": lines})
    assert r.status_code == status, r.content
    assert Order.objects.count() == 0
    assert counters(skus["tea"])[1] == 0
