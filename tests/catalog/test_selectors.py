"""Catalog reads: search, filters, sort and scoping. Run on SQLite and on PostgreSQL (full-text)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from clearhouse.catalog import selectors, services
from clearhouse.catalog.domain import ProductSort, UnknownSku
from clearhouse.catalog.models import Product
from clearhouse.core.errors import NotFound, ValidationFailed
from clearhouse.core.money import Money
from clearhouse.inventory.selectors import in_stock_variant_ids
from clearhouse.inventory.services import stock_reserve
from tests.catalog.support import make_category, make_product, only_variant


@pytest.fixture
def shelf(merchant, other_merchant, tea):
    """Five products over a small tree: tea > green tea, plus coffee; two merchants."""
    green = make_category("Green tea", slug="green-tea", parent=tea, name_zh_hans="绿茶")
    coffee = make_category("Coffee")
    products = {
        "longjing": make_product(merchant, green, "Longjing dragon well", price="88.00", stock=5,
                                 name_zh_hans="西湖龙井", description="Hand-roasted spring leaves."),
        "sencha": make_product(merchant, green, "Sencha", price="35.00", stock=0,
                               description="Steamed Japanese green tea with grassy notes."),
        "puer": make_product(merchant, tea, "Pu'er cake", price="120.00", stock=2, description="Aged and fermented."),
        "espresso": make_product(other_merchant, coffee, "Espresso beans", price="60.00", stock=9,
                                 description="Dark roasted coffee beans."),
        "draft": make_product(merchant, green, "Secret green blend", price="10.00", publish=False, stock=1),
    }
    # Distinct creation times and sales, so sort orders are unambiguous.
    now = timezone.now()
    for i, key in enumerate(["longjing", "sencha", "puer", "espresso", "draft"]):
        Product.objects.filter(pk=products[key].pk).update(created_at=now - timedelta(days=10 - i),
                                                           sales_volume=[7, 30, 1, 12, 0][i])
    return {"green": green, "coffee": coffee, **products}


def names(qs) -> list[str]:
    return [p.name for p in qs]


def test_shoppers_see_published_products_newest_first(shelf):
    assert names(selectors.product_list()) == ["Espresso beans", "Pu'er cake", "Sencha", "Longjing dragon well"]


def test_staff_also_see_drafts_of_their_own_merchant_only(shelf, merchant):
    assert names(selectors.product_list(merchant_id=merchant.pk, published_only=False)) == [
        "Secret green blend", "Pu'er cake", "Sencha", "Longjing dragon well"]


@pytest.mark.parametrize(("text", "expected"), [
    ("sencha", ["Sencha"]),
    ("green tea", ["Sencha"]),  # every word, in name or description
    ("roasted", ["Espresso beans", "Longjing dragon well"]),
    ("龙井", ["Longjing dragon well"]),  # a part of a Chinese name
    ("nothing like this", []),
])
def test_search_by_text_in_names_and_descriptions(shelf, text, expected):
    assert sorted(names(selectors.product_list(text=text))) == sorted(expected)


def test_search_finds_a_product_by_its_sku(shelf):
    sku = only_variant(shelf["puer"]).sku
    assert names(selectors.product_list(text=sku)) == ["Pu'er cake"]


def test_search_ranks_name_matches_above_description_matches(shelf, merchant, tea):
    make_product(merchant, tea, "Roasted oolong", price="50.00", description="A tea.")
    assert names(selectors.product_list(text="roasted"))[0] == "Roasted oolong"


def test_search_with_query_syntax_characters_is_not_an_error(shelf):
    assert names(selectors.product_list(text="'dragon & | ! (well:* \"")) in ([], ["Longjing dragon well"])


@pytest.mark.postgres_only
def test_full_text_search_on_postgresql_matches_word_forms_and_web_syntax(shelf, vendor):
    assert vendor == "postgresql"
    # "roasting" and "roasted" share the stem "roast": a substring match would find neither.
    assert sorted(names(selectors.product_list(text="roasting"))) == ["Espresso beans", "Longjing dragon well"]
    assert names(selectors.product_list(text="roasted -coffee")) == ["Longjing dragon well"]  # minus excludes
    assert names(selectors.product_list(text='"green tea"')) == ["Sencha"]  # a quoted phrase


def test_search_text_is_bounded(shelf):
    with pytest.raises(ValidationFailed):
        list(selectors.product_list(text="x" * 201))


def test_a_category_filter_includes_its_descendants(shelf, tea):
    assert sorted(names(selectors.product_list(category_id=tea.pk))) == [
        "Longjing dragon well", "Pu'er cake", "Sencha"]
    assert sorted(names(selectors.product_list(category_id=shelf["green"].pk))) == ["Longjing dragon well", "Sencha"]


def test_price_range_filter_is_inclusive_and_in_one_currency(shelf, merchant, tea):
    make_product(merchant, tea, "Imported tea", price="50.00", currency="USD")
    in_range = selectors.product_list(price_min=Money(3500, "CNY"), price_max=Money(8800, "CNY"))
    assert sorted(names(in_range)) == ["Espresso beans", "Longjing dragon well", "Sencha"]
    assert names(selectors.product_list(price_min=Money(10000, "CNY"))) == ["Pu'er cake"]
    assert names(selectors.product_list(price_max=Money(5000, "USD"))) == ["Imported tea"]
    with pytest.raises(ValidationFailed):
        selectors.product_list(price_min=Money(1, "CNY"), price_max=Money(2, "USD"))


def test_in_stock_filter_counts_reserved_units_as_gone(shelf):
    in_stock = names(selectors.product_list(in_stock_variants=in_stock_variant_ids()))
    assert sorted(in_stock) == ["Espresso beans", "Longjing dragon well", "Pu'er cake"]
    stock_reserve(lines=[(only_variant(shelf["puer"]).pk, 2)], reference="SO-1")
    in_stock = names(selectors.product_list(in_stock_variants=in_stock_variant_ids()))
    assert "Pu'er cake" not in in_stock


def test_merchant_filter(shelf, other_merchant):
    assert names(selectors.product_list(merchant_id=other_merchant.pk)) == ["Espresso beans"]


@pytest.mark.parametrize(("sort", "expected"), [
    (ProductSort.PRICE_ASC, ["Sencha", "Espresso beans", "Longjing dragon well", "Pu'er cake"]),
    (ProductSort.PRICE_DESC, ["Pu'er cake", "Longjing dragon well", "Espresso beans", "Sencha"]),
    (ProductSort.SALES, ["Sencha", "Espresso beans", "Longjing dragon well", "Pu'er cake"]),
    (ProductSort.NEWEST, ["Espresso beans", "Pu'er cake", "Sencha", "Longjing dragon well"]),
])
def test_sort_orders(shelf, sort, expected):
    assert names(selectors.product_list(sort=sort)) == expected


def test_price_sort_uses_the_cheapest_active_variant(shelf):
    services.variant_create(product=shelf["puer"], sku="PUER-MINI", price=Money(100, "CNY"))
    assert names(selectors.product_list(sort=ProductSort.PRICE_ASC))[0] == "Pu'er cake"
    product = selectors.product_get(product_id=shelf["puer"].pk)
    assert (product.price_from_minor, product.price_from_currency) == (100, "CNY")


def test_filters_combine(shelf, tea):
    qs = selectors.product_list(text="tea", category_id=tea.pk, in_stock_variants=in_stock_variant_ids(),
                                price_max=Money(10000, "CNY"), sort=ProductSort.PRICE_ASC)
    assert names(qs) == []  # sencha matches "tea" but has no stock
    qs = selectors.product_list(text="leaves", category_id=tea.pk, in_stock_variants=in_stock_variant_ids())
    assert names(qs) == ["Longjing dragon well"]


def test_another_merchants_product_or_a_draft_is_not_found(shelf, other_merchant):
    with pytest.raises(NotFound):
        selectors.product_get(product_id=shelf["longjing"].pk, merchant_id=other_merchant.pk)
    with pytest.raises(NotFound):
        selectors.product_get(product_id=shelf["draft"].pk, published_only=True)
    with pytest.raises(UnknownSku) as exc:
        selectors.variant_get(variant_id=only_variant(shelf["longjing"]).pk, merchant_id=other_merchant.pk)
    assert exc.value.code == "unknown_sku" and exc.value.http_status == 404


def test_shoppers_do_not_see_inactive_variants(shelf):
    product = shelf["longjing"]
    hidden = services.variant_create(product=product, sku="LJ-OLD", price=Money(1, "CNY"), is_active=False)
    visible = selectors.variants_of(product_ids=[product.pk], published_only=True)[product.pk]
    assert hidden not in visible and len(visible) == 1
    assert selectors.variant_get_by_sku(sku="LJ-OLD").pk == hidden.pk
    with pytest.raises(UnknownSku):
        selectors.variant_get_by_sku(sku="LJ-OLD", published_only=True)
