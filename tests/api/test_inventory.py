"""Inventory over the API: stock levels, receiving, adjusting, thresholds, the low-stock list, isolation."""

from __future__ import annotations

import pytest

from clearhouse.accounts.roles import Role
from clearhouse.inventory.models import LowStockAlert, StockMovement
from clearhouse.inventory.services import stock_receive, stock_reserve
from tests.catalog.support import make_category, make_product, only_variant
from tests.conftest import _client_for
from tests.inventory.support import counters


@pytest.fixture
def tea(db):
    return make_category("Tea")


@pytest.fixture
def sku(merchant, tea):
    return only_variant(make_product(merchant, tea, "Longjing", sku="TEA-1"))


@pytest.fixture
def their_sku(other_merchant, tea):
    variant = only_variant(make_product(other_merchant, tea, "Noodle tea", sku="NT-1"))
    stock_receive(variant_id=variant.pk, quantity=4)
    return variant


def test_staff_receive_adjust_and_read_stock(api_merchant, sku):
    r = api_merchant.post(f"/inventory/stock/{sku.pk}/receive", {"quantity": 10, "reference_type": "purchase_order",
                                                                  "reference_id": "PO-7"})
    assert r.status_code == 200, r.content
    assert r.json() == {"variant_id": sku.pk, "sku": "TEA-1", "on_hand": 10, "reserved": 0, "available": 10,
                        "low_stock_threshold": 0, "low_stock": False}
    r = api_merchant.post(f"/inventory/stock/{sku.pk}/adjust", {"quantity": -2, "note": "two broken"})
    assert r.json()["on_hand"] == 8
    stock_reserve(lines=[(sku.pk, 3)], reference="SO-1")
    assert api_merchant.get(f"/inventory/stock/{sku.pk}").json()["available"] == 5
    assert [s["sku"] for s in api_merchant.get("/inventory/stock").json()["data"]] == ["TEA-1"]
    moves = api_merchant.get(f"/inventory/stock/{sku.pk}/movements").json()["data"]
    assert [(m["kind"], m["quantity"]) for m in moves] == [("reserve", 3), ("adjust", -2), ("receive", 10)]
    assert moves[2]["actor"].startswith("api_key:")


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    ("receive", {"quantity": 0}, 400, "invalid_quantity"),
    ("receive", {"quantity": -4}, 400, "invalid_quantity"),
    ("receive", {"quantity": 2.5}, 400, "invalid_quantity"),
    ("receive", {"quantity": "3"}, 400, "invalid_quantity"),
    ("adjust", {"quantity": 0, "note": "x"}, 400, "invalid_quantity"),
    ("adjust", {"quantity": -6, "note": "x"}, 409, "insufficient_stock"),
    ("adjust", {"quantity": -1}, 400, "parameter_missing"),
    ("threshold", {"low_stock_threshold": -1}, 400, "invalid_quantity"),
])
def test_bad_stock_input_is_4xx_with_a_code_and_changes_nothing(api_merchant, sku, path, body, status, code):
    stock_receive(variant_id=sku.pk, quantity=5)
    r = api_merchant.post(f"/inventory/stock/{sku.pk}/{path}", body)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert counters(sku) == (5, 0)
    assert StockMovement.objects.count() == 1


def test_an_unknown_sku_is_a_404_with_its_code(api_merchant, db):
    r = api_merchant.post("/inventory/stock/99999/receive", {"quantity": 1})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_sku")
    assert api_merchant.get("/inventory/stock/99999").json()["error"]["code"] == "unknown_sku"


def test_the_low_stock_list_shows_one_alert_per_crossing(api_merchant, sku):
    api_merchant.post(f"/inventory/stock/{sku.pk}/receive", {"quantity": 10})
    r = api_merchant.post(f"/inventory/stock/{sku.pk}/threshold", {"low_stock_threshold": 4})
    assert r.json()["low_stock"] is False
    stock_reserve(lines=[(sku.pk, 6)], reference="SO-1")
    stock_reserve(lines=[(sku.pk, 1)], reference="SO-2")
    alerts = api_merchant.get("/inventory/low-stock").json()["data"]
    assert [(a["sku"], a["available"], a["threshold"]) for a in alerts] == [("TEA-1", 4, 4)]
    assert api_merchant.get("/inventory/stock", low_only="true").json()["data"][0]["low_stock"] is True
    api_merchant.post(f"/inventory/stock/{sku.pk}/receive", {"quantity": 5})
    assert api_merchant.get("/inventory/low-stock").json()["data"] == []
    assert len(api_merchant.get("/inventory/low-stock", include_resolved="true").json()["data"]) == 1


def test_who_may_read_and_change_stock(api_auditor, api_customer, api_clerk, sku):
    assert api_auditor.get(f"/inventory/stock/{sku.pk}").status_code == 200
    assert api_clerk.get("/inventory/low-stock").status_code == 200
    assert api_auditor.post(f"/inventory/stock/{sku.pk}/receive", {"quantity": 1}).status_code == 403
    assert api_customer.get(f"/inventory/stock/{sku.pk}").status_code == 403
    assert api_customer.get("/inventory/low-stock").status_code == 403
    assert counters(sku) == (0, 0)


def test_an_admin_manages_any_merchants_stock(api_admin, their_sku):
    assert api_admin.post(f"/inventory/stock/{their_sku.pk}/receive", {"quantity": 1}).json()["on_hand"] == 5


def test_a_merchant_key_sees_and_changes_only_its_own_stock(api_merchant, sku, their_sku, other_merchant):
    stock_reserve(lines=[(their_sku.pk, 4)], reference="SO-9")  # their SKU is now low (threshold 0)
    assert LowStockAlert.objects.filter(merchant=other_merchant).count() == 1
    assert [s["variant_id"] for s in api_merchant.get("/inventory/stock").json()["data"]] == [sku.pk]
    assert api_merchant.get("/inventory/stock", sku="NT-1").json()["data"] == []
    assert api_merchant.get("/inventory/low-stock").json()["data"] == []
    vid = their_sku.pk
    calls = [
        api_merchant.get(f"/inventory/stock/{vid}"),
        api_merchant.get(f"/inventory/stock/{vid}/movements"),
        api_merchant.post(f"/inventory/stock/{vid}/receive", {"quantity": 1}),
        api_merchant.post(f"/inventory/stock/{vid}/adjust", {"quantity": -1, "note": "x"}),
        api_merchant.post(f"/inventory/stock/{vid}/threshold", {"low_stock_threshold": 9}),
    ]
    assert [(r.status_code, r.json()["error"]["code"]) for r in calls] == [(404, "unknown_sku")] * len(calls)
    assert counters(their_sku) == (4, 4)
    other = _client_for(Role.MERCHANT_STAFF, other_merchant)
    assert len(other.get("/inventory/low-stock").json()["data"]) == 1
