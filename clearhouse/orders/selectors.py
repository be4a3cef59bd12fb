"""Reads of orders: carts, coupons, orders and their timelines, checkout groups.

Scoping happens here: pass `merchant_id` for a merchant-scoped caller and
`customer_id` for a customer; an order outside the scope is not found (404),
never forbidden, so its existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from clearhouse.catalog.selectors import variant_price
from clearhouse.core.errors import NotFound
from clearhouse.core.money import Money
from clearhouse.customers.models import CustomerProfile
from clearhouse.inventory.selectors import available_of
from clearhouse.orders import domain
from clearhouse.orders.models import (
    Cart,
    CartLine,
    CheckoutGroup,
    Coupon,
    CouponRedemption,
    Order,
    OrderSettings,
    OrderStatusChange,
)


# --- coupons -------------------------------------------------------------------------------
def coupon_terms(coupon: Coupon) -> domain.Coupon:
    """A coupon row as the pure pricing and validity rules see it."""
    return domain.Coupon(
        code=coupon.code, merchant_id=coupon.merchant_id, percent=coupon.percent_off,
        fixed=Money(coupon.value_minor, coupon.currency) if coupon.value_minor is not None else None,
        min_spend=Money(coupon.min_spend_minor, coupon.currency) if coupon.min_spend_minor else None,
        valid_from=coupon.valid_from, valid_until=coupon.valid_to, total_limit=coupon.total_limit,
        per_customer_limit=coupon.per_customer_limit,
    )


def coupon_get_by_code(*, code: str) -> Coupon:
    coupon = Coupon.objects.filter(code=(code or "").strip().upper(), is_active=True).first()
    if coupon is None:
        raise domain.UnknownCoupon(f"No coupon {code!r}.", param="coupon")
    return coupon


def coupon_list(*, merchant_id: int | None = None) -> QuerySet[Coupon]:
    qs = Coupon.objects.all()
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    return qs.order_by("code")


def coupon_uses_by(*, coupon: Coupon, customer_id: int) -> int:
    """Uses of a coupon by one customer that still count (not given back)."""
    return CouponRedemption.objects.filter(coupon=coupon, customer_id=customer_id, released_at__isnull=True).count()


# --- carts ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CartView:
    """The cart as the customer sees it: lines with today's unit price and what is available."""

    lines: list[CartLine]
    unit_prices: dict[int, Money]
    available: dict[int, int]


def member_level_code_of(customer: CustomerProfile) -> str | None:
    return customer.member_level.code if customer.member_level_id else None


def cart_lines(*, customer: CustomerProfile) -> list[CartLine]:
    return list(CartLine.objects.filter(cart__customer=customer).select_related("variant", "variant__product")
                .order_by("id"))


def cart_view(*, customer: CustomerProfile) -> CartView:
    lines = cart_lines(customer=customer)
    level = member_level_code_of(customer)
    prices = {ln.pk: variant_price(variant=ln.variant, member_level_code=level).price for ln in lines}
    return CartView(lines=lines, unit_prices=prices,
                    available=available_of(variant_ids=[ln.variant_id for ln in lines]))


def cart_of(*, customer: CustomerProfile) -> Cart | None:
    return Cart.objects.filter(customer=customer).first()


# --- orders --------------------------------------------------------------------------------
def order_settings_of(*, merchant_ids: list[int]) -> dict[int, OrderSettings]:
    """merchant id -> its order settings (defaults, unsaved, where none were set)."""
    found = {s.merchant_id: s for s in OrderSettings.objects.filter(merchant_id__in=merchant_ids)}
    return {m: found.get(m) or OrderSettings(merchant_id=m) for m in merchant_ids}


def order_list(*, merchant_id: int | None = None, customer_id: int | None = None,
               status: str | None = None) -> QuerySet[Order]:
    qs = Order.objects.select_related("merchant")
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if status:
        qs = qs.filter(status=domain.order_status(status))
    return qs.order_by("-id")


def order_get(*, number: str, merchant_id: int | None = None, customer_id: int | None = None) -> Order:
    order = order_list(merchant_id=merchant_id, customer_id=customer_id).filter(number=number).first()
    if order is None:
        raise NotFound(f"No order {number}.", param="number")
    return order


def order_timeline(*, order: Order) -> list[OrderStatusChange]:
    """The order's status changes, oldest first: what the customer sees as its timeline."""
    return list(order.status_changes.order_by("id"))


def orders_due_to_expire(*, now, limit: int = 1000) -> list[int]:
    """Ids of unpaid orders whose payment time ran out."""
    unpaid = [domain.OrderStatus.SUBMITTED, domain.OrderStatus.APPROVED]
    return list(Order.objects.filter(status__in=unpaid, expires_at__lte=now).order_by("expires_at", "id")
                .values_list("id", flat=True)[:limit])


def orders_awaiting_payment(*, submitted_before, now, limit: int = 1000) -> list[Order]:
    """Unpaid, unexpired orders submitted before `submitted_before` (with their customer): whom to remind."""
    unpaid = [domain.OrderStatus.SUBMITTED, domain.OrderStatus.APPROVED]
    return list(Order.objects.filter(status__in=unpaid, created_at__lte=submitted_before, expires_at__gt=now,
                                     total_minor__gt=0)
                .select_related("customer").order_by("id")[:limit])


def checkout_group_get(*, group_id: int, customer_id: int | None = None) -> CheckoutGroup:
    qs = CheckoutGroup.objects.filter(pk=group_id)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    group = qs.first()
    if group is None:
        raise NotFound(f"No checkout {group_id}.", param="group_id")
    return group
