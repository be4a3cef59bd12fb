"""Holding stock for the several orders of one checkout: every hold or none."""

from __future__ import annotations

import pytest

from clearhouse.core.errors import DomainError
from clearhouse.inventory.models import Reservation, StockMovement
from clearhouse.inventory.services import stock_receive, stock_reserve_many
from tests.inventory.support import counters


def test_each_reference_holds_its_lines(sku, sku2, their_sku):
    for variant in (sku, sku2, their_sku):
        stock_receive(variant_id=variant.pk, quantity=5)
    held = stock_reserve_many(holds={"SO-1": [(sku2.pk, 2), (sku.pk, 1)], "SO-2": [(their_sku.pk, 3)]})
    assert sorted((r.variant_id, r.quantity) for r in held["SO-1"]) == sorted([(sku.pk, 1), (sku2.pk, 2)])
    assert [(r.variant_id, r.quantity) for r in held["SO-2"]] == [(their_sku.pk, 3)]
    assert counters(sku) == (5, 1) and counters(sku2) == (5, 2) and counters(their_sku) == (5, 3)
    assert StockMovement.objects.filter(kind="reserve").count() == 3


def test_one_short_line_holds_nothing_for_any_reference(sku, their_sku):
    stock_receive(variant_id=sku.pk, quantity=5)
    stock_receive(variant_id=their_sku.pk, quantity=1)
    with pytest.raises(DomainError) as caught:
        stock_reserve_many(holds={"SO-1": [(sku.pk, 2)], "SO-2": [(their_sku.pk, 2)]})
    assert caught.value.code == "insufficient_stock"
    assert counters(sku) == (5, 0) and counters(their_sku) == (1, 0)
    assert not Reservation.objects.exists()


def test_a_sku_in_two_holds_or_a_reference_already_holding_is_refused(sku):
    stock_receive(variant_id=sku.pk, quantity=5)
    with pytest.raises(DomainError) as caught:
        stock_reserve_many(holds={"SO-1": [(sku.pk, 1)], "SO-2": [(sku.pk, 1)]})
    assert caught.value.code == "validation_failed"
    stock_reserve_many(holds={"SO-1": [(sku.pk, 1)]})
    with pytest.raises(DomainError) as caught:
        stock_reserve_many(holds={"SO-1": [(sku.pk, 1)]})
    assert caught.value.code == "reservation_exists"
    assert counters(sku) == (5, 1)
