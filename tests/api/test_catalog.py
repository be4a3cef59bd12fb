"""Catalog over the API: public storefront reads, staff writes, search and pagination, merchant isolation."""

from __future__ import annotations

import pytest
from django.test import Client

from clearhouse.accounts.roles import Role
from clearhouse.catalog.models import Category, Product, ProductImage, Variant
from tests.catalog.support import api_patch, api_upload, make_category, make_product, only_variant, picture
from tests.conftest import _client_for


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def tea(db):
    return make_category("Tea", name_zh_hans="茶")


@pytest.fixture
def api_other(other_merchant):
    """The merchant admin of another merchant."""
    return _client_for(Role.MERCHANT_ADMIN, other_merchant)


@pytest.fixture
def anonymous(db):
    return Client()


def anon_get(client: Client, path: str, **params):
    return client.get(f"/api/v1{path}", params)


@pytest.fixture
def theirs(other_merchant, tea):
    """A published product of the other merchant, with stock."""
    return make_product(other_merchant, tea, "Noodle tea", price="12.00", sku="NT-1", stock=4)


# --- public reads ----------------------------------------------------------------------------
def test_anonymous_visitors_browse_published_products_only(anonymous, merchant, tea):
    shown = make_product(merchant, tea, "Longjing", price="88.00", stock=3, description="**Spring** <b>tea</b>")
    make_product(merchant, tea, "Draft", publish=False)
    r = anon_get(anonymous, "/catalog/products")
    assert r.status_code == 200, r.content
    body = r.json()
    assert [p["name"] for p in body["data"]] == ["Longjing"]
    assert body["data"][0]["price_from"] == "88.00" and body["data"][0]["currency"] == "CNY"
    assert (body["page"], body["has_more"]) == (1, False)
    detail = anon_get(anonymous, f"/catalog/products/{shown.pk}").json()
    assert detail["description_html"] == "<p><strong>Spring</strong> &lt;b&gt;tea&lt;/b&gt;</p>"
    assert detail["variants"][0]["in_stock"] is True and detail["variants"][0]["available"] == 3
    assert anon_get(anonymous, "/catalog/categories").json()[0]["name_zh_hans"] == "茶"


def test_a_draft_is_not_found_for_shoppers_but_visible_to_its_merchant(anonymous, api_customer, api_merchant,
                                                                       merchant, tea):
    draft = make_product(merchant, tea, "Draft", publish=False)
    assert anon_get(anonymous, f"/catalog/products/{draft.pk}").status_code == 404
    assert api_customer.get(f"/catalog/products/{draft.pk}").status_code == 404
    assert api_merchant.get(f"/catalog/products/{draft.pk}").json()["status"] == "draft"
    variant = only_variant(draft)
    assert anon_get(anonymous, f"/catalog/variants/{variant.pk}").json()["error"]["code"] == "unknown_sku"


def test_a_wrong_api_key_is_refused_not_treated_as_anonymous(anonymous, db):
    r = anonymous.get("/api/v1/catalog/products", headers={"Authorization": "Bearer chk_nope_nope"})
    assert r.status_code == 401


def test_anonymous_visitors_cannot_write(anonymous, tea):
    r = anonymous.post("/api/v1/catalog/products", data="{}", content_type="application/json",
                       headers={"Idempotency-Key": "k1"})
    assert r.status_code == 401


def test_search_filter_sort_and_pagination_over_the_api(anonymous, merchant, other_merchant, tea):
    green = make_category("Green", parent=tea)
    make_product(merchant, green, "Sencha", price="35.00", stock=1, description="grassy green tea")
    make_product(merchant, tea, "Pu'er", price="120.00", stock=0)
    make_product(other_merchant, green, "Matcha", price="60.00", stock=2, description="green powder")
    get = lambda **p: [x["name"] for x in anon_get(anonymous, "/catalog/products", **p).json()["data"]]  # noqa: E731
    assert sorted(get(q="green")) == ["Matcha", "Sencha"]
    assert get(category_id=green.pk, sort="price_desc") == ["Matcha", "Sencha"]
    assert get(in_stock="true", sort="price_asc") == ["Sencha", "Matcha"]
    assert get(price_min="50", price_max="100.00", currency="CNY") == ["Matcha"]
    assert get(merchant="noodles") == ["Matcha"]
    page1 = anon_get(anonymous, "/catalog/products", sort="price_asc", page_size=2).json()
    page2 = anon_get(anonymous, "/catalog/products", sort="price_asc", page_size=2, page=2).json()
    assert [p["name"] for p in page1["data"] + page2["data"]] == ["Sencha", "Matcha", "Pu'er"]
    assert page1["has_more"] is True and page2["has_more"] is False


