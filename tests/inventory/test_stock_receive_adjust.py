"""Receiving and adjusting stock: counters move, the log records it, bad input changes nothing."""

from __future__ import annotations

import pytest

from clearhouse.core.models import AuditEvent
from clearhouse.inventory.domain import InsufficientStock, InvalidQuantity, UnknownSku
from clearhouse.inventory.models import StockItem, StockMovement
from clearhouse.inventory.services import stock_adjust, stock_receive, stock_reserve
from tests.inventory.support import counters, log_totals


def test_receiving_adds_to_on_hand_and_logs_the_movement(sku):
    item = stock_receive(variant_id=sku.pk, quantity=10, reference_type="purchase_order", reference_id="PO-1",
                         actor="user:7 mia")
    stock_receive(variant_id=sku.pk, quantity=5)
    assert (item.on_hand, item.reserved, item.merchant_id) == (10, 0, sku.merchant_id)
    assert counters(sku) == (15, 0)
    first = StockMovement.objects.filter(variant=sku).order_by("id").first()
    assert (first.kind, first.quantity, first.reference_id, first.actor) == ("receive", 10, "PO-1", "user:7 mia")
    assert log_totals(sku) == (15, 0)


def test_adjusting_corrects_on_hand_both_ways_and_is_audited(sku):
    stock_receive(variant_id=sku.pk, quantity=10)
    stock_adjust(variant_id=sku.pk, quantity=-3, note="count on 23 Nov")
    stock_adjust(variant_id=sku.pk, quantity=1, note="found one")
    assert counters(sku) == (8, 0)
    assert log_totals(sku) == (8, 0)
    assert AuditEvent.objects.filter(action="inventory.stock_adjusted").count() == 2


def test_an_adjustment_cannot_take_away_reserved_units(sku):
    stock_receive(variant_id=sku.pk, quantity=5)
    stock_reserve(lines=[(sku.pk, 3)], reference="SO-1")
    with pytest.raises(InsufficientStock) as exc:
        stock_adjust(variant_id=sku.pk, quantity=-3, note="breakage")
    assert exc.value.code == "insufficient_stock" and exc.value.param == "quantity"
    assert counters(sku) == (5, 3)
    stock_adjust(variant_id=sku.pk, quantity=-2, note="breakage")
    assert counters(sku) == (3, 3)


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "3", True])
def test_a_bad_receipt_quantity_changes_nothing(sku, quantity):
    stock_receive(variant_id=sku.pk, quantity=4)
    with pytest.raises(InvalidQuantity):
        stock_receive(variant_id=sku.pk, quantity=quantity)
    assert counters(sku) == (4, 0)
    assert StockMovement.objects.count() == 1


def test_an_unknown_sku_changes_nothing(db, sku):
    for bad in (999_999, "TEA-1", None):
        with pytest.raises(UnknownSku) as exc:
            stock_receive(variant_id=bad, quantity=1)
        assert exc.value.code == "unknown_sku" and exc.value.http_status == 404
    with pytest.raises(UnknownSku):
        stock_adjust(variant_id=999_999, quantity=1)
    assert not StockItem.objects.exists() and not StockMovement.objects.exists()


def test_an_adjustment_below_zero_of_a_sku_never_stocked_is_refused(sku):
    with pytest.raises(InsufficientStock):
        stock_adjust(variant_id=sku.pk, quantity=-1, note="?")
    assert counters(sku) == (0, 0)
