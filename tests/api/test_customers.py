"""The customers API: a customer's own profile, addresses, points and level; staff views; who sees what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from clearhouse.accounts.roles import Role
from clearhouse.core.money import Money
from clearhouse.customers.models import Address, CustomerTag, PointsEntry
from clearhouse.customers.services import customer_spend_record, points_earn
from tests.conftest import _full_client_for

HOME = {"recipient": "Lin Mei", "phone": "13800138000", "region": "Shanghai", "city": "Shanghai",
        "line": "88 Century Avenue", "postal_code": "200120"}


@pytest.fixture
def api_manager_full(db):
    return _full_client_for(Role.FINANCE_MANAGER)


@pytest.fixture
def api_clerk_full(db):
    return _full_client_for(Role.FINANCE_CLERK)


@pytest.fixture
def lin_points(customer):
    points_earn(customer=customer, amount=Money(123456, "CNY"), order_reference="SO-1")
    return customer


# --- profile -----------------------------------------------------------------------------
def test_a_customer_reads_and_changes_their_profile(api_lin, customer_user):
    r = api_lin.get("/customers/me")
    assert r.status_code == 200, r.content
    assert (r.json()["display_name"], r.json()["email"], r.json()["member_level"]) == ("lin", "lin@example.com", None)
    r = api_lin.patch("/customers/me", {"display_name": "Lin Mei", "phone": "+86 138 0013 8000"})
    assert r.status_code == 200, r.content
    assert (r.json()["display_name"], r.json()["phone"], r.json()["email"]) == ("Lin Mei", "+86 138 0013 8000",
                                                                               "lin@example.com")


def test_bad_contact_details_get_specific_codes(api_lin):
    assert api_lin.patch("/customers/me", {"phone": "call me"}).json()["error"]["code"] == "invalid_phone"
    r = api_lin.patch("/customers/me", {"email": "nope"})
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["param"]) == (400, "validation_failed",
                                                                                     "email")
    assert api_lin.patch("/customers/me", {"nickname": "x"}).json()["error"]["code"] == "parameter_unknown"
    assert api_lin.get("/customers/me").json()["display_name"] == "lin"


def test_a_customer_api_key_has_no_profile(api_customer):
    r = api_customer.get("/customers/me")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "customer_account_required")


@pytest.mark.parametrize("path", ["/customers/me", "/customers/me/addresses", "/customers/me/points",
                                  "/customers/me/points/entries", "/customers/me/member-level", "/customers",
                                  "/customers/feedback", "/customers/me/feedback"])
def test_merchant_keys_see_no_customer_data(api_merchant, customer, path):
    r = api_merchant.get(path)
    assert r.status_code == 403, (path, r.content)


def test_staff_sessions_cannot_act_as_customers_without_the_permission(merchant, db):
    from clearhouse.accounts.services import user_create
    from tests.conftest import _session_client

    staff = user_create(username="mia", password="x-mia-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant)
    r = _session_client(staff).get("/customers/me")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "permission_denied")


# --- addresses ---------------------------------------------------------------------------
def test_a_customer_manages_their_addresses(api_lin):
    first = api_lin.post("/customers/me/addresses", HOME)
    assert first.status_code == 201, first.content
    assert first.json()["is_default"] is True
    second = api_lin.post("/customers/me/addresses", {**HOME, "line": "1 Nanjing Road"}).json()
    r = api_lin.patch(f"/customers/me/addresses/{second['id']}", {"is_default": True, "city": "Suzhou"})
    assert (r.json()["is_default"], r.json()["city"]) == (True, "Suzhou")
    listed = api_lin.get("/customers/me/addresses").json()
    assert [(a["id"], a["is_default"]) for a in listed] == [(second["id"], True), (first.json()["id"], False)]
    assert api_lin.delete(f"/customers/me/addresses/{second['id']}").status_code == 204
    assert api_lin.get(f"/customers/me/addresses/{first.json()['id']}").json()["is_default"] is True


def test_the_default_address_cannot_be_undefaulted_directly(api_lin):
    address = api_lin.post("/customers/me/addresses", HOME).json()
    r = api_lin.patch(f"/customers/me/addresses/{address['id']}", {"is_default": False})
    assert (r.status_code, r.json()["error"]["param"]) == (400, "is_default")


def test_another_customers_address_is_not_found_and_untouched(api_lin, api_wang, other_customer):
    theirs = api_wang.post("/customers/me/addresses", HOME).json()
    for call in (lambda: api_lin.get(f"/customers/me/addresses/{theirs['id']}"),
                 lambda: api_lin.patch(f"/customers/me/addresses/{theirs['id']}", {"city": "Beijing"}),
                 lambda: api_lin.delete(f"/customers/me/addresses/{theirs['id']}")):
        assert call().status_code == 404
    assert api_lin.get("/customers/me/addresses").json() == []
    assert Address.objects.get(pk=theirs["id"]).city == "Shanghai"


def test_a_bad_address_gets_a_specific_code_and_nothing_is_stored(api_lin):
    r = api_lin.post("/customers/me/addresses", {**HOME, "phone": "12"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_phone")
    r = api_lin.post("/customers/me/addresses", {k: v for k, v in HOME.items() if k != "city"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "parameter_missing")
    assert not Address.objects.exists()


# --- points and level ----------------------------------------------------------------------
def test_a_customer_sees_their_points_and_history(api_lin, lin_points):
    balance = api_lin.get("/customers/me/points").json()
    assert (balance["points"], balance["value"]) == (1234, {"amount": "12.34", "currency": "CNY"})
    assert (balance["earn_rate"], balance["points_per_currency_unit"]) == ("1", "100")
    assert balance["next_expiry_points"] == 1234
    entries = api_lin.get("/customers/me/points/entries").json()
    assert [(e["delta"], e["reason"], e["order_reference"]) for e in entries["data"]] == [(1234, "earned", "SO-1")]
    assert api_lin.get("/customers/me/points/entries", reason="redeemed").json()["data"] == []


def test_a_customer_sees_only_their_own_points(api_wang, lin_points, other_customer):
    assert api_wang.get("/customers/me/points").json()["points"] == 0
    assert api_wang.get("/customers/me/points/entries").json()["data"] == []


def test_a_customer_sees_their_level_and_the_way_to_the_next(api_lin, customer, member_levels):
    customer_spend_record(customer=customer, amount=Money(120000, "CNY"), order_reference="SO-1")
    level = api_lin.get("/customers/me/member-level").json()
    assert level["level"]["code"] == "silver" and level["level"]["name_zh_hans"] == "白银会员"
    assert level["next_level"]["code"] == "gold"
    assert level["to_next_level"] == {"amount": "3800.00", "currency": "CNY"}
    assert level["cumulative_spend"] == [{"amount": "1200.00", "currency": "CNY"}]
    assert api_lin.get("/customers/me").json()["member_level"]["code"] == "silver"


# --- staff ---------------------------------------------------------------------------------
def test_finance_lists_and_finds_customers(api_clerk, customer, other_customer, lin_points):
    listed = api_clerk.get("/customers").json()
    assert [c["username"] for c in listed["data"]] == ["lin", "wang"]
    assert [c["username"] for c in api_clerk.get("/customers", search="lin@").json()["data"]] == ["lin"]
    detail = api_clerk.get(f"/customers/{customer.pk}").json()
    assert (detail["points"]["points"], detail["membership"]["level"]) == (1234, None)
    history = api_clerk.get(f"/customers/{customer.pk}/points/entries").json()["data"]
    assert [e["delta"] for e in history] == [1234]
    assert api_clerk.get("/customers/999999").status_code == 404


def test_customers_cannot_use_staff_endpoints(api_lin, customer, other_customer):
    assert api_lin.get("/customers").status_code == 403
    assert api_lin.get(f"/customers/{other_customer.pk}").status_code == 403
    r = api_lin.post(f"/customers/{customer.pk}/points/adjustments", {"delta": 1000, "note": "me"})
    assert r.status_code == 403
    assert not PointsEntry.objects.exists()


def test_a_manager_adjusts_points_with_a_note(api_manager, lin_points):
    customer = lin_points
    r = api_manager.post(f"/customers/{customer.pk}/points/adjustments", {"delta": -234, "note": "Refunded order"})
    assert r.status_code == 201, r.content
    assert [e["delta"] for e in r.json()["entries"]] == [-234]
    assert r.json()["balance"]["points"] == 1000
    r = api_manager.post(f"/customers/{customer.pk}/points/adjustments", {"delta": -1001, "note": "Too much"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "insufficient_points")
    r = api_manager.post(f"/customers/{customer.pk}/points/adjustments", {"delta": 0, "note": "Nothing"})
    assert r.json()["error"]["code"] == "invalid_points"
    assert PointsEntry.objects.filter(customer=customer).count() == 2


def test_a_clerk_and_an_auditor_may_not_adjust_points(api_clerk, api_auditor, lin_points):
    for client in (api_clerk, api_auditor):
        r = client.post(f"/customers/{lin_points.pk}/points/adjustments", {"delta": 5, "note": "x"})
        assert r.status_code == 403
    assert api_auditor.get(f"/customers/{lin_points.pk}").status_code == 200


def test_staff_set_tags_and_filter_by_them(api_clerk_full, customer, other_customer):
    CustomerTag.objects.create(code="vip", name="VIP")
    r = api_clerk_full.put(f"/customers/{customer.pk}/tags", {"tags": ["vip"]})
    assert (r.status_code, r.json()["tags"]) == (200, ["vip"])
    assert [c["username"] for c in api_clerk_full.get("/customers", tag="vip").json()["data"]] == ["lin"]
    r = api_clerk_full.put(f"/customers/{customer.pk}/tags", {"tags": ["nope"]})
    assert (r.status_code, r.json()["error"]["param"]) == (400, "tags")


def test_the_points_expiry_shows_in_the_balance(api_lin, customer):
    points_earn(customer=customer, amount=Money(1000, "CNY"), order_reference="SO-OLD",
                now=timezone.now() - timedelta(days=400))
    assert api_lin.get("/customers/me/points").json()["points"] == 0