@pytest.mark.parametrize(("params", "code"), [
    ({"price_min": "10"}, "validation_failed"),
    ({"price_min": "1.234", "currency": "CNY"}, "too_many_decimals"),
    ({"price_min": "ten", "currency": "CNY"}, "invalid_amount"),
    ({"sort": "cheapest"}, "parameter_invalid"),
    ({"category_id": 999}, "not_found"),
    ({"merchant": "nobody"}, "not_found"),
    ({"page_size": 500}, "parameter_invalid"),
])
def test_bad_list_parameters_are_4xx_with_a_code(anonymous, tea, params, code):
    r = anon_get(anonymous, "/catalog/products", **params)
    assert 400 <= r.status_code < 500
    assert r.json()["error"]["code"] == code


# --- staff writes ------------------------------------------------------------------------------
def test_merchant_staff_build_publish_and_picture_a_product(api_merchant, tea, merchant):
    r = api_merchant.post("/catalog/products", {"category_id": tea.pk, "name": "Longjing", "name_zh_hans": "龙井",
                                                 "description": "Spring tea"})
    assert r.status_code == 201, r.content
    product = r.json()
    assert (product["merchant"], product["status"], product["variants"]) == ("teahouse", "draft", [])
    pid = product["id"]
    r = api_merchant.post(f"/catalog/products/{pid}/publish")
    assert r.status_code == 409 and r.json()["error"]["code"] == "product_has_no_active_variant"
    r = api_merchant.post("/catalog/variants", {"product_id": pid, "sku": "LJ-50G", "price": "88.00",
                                                 "currency": "CNY", "specs": {"weight": "50 g"},
                                                 "level_prices": {"gold": "79.00"}})
    assert r.status_code == 201, r.content
    assert r.json()["level_prices"] == {"gold": "79.00"} and r.json()["price_minor"] == 8800
    assert api_merchant.post(f"/catalog/products/{pid}/publish").json()["is_published"] is True
    r = api_upload(api_merchant, f"/catalog/products/{pid}/images", picture((640, 480)), alt_text="The tin")
    assert r.status_code == 201, r.content
    assert r.json()["thumbnail_url"].endswith(".thumb.webp") and r.json()["width"] == 640
    listed = api_merchant.get("/catalog/products").json()["data"][0]
    assert listed["thumbnail_url"] == r.json()["thumbnail_url"]
    r = api_patch(api_merchant, f"/catalog/products/{pid}", {"name": "Dragon well"})
    assert r.status_code == 200 and r.json()["name"] == "Dragon well"
    assert api_merchant.post(f"/catalog/products/{pid}/unpublish").json()["status"] == "unpublished"


def test_bad_writes_are_4xx_with_codes_and_change_nothing(api_merchant, merchant, tea):
    product = make_product(merchant, tea, sku="TAKEN-1")
    cases = [
        ({"product_id": product.pk, "sku": "TAKEN-1", "price": "1.00", "currency": "CNY"}, 409, "duplicate_sku"),
        ({"product_id": product.pk, "sku": "bad sku", "price": "1.00", "currency": "CNY"}, 400, "invalid_sku"),
        ({"product_id": product.pk, "sku": "OK-2", "price": "-1.00", "currency": "CNY"}, 400, "invalid_price"),
        ({"product_id": product.pk, "sku": "OK-2", "price": 1.5, "currency": "CNY"}, 400, "float_not_allowed"),
        ({"product_id": product.pk, "sku": "OK-2", "price": "1.00", "currency": "XXY"}, 400, "unknown_currency"),
        ({"product_id": product.pk, "sku": "OK-2", "price": "1", "currency": "CNY", "specs": ["M"]}, 400,
         "invalid_specs"),
    ]
    for body, status, code in cases:
        r = api_merchant.post("/catalog/variants", body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), body
    assert Variant.objects.count() == 1
    r = api_upload(api_merchant, f"/catalog/products/{product.pk}/images", b"<svg/>", filename="x.svg")
    assert r.json()["error"]["code"] == "invalid_image"
    assert not ProductImage.objects.exists()


