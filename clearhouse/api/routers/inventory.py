"""Inventory endpoints: stock per SKU, receiving and adjusting, thresholds, movements, the low-stock list.

Reservations are not made here: orders make them through `inventory.services`.
A merchant-scoped caller sees and changes only its own SKUs; another
merchant's is `unknown_sku` (404).
"""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Router, Schema

from clearhouse.accounts.roles import MANAGE_STOCK, VIEW_STOCK
from clearhouse.api.pagination import Page, paginate
from clearhouse.api.routers.catalog_schemas import PageNumber, PageSize, PathId, QuantityValue, QueryId
from clearhouse.api.schemas import RequestBody
from clearhouse.catalog.selectors import variant_get
from clearhouse.inventory import selectors, services

router = Router(tags=["inventory"])


class StockOut(Schema):
    variant_id: int
    sku: str
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int
    low_stock: bool


class ReceiveIn(RequestBody):
    quantity: QuantityValue = Field(..., description="Units received, 1 or more")
    reference_type: str = Field("", max_length=50, examples=["purchase_order"])
    reference_id: str = Field("", max_length=100, examples=["PO-1042"])
    note: str = Field("", max_length=500)


class AdjustIn(RequestBody):
    quantity: QuantityValue = Field(..., description="Signed change of on-hand units after a count, e.g. -2")
    note: str = Field(..., min_length=1, max_length=500, description="Why: a count, breakage, loss...")


class ThresholdIn(RequestBody):
    low_stock_threshold: QuantityValue = Field(..., description="Alert when available units drop to this or below")


class MovementOut(Schema):
    id: int
    kind: str
    quantity: int
    on_hand_delta: int
    reserved_delta: int
    reference_type: str
    reference_id: str
    note: str
    actor: str
    created_at: datetime


class AlertOut(Schema):
    id: int
    variant_id: int
    sku: str
    available: int
    threshold: int
    created_at: datetime
    resolved_at: datetime | None


def _stock_out(level) -> dict:
    return dict(variant_id=level.variant_id, sku=level.sku, on_hand=level.on_hand, reserved=level.reserved,
                available=level.available, low_stock_threshold=level.low_stock_threshold, low_stock=level.low_stock)


def _movement_out(m) -> dict:
    return dict(id=m.pk, kind=m.kind, quantity=m.quantity, on_hand_delta=m.on_hand_delta,
                reserved_delta=m.reserved_delta, reference_type=m.reference_type, reference_id=m.reference_id,
                note=m.note, actor=m.actor, created_at=m.created_at)


def _alert_out(a) -> dict:
    return dict(id=a.pk, variant_id=a.variant_id, sku=a.variant.sku, available=a.available, threshold=a.threshold,
                created_at=a.created_at, resolved_at=a.resolved_at)


def _own_variant(request, variant_id: int) -> int:
    """The id of a SKU this caller may change (another merchant's is unknown)."""
    request.auth.require(MANAGE_STOCK)
    return variant_get(variant_id=variant_id, merchant_id=request.auth.merchant_id).pk


def _level(request, variant_id: int) -> dict:
    return _stock_out(selectors.stock_get(variant_id=variant_id, merchant_id=request.auth.merchant_id))


@router.get("/stock", response=Page[StockOut], summary="Stock of every SKU")
def list_stock(request, sku: str | None = None, product_id: QueryId = None, low_only: bool = False,
               page: PageNumber = 1, page_size: PageSize = 50):
    request.auth.require(VIEW_STOCK)
    qs = selectors.stock_list(merchant_id=request.auth.merchant_id, sku=sku, product_id=product_id,
                              low_only=low_only)
    return paginate(qs, page, page_size, lambda v: _stock_out(selectors.stock_level_of(v)))


@router.get("/stock/{variant_id}", response=StockOut, summary="Stock of one SKU")
def get_stock(request, variant_id: PathId):
    request.auth.require(VIEW_STOCK)
    return _level(request, variant_id)


@router.post("/stock/{variant_id}/receive", response=StockOut, summary="Book goods received")
def receive_stock(request, variant_id: PathId, payload: ReceiveIn):
    variant_id = _own_variant(request, variant_id)
    services.stock_receive(variant_id=variant_id, quantity=payload.quantity, reference_type=payload.reference_type,
                           reference_id=payload.reference_id, note=payload.note, actor=request.auth)
    return _level(request, variant_id)


@router.post("/stock/{variant_id}/adjust", response=StockOut, summary="Correct on-hand stock after a count")
def adjust_stock(request, variant_id: PathId, payload: AdjustIn):
    variant_id = _own_variant(request, variant_id)
    services.stock_adjust(variant_id=variant_id, quantity=payload.quantity, note=payload.note, actor=request.auth)
    return _level(request, variant_id)


@router.post("/stock/{variant_id}/threshold", response=StockOut, summary="Set the low-stock threshold")
def set_threshold(request, variant_id: PathId, payload: ThresholdIn):
    variant_id = _own_variant(request, variant_id)
    services.stock_threshold_set(variant_id=variant_id, threshold=payload.low_stock_threshold, actor=request.auth)
    return _level(request, variant_id)


@router.get("/stock/{variant_id}/movements", response=Page[MovementOut], summary="Stock movements of one SKU")
def list_movements(request, variant_id: PathId, page: PageNumber = 1, page_size: PageSize = 50):
    request.auth.require(VIEW_STOCK)
    qs = selectors.movement_list(variant_id=variant_id, merchant_id=request.auth.merchant_id)
    return paginate(qs, page, page_size, _movement_out)


@router.get("/low-stock", response=Page[AlertOut], summary="Low-stock alerts (open ones unless asked)")
def list_low_stock(request, include_resolved: bool = False, page: PageNumber = 1, page_size: PageSize = 50):
    request.auth.require(VIEW_STOCK)
    qs = selectors.low_stock_alert_list(merchant_id=request.auth.merchant_id, include_resolved=include_resolved)
    return paginate(qs, page, page_size, _alert_out)
