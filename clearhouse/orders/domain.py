"""Order rules with no I/O: checkout pricing, coupon validity, the order
state machine and order numbers.

Imports nothing from Django, so these rules are tested without a database.
Pricing works in integer minor units and splits every discount with
largest-remainder allocation, so nothing is created or lost, to the cent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from clearhouse.core.errors import (
    CurrencyMismatch,
    DomainError,
    InvalidAmount,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from clearhouse.core.money import MAX_MINOR, Money, allocate


# --- errors --------------------------------------------------------------------------
class EmptyCart(DomainError):
    code = "empty_cart"
    default_message = "The cart has no lines."


class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    default_message = "Quantities are whole numbers of at least 1."


class InvalidCoupon(DomainError):
    code = "coupon_invalid"
    default_message = "The coupon's terms are not valid."


class CouponNotApplicable(DomainError):
    code = "coupon_not_applicable"
    default_message = "The coupon does not apply to this cart."


class CouponExpired(DomainError):
    code = "coupon_expired"
    default_message = "The coupon has expired."


class CouponNotYetValid(DomainError):
    code = "coupon_not_yet_valid"
    default_message = "The coupon is not valid yet."


class CouponMinSpendNotMet(DomainError):
    code = "coupon_min_spend_not_met"
    default_message = "The spend is below the coupon's minimum."


class CouponExhausted(DomainError):
    code = "coupon_exhausted"
    default_message = "The coupon has been used as many times as it may be."


class CouponLimitPerCustomerReached(DomainError):
    code = "coupon_limit_per_customer_reached"
    default_message = "You have used this coupon as many times as you may."


class OrderNotEditable(DomainError):
    code = "order_not_editable"
    http_status = 409
    default_message = "Order lines can be changed only before the order is approved."


class UnknownCoupon(NotFound):
    code = "coupon_not_found"
    default_message = "No coupon has this code."


class PointsExceedTotal(DomainError):
    code = "points_exceed_total"
    default_message = "The points redeemed are worth more than the goods they would pay for."


class OrderExpired(DomainError):
    code = "order_expired"
    http_status = 409
    default_message = "The order was not paid in time."


# --- coupons -------------------------------------------------------------------------
@dataclass(frozen=True)
class Coupon:
    """A coupon's terms, as pricing and the validity checks need them.

    `merchant_id` set: merchant-funded, discounts that merchant's lines only.
    `merchant_id` None: platform-funded, discounts the whole cart. Exactly one
    of `percent` (Decimal("10") is 10% off) and `fixed` is given. Limits of
    None mean unlimited; the validity window is [valid_from, valid_until).
    """

    code: str
    merchant_id: int | None = None
    percent: Decimal | None = None
    fixed: Money | None = None
    min_spend: Money | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    total_limit: int | None = None
    per_customer_limit: int | None = None

    def __post_init__(self) -> None:
        if (self.percent is None) == (self.fixed is None):
            raise InvalidCoupon("A coupon is either a percentage or a fixed amount off.", param="coupon")
        # At most 4 decimal places: keeps amount x rate exact within Decimal's 28 digits (no double rounding).
        if self.percent is not None and (
            not isinstance(self.percent, Decimal) or not self.percent.is_finite() or not 0 < self.percent <= 100
            or self.percent.as_tuple().exponent < -4
        ):
            raise InvalidCoupon("A percentage off is a Decimal above 0 and at most 100, with at most 4 decimals.",
                                param="coupon.percent")
        if self.fixed is not None and (not isinstance(self.fixed, Money) or self.fixed.minor <= 0):
            raise InvalidCoupon("A fixed amount off is a positive Money.", param="coupon.fixed")
        if self.min_spend is not None and (not isinstance(self.min_spend, Money) or self.min_spend.minor < 0):
            raise InvalidCoupon("A minimum spend is a Money of zero or more.", param="coupon.min_spend")
        if self.fixed is not None and self.min_spend is not None and self.fixed.currency != self.min_spend.currency:
            raise CurrencyMismatch("The coupon's amount and minimum spend differ in currency.", param="coupon")
        for name in ("total_limit", "per_customer_limit"):
            limit = getattr(self, name)
            if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
                raise InvalidCoupon("Usage limits are whole numbers of zero or more.", param=f"coupon.{name}")
        if self.valid_from and self.valid_until and self.valid_from >= self.valid_until:
            raise InvalidCoupon("The coupon's validity window ends before it starts.", param="coupon.valid_until")

    @property
    def is_platform_funded(self) -> bool:
        return self.merchant_id is None

    def amounts(self) -> list[Money]:
        return [m for m in (self.fixed, self.min_spend) if m is not None]

    def discount_on(self, base: Money) -> Money:
        """What the coupon takes off `base` before any cap: a percentage rounds once, half-up."""
        if self.percent is not None:
            return base.apply_rate(self.percent / 100, ROUND_HALF_UP)
        return self.fixed


def check_coupon_window(coupon: Coupon, *, now: datetime) -> None:
    """Valid from `valid_from` (inclusive) until `valid_until` (exclusive)."""
    if now.tzinfo is None:
        raise ValidationFailed("`now` must be timezone-aware.", param="now")
    if coupon.valid_from is not None and now < coupon.valid_from:
        raise CouponNotYetValid(f"Coupon {coupon.code} is valid from {coupon.valid_from.isoformat()}.",
                                param="coupon")
    if coupon.valid_until is not None and now >= coupon.valid_until:
        raise CouponExpired(f"Coupon {coupon.code} expired at {coupon.valid_until.isoformat()}.", param="coupon")


def check_coupon_min_spend(coupon: Coupon, *, spend: Money) -> None:
    if coupon.min_spend is not None and spend < coupon.min_spend:
        raise CouponMinSpendNotMet(
            f"Coupon {coupon.code} needs a spend of at least {coupon.min_spend}; this is {spend}.", param="coupon"
        )


def check_coupon_usage(coupon: Coupon, *, total_used: int, customer_used: int) -> None:
    """Uses so far (in total and by this customer) leave room for one more."""
    if coupon.total_limit is not None and total_used >= coupon.total_limit:
        raise CouponExhausted(f"Coupon {coupon.code} has no uses left.", param="coupon")
    if coupon.per_customer_limit is not None and customer_used >= coupon.per_customer_limit:
        raise CouponLimitPerCustomerReached(
            f"Coupon {coupon.code} may be used {coupon.per_customer_limit} time(s) per customer.", param="coupon"
        )


def check_coupon_usable(coupon: Coupon, *, now: datetime, spend: Money, total_used: int,
                        customer_used: int) -> None:
    """Every check that needs no database, in the order a customer would want to hear them."""
    check_coupon_window(coupon, now=now)
    check_coupon_usage(coupon, total_used=total_used, customer_used=customer_used)
    check_coupon_min_spend(coupon, spend=spend)


# --- pricing -------------------------------------------------------------------------
@dataclass(frozen=True)
class CartLine:
    """One variant in the cart at its unit price (the price the customer saw)."""

    merchant_id: int
    variant_id: int
    unit_price: Money
    quantity: int


class DiscountKind(StrEnum):
    MERCHANT_COUPON = "merchant_coupon"
    PLATFORM_COUPON = "platform_coupon"
    POINTS = "points"


@dataclass(frozen=True)
class DiscountCap:
    """A discount cut down to the amount it applied to (a discount never makes a total negative)."""

    kind: DiscountKind
    merchant_id: int | None
    requested: Money
    applied: Money


@dataclass(frozen=True)
class PricedLine:
    """A cart line with its share of each discount; line_total = subtotal - the three shares."""

    merchant_id: int
    variant_id: int
    unit_price: Money
    quantity: int
    subtotal: Money
    merchant_discount: Money
    platform_discount: Money
    points_discount: Money
    line_total: Money


@dataclass(frozen=True)
class PricedOrder:
    """One merchant's part of a checkout; settlement needs each discount kind separately."""

    merchant_id: int
    lines: tuple[PricedLine, ...]
    merchant_coupon: Coupon | None
    subtotal: Money
    merchant_coupon_amount: Money
    platform_coupon_amount: Money
    points_amount: Money
    shipping: Money
    total: Money


