"""Reads of stock: levels per SKU, the movement log, reservations, low-stock alerts.

Merchant scoping happens here: pass `merchant_id` for a merchant-scoped
caller; another merchant's SKU is an unknown SKU. A variant that never
received stock has no row and reads as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce

from clearhouse.catalog.selectors import variant_get, variant_list
from clearhouse.inventory.models import LowStockAlert, Reservation, StockItem, StockMovement

if TYPE_CHECKING:
    from clearhouse.catalog.models import Variant


@dataclass(frozen=True, slots=True)
class StockLevel:
    """What a merchant sees of one SKU's stock."""

    variant_id: int
    sku: str
    merchant_id: int
    on_hand: int
    reserved: int
    low_stock_threshold: int
    low_stock: bool

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def in_stock_variant_ids() -> QuerySet:
    """A subquery of the ids of variants with at least one unit available (for catalog filters)."""
    return StockItem.objects.filter(on_hand__gt=F("reserved")).values("variant_id")


def available_of(*, variant_ids: list[int]) -> dict[int, int]:
    """variant id -> units available now (0 for a variant with no stock row)."""
    rows = StockItem.objects.filter(variant_id__in=variant_ids).values_list("variant_id", "on_hand", "reserved")
    available = {variant_id: on_hand - reserved for variant_id, on_hand, reserved in rows}
    return {pk: available.get(pk, 0) for pk in variant_ids}


def _with_stock(qs: QuerySet[Variant]) -> QuerySet[Variant]:
    zero = Value(0)
    return qs.annotate(
        stock_on_hand=Coalesce(F("stock__on_hand"), zero), stock_reserved=Coalesce(F("stock__reserved"), zero),
        stock_threshold=Coalesce(F("stock__low_stock_threshold"), zero),
        stock_low=Coalesce(F("stock__low_stock"), Value(False)),
    )


def _level(variant: Variant) -> StockLevel:
    return StockLevel(variant_id=variant.pk, sku=variant.sku, merchant_id=variant.merchant_id,
                      on_hand=variant.stock_on_hand, reserved=variant.stock_reserved,
                      low_stock_threshold=variant.stock_threshold, low_stock=bool(variant.stock_low))


def stock_list(*, merchant_id: int | None = None, sku: str | None = None, product_id: int | None = None,
               low_only: bool = False) -> QuerySet[Variant]:
    """Variants with their stock annotated (`stock_on_hand`, ...); map rows with `stock_level_of`."""
    qs = _with_stock(variant_list(merchant_id=merchant_id, sku=sku, product_id=product_id))
    if low_only:
        qs = qs.filter(stock__low_stock=True)
    return qs


def stock_level_of(variant: Variant) -> StockLevel:
    return _level(variant)


def stock_get(*, variant_id: int, merchant_id: int | None = None) -> StockLevel:
    variant = variant_get(variant_id=variant_id, merchant_id=merchant_id)
    return _level(_with_stock(variant_list().filter(pk=variant.pk)).get())


def movement_list(*, variant_id: int, merchant_id: int | None = None) -> QuerySet[StockMovement]:
    """The stock log of one SKU, newest first (an unknown or foreign SKU raises UnknownSku)."""
    variant = variant_get(variant_id=variant_id, merchant_id=merchant_id)
    return StockMovement.objects.filter(variant_id=variant.pk).order_by("-id")


def reservation_list(*, reference: str, merchant_id: int | None = None) -> QuerySet[Reservation]:
    qs = Reservation.objects.filter(reference=reference)
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    return qs.order_by("variant_id", "id")


def low_stock_alert_list(*, merchant_id: int | None = None, include_resolved: bool = False
                         ) -> QuerySet[LowStockAlert]:
    """The low-stock list merchant staff work from: open alerts, newest first."""
    qs = LowStockAlert.objects.select_related("variant")
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    if not include_resolved:
        qs = qs.filter(resolved_at__isnull=True)
    return qs.order_by("-id")
