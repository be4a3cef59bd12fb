"""Catalog rules without a database: product states, SKUs, specs, prices, the category tree."""

from __future__ import annotations

import pytest

from clearhouse.catalog.domain import (
    TRANSITIONS,
    CategoryCycle,
    InvalidMemberLevel,
    InvalidPrice,
    InvalidSku,
    InvalidSpecs,
    ProductNotPublishable,
    ProductStatus,
    check_category_parent,
    check_member_level,
    check_price,
    check_publishable,
    check_sku,
    check_transition,
    descendant_ids,
    normalise_specs,
)
from clearhouse.core.errors import InvalidTransition
from clearhouse.core.money import Money


def test_a_draft_can_only_be_published_and_a_published_product_only_withdrawn():
    assert TRANSITIONS[ProductStatus.DRAFT] == {ProductStatus.PUBLISHED}
    assert TRANSITIONS[ProductStatus.PUBLISHED] == {ProductStatus.UNPUBLISHED}
    assert TRANSITIONS[ProductStatus.UNPUBLISHED] == {ProductStatus.PUBLISHED}
    assert check_transition("draft", "published") == ProductStatus.PUBLISHED


@pytest.mark.parametrize(("current", "to"), [("draft", "unpublished"), ("published", "published"),
                                             ("unpublished", "unpublished"), ("published", "draft")])
def test_other_state_changes_are_refused(current, to):
    with pytest.raises(InvalidTransition) as exc:
        check_transition(current, to)
    assert exc.value.code == "invalid_transition"


def test_publishing_needs_an_active_variant():
    check_publishable(active_variant_count=1)
    with pytest.raises(ProductNotPublishable) as exc:
        check_publishable(active_variant_count=0)
    assert exc.value.code == "product_has_no_active_variant" and exc.value.http_status == 409


@pytest.mark.parametrize("sku", ["TEA-1", "a", "x.y_z-9", "A" * 64, "  TEA-2  "])
def test_plain_sku_codes_are_accepted(sku):
    assert check_sku(sku) == sku.strip()


@pytest.mark.parametrize("sku", ["", " ", "-lead", "has space", "slash/sku", "A" * 65, "茶", None, 12])
def test_sku_codes_that_would_break_urls_or_labels_are_refused(sku):
    with pytest.raises(InvalidSku):
        check_sku(sku)


def test_specs_are_a_flat_map_of_text():
    assert normalise_specs({"size": " M ", "colour": "red", "width_cm": 40}) == {
        "size": "M", "colour": "red", "width_cm": "40"}
    assert normalise_specs(None) == {}


@pytest.mark.parametrize("specs", [["size", "M"], {"size": {"eu": 40}}, {"size": ""}, {"": "M"},
                                   {"size": True}, {"size": 1.5}, {f"k{i}": "v" for i in range(21)},
                                   {"size": "x" * 101}])
def test_malformed_specs_are_refused(specs):
    with pytest.raises(InvalidSpecs):
        normalise_specs(specs)


def test_prices_cannot_be_negative():
    assert check_price(Money(0, "CNY")) == Money(0, "CNY")
    with pytest.raises(InvalidPrice) as exc:
        check_price(Money(-1, "CNY"))
    assert exc.value.code == "invalid_price"


def test_member_level_codes_are_lowercase_slugs():
    assert check_member_level("gold") == "gold"
    for bad in ["Gold", "", "a b", None, "x" * 51]:
        with pytest.raises(InvalidMemberLevel):
            check_member_level(bad)


TREE = {1: None, 2: 1, 3: 2, 4: 1, 5: None}  # 1 > 2 > 3, 1 > 4, 5


def test_descendants_include_the_category_and_everything_below_it():
    assert descendant_ids(1, TREE) == {1, 2, 3, 4}
    assert descendant_ids(2, TREE) == {2, 3}
    assert descendant_ids(5, TREE) == {5}


def test_a_damaged_tree_with_a_loop_still_terminates():
    assert descendant_ids(1, {1: 2, 2: 1}) == {1, 2}


def test_a_category_cannot_move_below_itself_or_its_descendants():
    check_category_parent(2, 4, TREE)
    check_category_parent(2, None, TREE)
    check_category_parent(None, 3, TREE)
    for parent in (1, 2, 3):
        with pytest.raises(CategoryCycle) as exc:
            check_category_parent(1, parent, TREE)
        assert exc.value.param == "parent_id"