@dataclass(frozen=True)
class PricedCheckout:
    """Every order of one checkout, and what the customer pays for all of them."""

    currency: str
    orders: tuple[PricedOrder, ...]
    subtotal: Money
    merchant_coupon_amount: Money
    platform_coupon_amount: Money
    points_amount: Money
    shipping: Money
    grand_total: Money
    caps: tuple[DiscountCap, ...]


def price_checkout(
    lines: Sequence[CartLine], *, merchant_coupons: Sequence[Coupon] = (), platform_coupon: Coupon | None = None,
    points: Money | None = None, shipping: Mapping[int, Money] | None = None,
) -> PricedCheckout:
    """Price a checkout: one order per merchant, discounts spread over lines.

    Order of application: merchant coupons (each over its merchant's lines,
    weights = line subtotals), then the platform coupon (over all lines,
    weights = amounts after merchant discounts), then points (over all lines,
    weights = amounts after both coupons, so a line can never go negative).
    Each discount is capped at what it applies to and the cap is reported.
    Shipping is never discounted. Raises typed errors for bad input.
    """
    currency = _checkout_currency(lines, merchant_coupons, platform_coupon, points, shipping)
    _check_lines(lines)
    coupons = _merchant_coupons_by_merchant(merchant_coupons, lines)
    fees = _shipping_by_merchant(shipping or {}, lines, currency)
    if platform_coupon is not None and not platform_coupon.is_platform_funded:
        raise CouponNotApplicable(f"Coupon {platform_coupon.code} is merchant-funded.", param="platform_coupon")
    if points is not None and points.minor < 0:
        raise InvalidAmount("Points redeemed cannot be negative.", param="points")
    caps: list[DiscountCap] = []
    subtotals = [line.unit_price.minor * line.quantity for line in lines]
    merchant_parts = _merchant_discounts(lines, subtotals, coupons, currency, caps)
    after_merchant = _minus(subtotals, merchant_parts)
    platform_parts = [0] * len(lines)
    if platform_coupon is not None:
        base = Money(sum(after_merchant), currency)
        check_coupon_min_spend(platform_coupon, spend=base)
        platform_parts = _spread(DiscountKind.PLATFORM_COUPON, None, platform_coupon.discount_on(base),
                                 after_merchant, caps)
    points_parts = _spread(DiscountKind.POINTS, None, points or Money.zero(currency),
                           _minus(after_merchant, platform_parts), caps)
    shares = list(zip(subtotals, merchant_parts, platform_parts, points_parts, strict=True))
    orders = tuple(_order(m, lines, shares, coupons.get(m), fees[m], currency) for m in fees)
    checkout = _checkout(currency, orders, caps)
    _assert_invariants(checkout)
    return checkout


