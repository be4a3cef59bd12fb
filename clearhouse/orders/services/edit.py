"""Editing an order's lines before the merchant approves it.

The order is re-priced by `domain.price_checkout` for that order alone: its
merchant coupon applies again (its minimum spend too); the platform coupon
and points keep the amounts this order got at checkout (they were split
over the whole checkout), capped at the new goods. The stock hold is
swapped for one of the new lines in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.db.models import Sum

from clearhouse.catalog.selectors import variant_list, variant_price
from clearhouse.core.errors import ValidationFailed
from clearhouse.core.money import Money
from clearhouse.customers.selectors import customer_get
from clearhouse.inventory.domain import UnknownSku
from clearhouse.inventory.services import stock_release, stock_reserve
from clearhouse.orders import domain
from clearhouse.orders.locks import order_select_for_update
from clearhouse.orders.models import CheckoutGroup, Order
from clearhouse.orders.selectors import coupon_terms, member_level_code_of
from clearhouse.orders.services.cart import MAX_CART_LINES, check_cart_quantity
from clearhouse.orders.services.checkout import order_lines_write
from clearhouse.orders.services.events import order_event_record


def _new_lines(order: Order, lines: Sequence[tuple[int, int]]) -> tuple[list[domain.CartLine], dict]:
    if not lines or len(lines) > MAX_CART_LINES:
        raise ValidationFailed(f"An order has 1 to {MAX_CART_LINES} lines.", param="lines")
    ids = [variant_id for variant_id, _ in lines]
    if len(set(ids)) != len(ids):
        raise ValidationFailed("Each SKU appears once.", param="lines")
    on_sale = {v.pk: v for v in variant_list(merchant_id=order.merchant_id, published_only=True)
               .select_related("product").filter(pk__in=ids)}
    level = member_level_code_of(customer_get(customer_id=order.customer_id))
    out = []
    for i, (variant_id, quantity) in enumerate(lines):
        check_cart_quantity(quantity, param=f"lines[{i}].quantity")
        variant = on_sale.get(variant_id)
        if variant is None:
            raise UnknownSku(f"No SKU {variant_id} of this merchant on sale.", param=f"lines[{i}].variant_id")
        price = variant_price(variant=variant, member_level_code=level).price
        if price.currency != order.currency:
            raise ValidationFailed("A SKU priced in another currency cannot join this order.",
                                   param=f"lines[{i}].variant_id")
        out.append(domain.CartLine(merchant_id=order.merchant_id, variant_id=variant_id, unit_price=price,
                                   quantity=quantity))
    return out, on_sale


def _reprice(order: Order, cart: list[domain.CartLine]) -> domain.PricedOrder:
    def money(minor: int) -> Money:
        return Money(minor, order.currency)

    share = None
    if order.platform_coupon_amount_minor:
        share = domain.Coupon(code=order.platform_coupon.code, fixed=money(order.platform_coupon_amount_minor))
    priced = domain.price_checkout(
        cart, merchant_coupons=[coupon_terms(order.merchant_coupon)] if order.merchant_coupon_id else [],
        platform_coupon=share, points=money(order.points_amount_minor) if order.points_amount_minor else None,
        shipping={order.merchant_id: money(order.shipping_fee_minor)})
    if any(cap.kind == domain.DiscountKind.POINTS for cap in priced.caps):
        raise domain.PointsExceedTotal("The points redeemed for this order are worth more than the new lines.",
                                       param="lines")
    return priced.orders[0]


def _group_totals_refresh(group_id: int) -> None:
    fields = ["subtotal_minor", "merchant_coupon_amount_minor", "platform_coupon_amount_minor",
              "points_amount_minor", "shipping_fee_minor", "total_minor"]
    sums = Order.objects.filter(group_id=group_id).aggregate(**{f: Sum(f) for f in fields})
    CheckoutGroup.objects.filter(pk=group_id).update(**sums)


@transaction.atomic
def order_lines_edit(*, order: Order, lines: Sequence[tuple[int, int]], actor=None) -> Order:
    """Replace a submitted order's lines with (variant_id, quantity) pairs of its merchant's SKUs.

    Refused with `order_not_editable` once approved; with
    `insufficient_stock` (nothing changed) if the new lines cannot be held.
    """
    locked = order_select_for_update(order_id=order.pk)
    domain.check_can_edit_lines(locked.status)
    cart, variants = _new_lines(locked, lines)
    priced = _reprice(locked, cart)
    before = list(locked.lines.values_list("variant_id", "quantity"))
    locked.lines.all().delete()
    order_lines_write(order=locked, lines=priced.lines, variants=variants)
    Order.objects.filter(pk=locked.pk).update(
        subtotal_minor=priced.subtotal.minor, merchant_coupon_amount_minor=priced.merchant_coupon_amount.minor,
        platform_coupon_amount_minor=priced.platform_coupon_amount.minor,
        points_amount_minor=priced.points_amount.minor, total_minor=priced.total.minor)
    _group_totals_refresh(locked.group_id)
    order_event_record(order=locked, type="lines_edited", actor=actor, parameters={
        "before": [list(pair) for pair in before], "after": [[ln.variant_id, ln.quantity] for ln in cart],
        "total_minor": priced.total.minor})
    stock_release(reference=locked.number, actor=actor)
    stock_reserve(lines=[(ln.variant_id, ln.quantity) for ln in cart], reference=locked.number,
                  expires_at=locked.expires_at, actor=actor)
    locked.refresh_from_db()
    return locked
