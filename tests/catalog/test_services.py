"""Catalog writes: categories, products and their states, variants and level prices, pictures."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from clearhouse.catalog import services
from clearhouse.catalog.domain import (
    CategoryCycle,
    DuplicateSku,
    DuplicateSlug,
    InvalidImage,
    InvalidSpecs,
    ProductNotPublishable,
    ProductStatus,
)
from clearhouse.catalog.models import Category, ProductImage, ProductStatusChange, Variant, VariantLevelPrice
from clearhouse.catalog.selectors import variant_price
from clearhouse.core.audit import audit_chain_verify
from clearhouse.core.errors import CurrencyMismatch, InvalidTransition, ValidationFailed
from clearhouse.core.models import AuditEvent
from clearhouse.core.money import Money
from tests.catalog.support import make_category, make_product, only_variant, picture

CNY = "CNY"


# --- categories ------------------------------------------------------------------------------
def test_categories_form_a_tree_and_slugs_are_unique(tea):
    green = make_category("Green", parent=tea)
    assert green.parent == tea and list(tea.children.all()) == [green]
    with pytest.raises(DuplicateSlug) as exc:
        make_category("Green again", slug="green")
    assert exc.value.http_status == 409
    assert Category.objects.count() == 2


def test_a_category_moves_but_never_below_its_own_descendant(tea):
    green = make_category("Green", parent=tea)
    sencha = make_category("Sencha", parent=green)
    with pytest.raises(CategoryCycle):
        services.category_update(category=tea, parent=sencha)
    tea.refresh_from_db()
    assert tea.parent is None
    services.category_update(category=sencha, parent=None, name="Sencha tea")
    sencha.refresh_from_db()
    assert (sencha.parent, sencha.name) == (None, "Sencha tea")


def test_a_category_needs_a_name(db):
    with pytest.raises(ValidationFailed) as exc:
        services.category_create(name="  ", slug="x")
    assert exc.value.param == "name"


# --- products and their states ---------------------------------------------------------------
def test_a_new_product_is_a_draft_hidden_from_shoppers(merchant, tea):
    product = services.product_create(merchant=merchant, category=tea, name="Longjing")
    assert product.status == ProductStatus.DRAFT and not product.is_published
    assert product.sales_volume == 0


def test_publishing_needs_an_active_variant_and_is_recorded(merchant, tea):
    product = services.product_create(merchant=merchant, category=tea, name="Longjing")
    with pytest.raises(ProductNotPublishable):
        services.product_publish(product=product)
    services.variant_create(product=product, sku="LJ-1", price=Money(8800, CNY))
    services.product_publish(product=product, actor="user:1 mia")
    product.refresh_from_db()
    assert product.is_published and product.published_at is not None
    services.product_unpublish(product=product)
    product.refresh_from_db()
    assert product.status == ProductStatus.UNPUBLISHED
    changes = list(ProductStatusChange.objects.values_list("from_status", "to_status", "actor"))
    assert changes == [("draft", "published", "user:1 mia"), ("published", "unpublished", "system")]
    assert audit_chain_verify() == []
    assert AuditEvent.objects.filter(action="catalog.product_published", object_id=str(product.pk)).exists()


def test_publishing_twice_is_an_invalid_transition(merchant, tea):
    product = make_product(merchant, tea)
    with pytest.raises(InvalidTransition):
        services.product_publish(product=product)
    assert ProductStatusChange.objects.filter(product=product).count() == 1


def test_product_update_changes_only_what_is_given(merchant, tea):
    product = make_product(merchant, tea, description="old")
    coffee = make_category("Coffee")
    services.product_update(product=product, name="Dragon well", category=coffee)
    product.refresh_from_db()
    assert (product.name, product.category, product.description) == ("Dragon well", coffee, "old")


def test_sales_are_counted_without_reading_first(merchant, tea):
    product = make_product(merchant, tea)
    services.product_sales_record(product_id=product.pk, quantity=3)
    services.product_sales_record(product_id=product.pk, quantity=2)
    product.refresh_from_db()
    assert product.sales_volume == 5
    with pytest.raises(ValidationFailed):
        services.product_sales_record(product_id=product.pk, quantity=0)


# --- variants and prices -----------------------------------------------------------------------
def test_a_variant_has_specs_a_price_and_the_products_merchant(merchant, tea):
    product = make_product(merchant, tea, publish=False)
    variant = services.variant_create(product=product, sku="TEA-M-RED", price=Money.parse("19.90", CNY),
                                      specs={"size": "M", "colour": "red", "material": "cotton"})
    assert variant.merchant_id == merchant.pk
    assert (variant.price_minor, variant.currency, variant.specs["material"]) == (1990, CNY, "cotton")


def test_sku_codes_are_unique_across_merchants(merchant, other_merchant, tea):
    make_product(merchant, tea, sku="SHARED-1")
    theirs = make_product(other_merchant, tea, publish=False)
    with pytest.raises(DuplicateSku):
        services.variant_create(product=theirs, sku="SHARED-1", price=Money(100, CNY))
    with pytest.raises(InvalidSpecs):
        services.variant_create(product=theirs, sku="OK-1", price=Money(100, CNY), specs={"size": ""})
    assert not Variant.objects.filter(product=theirs, sku__in=["SHARED-1", "OK-1"]).exists()


def test_member_level_prices_apply_to_their_level_only(merchant, tea):
    variant = only_variant(make_product(merchant, tea, price="20.00"))
    services.variant_update(variant=variant, level_prices={"gold": Money(1800, CNY), "silver": Money(1900, CNY)})
    assert variant_price(variant=variant, member_level_code="gold").price == Money(1800, CNY)
    assert variant_price(variant=variant, member_level_code="bronze").price == Money(2000, CNY)
    assert variant_price(variant=variant).member_level_code is None
    services.variant_update(variant=variant, level_prices={"gold": None})
    assert list(VariantLevelPrice.objects.values_list("member_level_code", flat=True)) == ["silver"]


def test_prices_keep_the_variants_currency(merchant, tea):
    variant = only_variant(make_product(merchant, tea, price="20.00"))
    with pytest.raises(CurrencyMismatch):
        services.variant_update(variant=variant, price=Money(100, "USD"))
    with pytest.raises(CurrencyMismatch):
        services.variant_update(variant=variant, level_prices={"gold": Money(100, "USD")})
    variant.refresh_from_db()
    assert variant.price_minor == 2000


def test_the_last_active_variant_of_a_published_product_cannot_be_switched_off(merchant, tea):
    product = make_product(merchant, tea)
    variant = only_variant(product)
    with pytest.raises(ProductNotPublishable):
        services.variant_update(variant=variant, is_active=False)
    services.product_unpublish(product=product)
    variant.refresh_from_db()
    services.variant_update(variant=variant, is_active=False)
    variant.refresh_from_db()
    assert not variant.is_active


# --- pictures ----------------------------------------------------------------------------------
def test_an_added_picture_is_stored_with_its_thumbnail_in_order(merchant, tea):
    product = make_product(merchant, tea)
    first = services.product_image_add(product=product, data=picture((900, 600), fmt="JPEG"), alt_text="Tin")
    second = services.product_image_add(product=product, data=picture((300, 300)))
    assert (first.position, second.position) == (0, 1)
    assert (first.width, first.height, first.merchant_id) == (900, 600, merchant.pk)
    assert first.image.name.endswith(".jpg") and first.thumbnail.name.endswith(".thumb.webp")
    with first.thumbnail.open("rb") as f:
        thumb = Image.open(io.BytesIO(f.read()))
    assert thumb.format == "WEBP" and max(thumb.size) == 320
    assert list(product.images.all()) == [first, second]


def test_a_broken_picture_leaves_nothing_behind(merchant, tea, settings):
    product = make_product(merchant, tea)
    with pytest.raises(InvalidImage):
        services.product_image_add(product=product, data=b"GIF89a but not really")
    assert not ProductImage.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