def _checkout_currency(lines, merchant_coupons, platform_coupon, points, shipping) -> str:
    if not lines:
        raise EmptyCart(param="lines")
    amounts: list[tuple[str, Money]] = [(f"lines[{i}].unit_price", line.unit_price) for i, line in enumerate(lines)]
    amounts += [("merchant_coupons", m) for c in merchant_coupons for m in c.amounts()]
    amounts += [("platform_coupon", m) for m in (platform_coupon.amounts() if platform_coupon else [])]
    amounts += [("points", points)] if points is not None else []
    amounts += [(f"shipping[{k}]", m) for k, m in (shipping or {}).items()]
    for param, amount in amounts:
        if not isinstance(amount, Money):
            raise InvalidAmount("Amounts must be Money.", param=param)
    currency = lines[0].unit_price.currency
    for param, amount in amounts:
        if amount.currency != currency:
            raise CurrencyMismatch(f"A checkout is in one currency: {currency}, not {amount.currency}.", param=param)
    return currency


def _check_lines(lines: Sequence[CartLine]) -> None:
    total = 0
    for i, line in enumerate(lines):
        if not isinstance(line.quantity, int) or isinstance(line.quantity, bool) or line.quantity < 1:
            raise InvalidQuantity(f"Quantity {line.quantity!r} is not a whole number of at least 1.",
                                  param=f"lines[{i}].quantity")
        if line.unit_price.minor < 0:
            raise InvalidAmount("A unit price cannot be negative.", param=f"lines[{i}].unit_price")
        total += line.unit_price.minor * line.quantity
    if total > MAX_MINOR:
        raise InvalidAmount("The cart's total is too large to be stored.", param="lines")


