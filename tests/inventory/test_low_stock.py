"""Low stock: one alert when availability drops to the threshold, not one per sale; re-armed on restock."""

from __future__ import annotations

import pytest

from clearhouse.inventory.domain import InvalidQuantity
from clearhouse.inventory.models import LowStockAlert, StockItem
from clearhouse.inventory.selectors import low_stock_alert_list
from clearhouse.inventory.services import (
    stock_adjust,
    stock_commit,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_threshold_set,
)


@pytest.fixture
def watched(sku):
    stock_receive(variant_id=sku.pk, quantity=10)
    stock_threshold_set(variant_id=sku.pk, threshold=3)
    return sku


def open_alerts(variant) -> list[tuple[int, int]]:
    return list(LowStockAlert.objects.filter(variant=variant, resolved_at__isnull=True).values_list(
        "available", "threshold"))


def test_crossing_the_threshold_raises_one_alert_however_many_sales_follow(watched):
    stock_reserve(lines=[(watched.pk, 6)], reference="SO-1")  # 4 left: above
    assert open_alerts(watched) == []
    stock_reserve(lines=[(watched.pk, 1)], reference="SO-2")  # 3 left: at the threshold
    assert open_alerts(watched) == [(3, 3)]
    stock_reserve(lines=[(watched.pk, 2)], reference="SO-3")
    stock_commit(reference="SO-3")
    stock_adjust(variant_id=watched.pk, quantity=-1, note="broken")
    assert LowStockAlert.objects.count() == 1
    assert StockItem.objects.get(variant=watched).low_stock


def test_restocking_above_the_threshold_resolves_the_alert_and_rearms(watched):
    stock_reserve(lines=[(watched.pk, 8)], reference="SO-1")
    assert len(open_alerts(watched)) == 1
    stock_release(reference="SO-1")  # back to 10 available
    assert open_alerts(watched) == []
    assert LowStockAlert.objects.get().resolved_at is not None
    stock_reserve(lines=[(watched.pk, 9)], reference="SO-2")
    assert open_alerts(watched) == [(1, 3)]
    assert LowStockAlert.objects.count() == 2


def test_a_threshold_raised_above_availability_alerts_at_once(watched):
    stock_threshold_set(variant_id=watched.pk, threshold=10)
    assert open_alerts(watched) == [(10, 10)]
    stock_threshold_set(variant_id=watched.pk, threshold=10)
    assert LowStockAlert.objects.count() == 1


def test_the_default_threshold_alerts_when_sold_out(sku):
    stock_receive(variant_id=sku.pk, quantity=2)
    stock_reserve(lines=[(sku.pk, 1)], reference="SO-1")
    assert open_alerts(sku) == []
    stock_reserve(lines=[(sku.pk, 1)], reference="SO-2")
    assert open_alerts(sku) == [(0, 0)]


def test_a_threshold_set_on_a_sku_without_stock_alerts_at_once(sku):
    stock_threshold_set(variant_id=sku.pk, threshold=3)
    assert open_alerts(sku) == [(0, 3)]
    stock_receive(variant_id=sku.pk, quantity=10)
    assert open_alerts(sku) == []


def test_a_bad_threshold_is_refused(sku):
    for bad in (-1, 1.5, "3", None):
        with pytest.raises(InvalidQuantity):
            stock_threshold_set(variant_id=sku.pk, threshold=bad)


def test_merchant_staff_see_only_their_merchants_alerts(watched, their_sku, merchant, other_merchant):
    stock_receive(variant_id=their_sku.pk, quantity=1)
    stock_reserve(lines=[(their_sku.pk, 1)], reference="SO-9")
    stock_reserve(lines=[(watched.pk, 8)], reference="SO-1")
    assert [a.variant_id for a in low_stock_alert_list(merchant_id=merchant.pk)] == [watched.pk]
    assert [a.variant_id for a in low_stock_alert_list(merchant_id=other_merchant.pk)] == [their_sku.pk]
    assert len(low_stock_alert_list()) == 2
    stock_release(reference="SO-1")
    assert list(low_stock_alert_list(merchant_id=merchant.pk)) == []
    assert len(low_stock_alert_list(merchant_id=merchant.pk, include_resolved=True)) == 1