def test_categories_are_master_data_for_admins(api_admin, api_merchant, anonymous, tea):
    r = api_admin.post("/catalog/categories", {"name": "Green", "slug": "green", "parent_id": tea.pk})
    assert r.status_code == 201, r.content
    green = r.json()["id"]
    assert api_admin.post("/catalog/categories", {"name": "Dup", "slug": "green"}).json()["error"]["code"] == (
        "duplicate_slug")
    r = api_patch(api_admin, f"/catalog/categories/{tea.pk}", {"parent_id": green})
    assert r.json()["error"]["code"] == "category_cycle"
    r = api_patch(api_admin, f"/catalog/categories/{green}", {"parent_id": None})
    assert r.json()["parent_id"] is None
    assert api_merchant.post("/catalog/categories", {"name": "Mine", "slug": "mine"}).status_code == 403
    assert anon_get(anonymous, "/catalog/categories", roots_only="true").status_code == 200
    assert Category.objects.count() == 2


def test_read_only_roles_cannot_change_the_catalog(api_auditor, merchant, tea):
    product = make_product(merchant, tea, publish=False)
    assert api_auditor.get(f"/catalog/products/{product.pk}").json()["status"] == "draft"  # reads everything
    assert api_auditor.post(f"/catalog/products/{product.pk}/publish").status_code == 403
    assert api_patch(api_auditor, f"/catalog/products/{product.pk}", {"name": "x"}).status_code == 403


def test_an_admin_creates_products_for_a_named_merchant(api_admin, other_merchant, tea):
    r = api_admin.post("/catalog/products", {"category_id": tea.pk, "name": "House blend"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "merchant"
    r = api_admin.post("/catalog/products", {"category_id": tea.pk, "name": "House blend", "merchant": "noodles"})
    assert r.status_code == 201 and r.json()["merchant"] == "noodles"


def test_a_replayed_create_makes_one_product(api_merchant, tea):
    body = {"category_id": tea.pk, "name": "Once"}
    first = api_merchant.post("/catalog/products", body, idempotency_key="create-once")
    again = api_merchant.post("/catalog/products", body, idempotency_key="create-once")
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Product.objects.count() == 1


# --- merchant isolation: another merchant's product is a 404 on every endpoint ----------------------
def test_a_merchant_key_sees_and_changes_only_its_own_catalog(api_merchant, theirs, merchant, tea):
    mine = make_product(merchant, tea, "Mine", sku="MINE-1")
    pid, vid = theirs.pk, only_variant(theirs).pk
    listed = api_merchant.get("/catalog/products").json()["data"]
    assert [p["id"] for p in listed] == [mine.pk]
    assert api_merchant.get("/catalog/products", merchant="noodles").json()["data"] == listed  # cannot widen
    assert [v["sku"] for v in api_merchant.get("/catalog/variants").json()["data"]] == ["MINE-1"]
    assert api_merchant.get("/catalog/variants", sku="NT-1").json()["data"] == []
    calls = [
        api_merchant.get(f"/catalog/products/{pid}"),
        api_patch(api_merchant, f"/catalog/products/{pid}", {"name": "Hijacked"}),
        api_merchant.post(f"/catalog/products/{pid}/unpublish"),
        api_merchant.post(f"/catalog/products/{pid}/publish"),
        api_upload(api_merchant, f"/catalog/products/{pid}/images", picture()),
        api_merchant.get(f"/catalog/variants/{vid}"),
        api_merchant.post("/catalog/variants", {"product_id": pid, "sku": "X-1", "price": "1.00", "currency": "CNY"}),
        api_patch(api_merchant, f"/catalog/variants/{vid}", {"price": "0.01"}),
        api_merchant.post("/catalog/products", {"category_id": tea.pk, "name": "x", "merchant": "noodles"}),
    ]
    assert [r.status_code for r in calls] == [404] * len(calls), [r.content for r in calls]
    theirs.refresh_from_db()
    assert (theirs.name, theirs.status, theirs.images.count()) == ("Noodle tea", "published", 0)
    assert Variant.objects.get(pk=vid).price_minor == 1200
    assert not Variant.objects.filter(sku="X-1").exists()


def test_the_openapi_spec_marks_storefront_reads_as_open_to_anonymous_callers(anonymous):
    spec = anonymous.get("/api/v1/openapi.json").json()
    assert {} in spec["paths"]["/api/v1/catalog/products"]["get"]["security"]
    assert {} not in spec["paths"]["/api/v1/catalog/products"]["post"]["security"]
    assert {} not in spec["paths"]["/api/v1/inventory/stock"]["get"]["security"]