def _merchant_coupons_by_merchant(coupons: Sequence[Coupon], lines: Sequence[CartLine]) -> dict[int, Coupon]:
    merchants = {line.merchant_id for line in lines}
    out: dict[int, Coupon] = {}
    for coupon in coupons:
        if coupon.is_platform_funded or coupon.merchant_id not in merchants:
            raise CouponNotApplicable(f"Coupon {coupon.code} is not for a merchant in this cart.",
                                      param="merchant_coupons")
        if coupon.merchant_id in out:
            raise CouponNotApplicable("One coupon per merchant at most.", param="merchant_coupons")
        out[coupon.merchant_id] = coupon
    return out


def _shipping_by_merchant(shipping: Mapping[int, Money], lines: Sequence[CartLine], currency: str) -> dict[int, Money]:
    """Shipping per merchant, merchants in the order they first appear in the cart."""
    merchants = list(dict.fromkeys(line.merchant_id for line in lines))
    for merchant_id, fee in shipping.items():
        if merchant_id not in merchants:
            raise ValidationFailed(f"Merchant {merchant_id} has no lines in this cart.", param="shipping")
        if fee.minor < 0:
            raise InvalidAmount("A shipping fee cannot be negative.", param=f"shipping[{merchant_id}]")
    return {m: shipping.get(m, Money.zero(currency)) for m in merchants}


def _minus(amounts: list[int], parts: list[int]) -> list[int]:
    return [a - p for a, p in zip(amounts, parts, strict=True)]


def _spread(kind: DiscountKind, merchant_id: int | None, requested: Money, weights: list[int],
            caps: list[DiscountCap]) -> list[int]:
    """Split a discount over lines by largest remainder, capped at the lines' sum.

    Each part is at most its line's weight: a part is its exact share
    rounded down, plus one only when that share had a fraction.
    """
    applied = min(requested.minor, sum(weights))
    if applied < requested.minor:
        caps.append(DiscountCap(kind, merchant_id, requested, Money(applied, requested.currency)))
    if applied == 0:
        return [0] * len(weights)
    parts = [p.minor for p in allocate(Money(applied, requested.currency), weights)]
    assert all(0 <= p <= w for p, w in zip(parts, weights, strict=True))
    return parts


def _merchant_discounts(lines, subtotals, coupons: dict[int, Coupon], currency: str,
                        caps: list[DiscountCap]) -> list[int]:
    parts = [0] * len(lines)
    for merchant_id, coupon in coupons.items():
        indexes = [i for i, line in enumerate(lines) if line.merchant_id == merchant_id]
        weights = [subtotals[i] for i in indexes]
        base = Money(sum(weights), currency)
        check_coupon_min_spend(coupon, spend=base)
        spread = _spread(DiscountKind.MERCHANT_COUPON, merchant_id, coupon.discount_on(base), weights, caps)
        for i, part in zip(indexes, spread, strict=True):
            parts[i] = part
    return parts


def _order(merchant_id: int, lines, shares, coupon: Coupon | None, shipping: Money, currency: str) -> PricedOrder:
    def money(minor: int) -> Money:
        return Money(minor, currency)

    priced = tuple(
        PricedLine(line.merchant_id, line.variant_id, line.unit_price, line.quantity, money(sub), money(md),
                   money(pd), money(pts), money(sub - md - pd - pts))
        for line, (sub, md, pd, pts) in zip(lines, shares, strict=True)
        if line.merchant_id == merchant_id
    )
    goods = _sum([p.line_total for p in priced], currency)
    return PricedOrder(
        merchant_id=merchant_id, lines=priced, merchant_coupon=coupon,
        subtotal=_sum([p.subtotal for p in priced], currency),
        merchant_coupon_amount=_sum([p.merchant_discount for p in priced], currency),
        platform_coupon_amount=_sum([p.platform_discount for p in priced], currency),
        points_amount=_sum([p.points_discount for p in priced], currency),
        shipping=shipping, total=goods + shipping,
    )


