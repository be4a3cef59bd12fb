"""Request and response shapes of the cart and orders API, and the mapping from models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Field, Path, Schema
from pydantic import ConfigDict

from clearhouse.api.routers.catalog_schemas import money_text
from clearhouse.api.schemas import RequestBody
from clearhouse.orders.models import CheckoutGroup, Order, OrderLine, OrderStatusChange
from clearhouse.orders.selectors import CartView

MAX_ID = 2**63 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
OrderNumber = Annotated[str, Path(max_length=30, pattern=r"^[A-Z]{2,4}-\d{8}-\d{6}$")]
Quantity = Annotated[int, Field(ge=-(2**63), le=2**63 - 1, description="Whole units, at least 1")]


class StrictBody(RequestBody):
    model_config = ConfigDict(extra="forbid")


# --- requests ----------------------------------------------------------------------
class CartLineIn(StrictBody):
    sku: str | None = Field(None, max_length=64)
    variant_id: int | None = Field(None, ge=1, le=MAX_ID)
    quantity: Quantity


class CartLinePatch(StrictBody):
    quantity: Quantity


class AddressIn(StrictBody):
    recipient: str = Field(..., max_length=100)
    phone: str = Field(..., max_length=32)
    region: str = Field(..., max_length=100)
    city: str = Field(..., max_length=100)
    line: str = Field(..., max_length=300)
    postal_code: str = Field("", max_length=20)


class OrderLineIn(StrictBody):
    variant_id: int | None = Field(None, ge=1, le=MAX_ID)
    sku: str | None = Field(None, max_length=64)
    quantity: Quantity


class CheckoutIn(StrictBody):
    lines: list[OrderLineIn] | None = Field(
        None, min_length=1, max_length=100,
        description="A direct checkout (\"buy now\"): these SKUs and quantities instead of the cart, which is "
                    "left as it is. Without it, the cart is checked out and emptied.")
    address_id: int | None = Field(None, ge=1, le=MAX_ID, description="One of my addresses...")
    address: AddressIn | None = Field(None, description="...or an address typed in")
    platform_coupon: str | None = Field(None, max_length=40)
    merchant_coupons: list[str] = Field(default_factory=list, max_length=50)
    points: int = Field(0, ge=0, le=2**63 - 1, description="Points to redeem")


class OrderLinesIn(StrictBody):
    lines: list[OrderLineIn] = Field(..., max_length=100)


class CancelIn(StrictBody):
    reason: str = Field("cancelled by the customer", max_length=200)


class ShipIn(StrictBody):
    carrier: str = Field(..., max_length=100)
    tracking_number: str = Field(..., max_length=100)


class DeliverIn(StrictBody):
    signed_by: str = Field(..., max_length=100)


class NoteIn(StrictBody):
    note: str = Field("", max_length=500)


# --- responses ---------------------------------------------------------------------
class CartLineOut(Schema):
    id: int
    variant_id: int
    sku: str
    name: str
    quantity: int
    unit_price: str
    line_subtotal: str
    currency: str
    available: int


class CartOut(Schema):
    lines: list[CartLineOut]
    totals: dict[str, str] = Field(description="Subtotal per currency, before coupons, points and shipping")


class OrderLineOut(Schema):
    variant_id: int
    sku: str
    name: str
    quantity: int
    unit_price: str
    subtotal: str
    merchant_discount: str
    platform_discount: str
    points_discount: str
    line_total: str
    line_total_minor: int


class TimelineOut(Schema):
    from_status: str
    to_status: str
    actor: str
    note: str
    at: datetime


class ShippingOut(Schema):
    recipient: str
    phone: str
    region: str
    city: str
    line: str
    postal_code: str


class OrderOut(Schema):
    number: str
    group: str
    merchant: str
    status: str
    currency: str
    subtotal: str
    merchant_coupon_amount: str
    platform_coupon_amount: str
    points_amount: str
    shipping_fee: str
    total: str
    total_minor: int
    points_redeemed: int
    merchant_coupon: str | None
    platform_coupon: str | None
    carrier: str
    tracking_number: str
    signed_by: str
    cancel_reason: str
    expires_at: datetime | None
    created_at: datetime


class OrderDetailOut(OrderOut):
    shipping_address: ShippingOut
    lines: list[OrderLineOut]
    timeline: list[TimelineOut]


class CheckoutOut(Schema):
    id: int
    number: str
    currency: str
    subtotal: str
    merchant_coupon_amount: str
    platform_coupon_amount: str
    points_amount: str
    shipping_fee: str
    total: str
    total_minor: int
    points_redeemed: int
    orders: list[OrderDetailOut]


# --- mapping -----------------------------------------------------------------------
def cart_out(view: CartView) -> dict:
    lines, totals = [], {}
    for line in view.lines:
        price = view.unit_prices[line.pk]
        subtotal = price.minor * line.quantity
        totals[price.currency] = totals.get(price.currency, 0) + subtotal
        lines.append(dict(id=line.pk, variant_id=line.variant_id, sku=line.variant.sku,
                          name=line.variant.product.name, quantity=line.quantity, unit_price=price.to_string(),
                          line_subtotal=money_text(subtotal, price.currency), currency=price.currency,
                          available=max(view.available[line.variant_id], 0)))
    return dict(lines=lines, totals={c: money_text(m, c) for c, m in totals.items()})


def _line_out(ln: OrderLine) -> dict:
    def m(minor: int) -> str:
        return money_text(minor, ln.currency)

    return dict(variant_id=ln.variant_id, sku=ln.sku, name=ln.name, quantity=ln.quantity,
                unit_price=m(ln.unit_price_minor), subtotal=m(ln.subtotal_minor),
                merchant_discount=m(ln.merchant_discount_minor), platform_discount=m(ln.platform_discount_minor),
                points_discount=m(ln.points_discount_minor), line_total=m(ln.line_total_minor),
                line_total_minor=ln.line_total_minor)


def _amounts(row: Order | CheckoutGroup) -> dict:
    def m(minor: int) -> str:
        return money_text(minor, row.currency)

    return dict(currency=row.currency, subtotal=m(row.subtotal_minor),
                merchant_coupon_amount=m(row.merchant_coupon_amount_minor),
                platform_coupon_amount=m(row.platform_coupon_amount_minor), points_amount=m(row.points_amount_minor),
                shipping_fee=m(row.shipping_fee_minor), total=m(row.total_minor), total_minor=row.total_minor,
                points_redeemed=row.points_redeemed)


def order_out(o: Order) -> dict:
    return dict(number=o.number, group=o.group.number, merchant=o.merchant.code, status=o.status, **_amounts(o),
                merchant_coupon=o.merchant_coupon.code if o.merchant_coupon_id else None,
                platform_coupon=o.platform_coupon.code if o.platform_coupon_id else None, carrier=o.carrier,
                tracking_number=o.tracking_number, signed_by=o.signed_by, cancel_reason=o.cancel_reason,
                expires_at=o.expires_at, created_at=o.created_at)


def timeline_out(change: OrderStatusChange) -> dict:
    return dict(from_status=change.from_status, to_status=change.to_status, actor=change.actor, note=change.note,
                at=change.created_at)


def order_detail_out(o: Order, *, timeline: list[OrderStatusChange]) -> dict:
    address = dict(recipient=o.ship_recipient, phone=o.ship_phone, region=o.ship_region, city=o.ship_city,
                   line=o.ship_line, postal_code=o.ship_postal_code)
    lines = sorted(o.lines.all(), key=lambda ln: ln.pk)  # the lines checkout just wrote, or one read
    return dict(order_out(o), shipping_address=address, lines=[_line_out(ln) for ln in lines],
                timeline=[timeline_out(c) for c in timeline])


def checkout_out(group: CheckoutGroup, *, orders: list[dict]) -> dict:
    return dict(id=group.pk, number=group.number, **_amounts(group), orders=orders)
