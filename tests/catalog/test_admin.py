"""The Django admin for catalog master data: pages render; state changes go through the services."""

from __future__ import annotations

import pytest
from django.test import Client

from clearhouse.catalog.models import ProductStatusChange
from tests.catalog.support import make_product

try:  # a verified second factor, where the admin pages ask for one
    from tests.conftest import login_verified
except ImportError:  # pragma: no cover
    def login_verified(client, user):
        client.force_login(user)


@pytest.fixture
def admin_client_verified(admin_user):
    client = Client()
    login_verified(client, admin_user)
    return client


@pytest.mark.parametrize("path", ["catalog/category/", "catalog/product/", "catalog/product/add/",
                                  "catalog/category/add/", "inventory/stockitem/", "inventory/lowstockalert/"])
def test_admin_pages_render(admin_client_verified, tea, path):
    assert admin_client_verified.get(f"/admin/{path}").status_code == 200


def test_a_product_page_shows_its_variants_and_pictures(admin_client_verified, merchant, tea):
    product = make_product(merchant, tea, sku="ADMIN-1")
    r = admin_client_verified.get(f"/admin/catalog/product/{product.pk}/change/")
    assert r.status_code == 200 and b"ADMIN-1" in r.content


def test_the_publish_action_goes_through_the_service(admin_client_verified, merchant, tea):
    product = make_product(merchant, tea, publish=False)
    empty = make_product(merchant, tea, "Empty", publish=False)
    empty.variants.all().delete()
    r = admin_client_verified.post("/admin/catalog/product/", {
        "action": "publish", "_selected_action": [product.pk, empty.pk]}, follow=True)
    assert r.status_code == 200
    product.refresh_from_db()
    empty.refresh_from_db()
    assert product.is_published and not empty.is_published
    assert ProductStatusChange.objects.filter(product=product, to_status="published").count() == 1
    assert b"active variant" in r.content


def test_a_variant_and_a_picture_added_in_the_admin_get_the_merchant_key_and_a_thumbnail(
        admin_client_verified, merchant, tea):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.catalog.support import picture

    product = make_product(merchant, tea, sku="ADMIN-1", publish=False)
    existing = product.variants.get()
    form = {
        "merchant": merchant.pk, "category": tea.pk, "name": product.name, "name_zh_hans": "", "description": "",
        "variants-TOTAL_FORMS": 2, "variants-INITIAL_FORMS": 1, "variants-MIN_NUM_FORMS": 0,
        "variants-MAX_NUM_FORMS": 1000,
        "variants-0-id": existing.pk, "variants-0-product": product.pk, "variants-0-sku": "ADMIN-1",
        "variants-0-specs": "{}", "variants-0-price_minor": 1000, "variants-0-currency": "CNY",
        "variants-0-is_active": "on",
        "variants-1-product": product.pk, "variants-1-sku": "ADMIN-2", "variants-1-specs": '{"size": "L"}',
        "variants-1-price_minor": 1200, "variants-1-currency": "CNY", "variants-1-is_active": "on",
        "images-TOTAL_FORMS": 1, "images-INITIAL_FORMS": 0, "images-MIN_NUM_FORMS": 0, "images-MAX_NUM_FORMS": 1000,
        "images-0-product": product.pk, "images-0-image": SimpleUploadedFile("p.png", picture((500, 400))),
        "images-0-alt_text": "front", "images-0-position": 0,
    }
    r = admin_client_verified.post(f"/admin/catalog/product/{product.pk}/change/", form)
    assert r.status_code == 302, r.content.decode()[:3000]
    added = product.variants.get(sku="ADMIN-2")
    assert (added.merchant_id, added.specs) == (merchant.pk, {"size": "L"})
    image = product.images.get()
    assert image.thumbnail.name.endswith(".thumb.webp") and (image.width, image.merchant_id) == (500, merchant.pk)


def test_the_admin_refuses_a_malformed_sku(admin_client_verified, merchant, tea):
    product = make_product(merchant, tea, sku="ADMIN-1", publish=False)
    existing = product.variants.get()
    form = {
        "merchant": merchant.pk, "category": tea.pk, "name": product.name,
        "variants-TOTAL_FORMS": 1, "variants-INITIAL_FORMS": 1, "variants-MIN_NUM_FORMS": 0,
        "variants-MAX_NUM_FORMS": 1000, "variants-0-id": existing.pk, "variants-0-product": product.pk,
        "variants-0-sku": "bad sku", "variants-0-specs": "{}", "variants-0-price_minor": 1000,
        "variants-0-currency": "CNY",
        "images-TOTAL_FORMS": 0, "images-INITIAL_FORMS": 0, "images-MIN_NUM_FORMS": 0, "images-MAX_NUM_FORMS": 1000,
    }
    r = admin_client_verified.post(f"/admin/catalog/product/{product.pk}/change/", form)
    assert r.status_code == 200 and b"SKU codes are" in r.content
    existing.refresh_from_db()
    assert existing.sku == "ADMIN-1"