def _sum(amounts: Sequence[Money], currency: str) -> Money:
    return Money(sum(a.minor for a in amounts), currency)


def _checkout(currency: str, orders: tuple[PricedOrder, ...], caps: list[DiscountCap]) -> PricedCheckout:
    def total(attr: str) -> Money:
        return _sum([getattr(o, attr) for o in orders], currency)

    return PricedCheckout(
        currency=currency, orders=orders, subtotal=total("subtotal"),
        merchant_coupon_amount=total("merchant_coupon_amount"), platform_coupon_amount=total("platform_coupon_amount"),
        points_amount=total("points_amount"), shipping=total("shipping"), grand_total=total("total"), caps=tuple(caps),
    )


def _assert_invariants(checkout: PricedCheckout) -> None:
    """Nothing created or lost: lines make each order, orders make what the customer pays."""
    for order in checkout.orders:
        assert all(line.line_total.minor >= 0 for line in order.lines)
        assert _sum([line.line_total for line in order.lines], checkout.currency) == order.total - order.shipping
        assert order.subtotal - order.merchant_coupon_amount - order.platform_coupon_amount - order.points_amount \
            == order.total - order.shipping
    assert checkout.grand_total == (checkout.subtotal - checkout.merchant_coupon_amount
                                    - checkout.platform_coupon_amount - checkout.points_amount + checkout.shipping)


# --- the order state machine -----------------------------------------------------------
class OrderStatus(StrEnum):
    """Where an order is. The cart is the draft: an order starts submitted."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


# Cancel only before shipping (stock, coupon use and points go back); once
# goods have left, the way back is a refund (returns, after-sales).
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    # A customer may pay before the merchant approved (paying at checkout is the usual
    # storefront flow); approval then is moot. Orders that need review wait unpaid.
    OrderStatus.SUBMITTED: frozenset({OrderStatus.APPROVED, OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.APPROVED: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED, OrderStatus.REFUNDED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.COMPLETED, OrderStatus.REFUNDED}),
    OrderStatus.COMPLETED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}


def order_status(value: str, *, param: str = "status") -> OrderStatus:
    try:
        return OrderStatus(value)
    except ValueError:
        raise ValidationFailed(f"{value!r} is not an order status.", param=param) from None


def check_transition(from_status: str, to_status: str) -> None:
    """Refuse any move the table does not list (including staying put)."""
    current, target = order_status(from_status, param="from_status"), order_status(to_status, param="to_status")
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(f"An order cannot go from {current} to {target}.", param="status")


def can_edit_lines(status: str) -> bool:
    """Lines change only before the merchant approves: approval fixes what is sold."""
    return order_status(status) == OrderStatus.SUBMITTED


def check_can_edit_lines(status: str) -> None:
    if not can_edit_lines(status):
        raise OrderNotEditable(f"The order is {status}; its lines can no longer change.", param="lines")


def can_cancel(status: str) -> bool:
    return OrderStatus.CANCELLED in TRANSITIONS[order_status(status)]


# --- order numbers -------------------------------------------------------------------
ORDER_NUMBER_SEQUENCE_MAX = 999_999


def format_order_number(*, day: date, sequence: int, prefix: str = "SO") -> str:
    """`SO-20261123-000123`: the day's date, then that day's sequence; sorts as it reads."""
    if not isinstance(sequence, int) or isinstance(sequence, bool) or not 1 <= sequence <= ORDER_NUMBER_SEQUENCE_MAX:
        raise ValidationFailed(f"An order number's sequence runs from 1 to {ORDER_NUMBER_SEQUENCE_MAX}.",
                               param="sequence")
    if not re.fullmatch(r"[A-Z]{2,4}", prefix):
        raise ValidationFailed("An order number prefix is 2 to 4 capital letters.", param="prefix")
    return f"{prefix}-{day:%Y%m%d}-{sequence:06d}"

