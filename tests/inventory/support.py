"""Reading stock back in inventory tests."""

from __future__ import annotations

from django.db.models import Sum

from clearhouse.inventory.models import StockItem, StockMovement


def counters(variant) -> tuple[int, int]:
    """(on_hand, reserved) of a variant; (0, 0) without a stock row."""
    row = StockItem.objects.filter(variant=variant).values_list("on_hand", "reserved").first()
    return row or (0, 0)


def log_totals(variant) -> tuple[int, int]:
    """What the movement log says the counters are."""
    sums = StockMovement.objects.filter(variant=variant).aggregate(h=Sum("on_hand_delta"), r=Sum("reserved_delta"))
    return (sums["h"] or 0, sums["r"] or 0)
