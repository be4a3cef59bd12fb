"""Stock reads: levels (zero before the first receipt), the log, merchant scoping."""

from __future__ import annotations

import pytest

from clearhouse.inventory.domain import UnknownSku
from clearhouse.inventory.selectors import available_of, movement_list, stock_get, stock_level_of, stock_list
from clearhouse.inventory.services import stock_receive, stock_reserve


def test_a_sku_that_never_received_stock_reads_as_zero(sku):
    level = stock_get(variant_id=sku.pk)
    assert (level.on_hand, level.reserved, level.available, level.low_stock) == (0, 0, 0, False)
    assert available_of(variant_ids=[sku.pk]) == {sku.pk: 0}


def test_levels_show_available_units(sku, sku2):
    stock_receive(variant_id=sku.pk, quantity=5)
    stock_reserve(lines=[(sku.pk, 2)], reference="SO-1")
    level = stock_get(variant_id=sku.pk)
    assert (level.on_hand, level.reserved, level.available, level.sku) == (5, 2, 3, "TEA-1")
    assert available_of(variant_ids=[sku.pk, sku2.pk]) == {sku.pk: 3, sku2.pk: 0}
    assert [stock_level_of(v).available for v in stock_list(merchant_id=sku.merchant_id)] == [3, 0]


def test_another_merchants_sku_is_unknown(sku, their_sku, merchant):
    with pytest.raises(UnknownSku):
        stock_get(variant_id=their_sku.pk, merchant_id=merchant.pk)
    with pytest.raises(UnknownSku):
        movement_list(variant_id=their_sku.pk, merchant_id=merchant.pk)
    assert [v.pk for v in stock_list(merchant_id=merchant.pk)] == [sku.pk]


def test_the_log_is_newest_first(sku):
    stock_receive(variant_id=sku.pk, quantity=5)
    stock_reserve(lines=[(sku.pk, 2)], reference="SO-1")
    assert [m.kind for m in movement_list(variant_id=sku.pk)] == ["reserve", "receive"]
