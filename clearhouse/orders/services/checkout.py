"""Checkout: the cart becomes one order per merchant under one checkout group.

One transaction, all or nothing: prices come from `domain.price_checkout`
only; then order numbers, the orders and their lines, coupon uses
(conditional UPDATE), points (customers services) and, last, the stock
reservation (inventory services). Any refusal on the way rolls back every
write, so stock, coupon counts and points are untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from clearhouse.catalog.selectors import variant_list, variant_price
from clearhouse.core.audit import actor_label
from clearhouse.core.errors import ValidationFailed
from clearhouse.core.money import Money, allocate
from clearhouse.customers.domain import InsufficientPoints, check_points, points_to_money
from clearhouse.customers.models import Address, CustomerProfile
from clearhouse.customers.selectors import points_balance, points_policy
from clearhouse.customers.services import points_redeem
from clearhouse.inventory.domain import UnknownSku
from clearhouse.inventory.services import stock_reserve_many
from clearhouse.orders import domain
from clearhouse.orders.locks import cart_select_for_update
from clearhouse.orders.models import (
    CartLine,
    CheckoutGroup,
    Coupon,
    Order,
    OrderLine,
    OrderNumberCounter,
    OrderStatusChange,
)
from clearhouse.orders.selectors import (
    coupon_get_by_code,
    coupon_terms,
    coupon_uses_by,
    member_level_code_of,
    order_settings_of,
)
from clearhouse.orders.services.coupons import coupon_use
from clearhouse.orders.services.events import order_event_record
from clearhouse.orders.services.lifecycle import order_approve

AUTO_APPROVE_ACTOR = "system:auto_approve"


@dataclass(frozen=True)
class ShippingAddress:
    """Where the parcel goes, as copied onto each order."""

    recipient: str
    phone: str
    region: str
    city: str
    line: str
    postal_code: str = ""

    @classmethod
    def of(cls, address: Address) -> ShippingAddress:
        return cls(recipient=address.recipient, phone=address.phone, region=address.region, city=address.city,
                   line=address.line, postal_code=address.postal_code)

    def check(self) -> None:
        for name, limit in (("recipient", 100), ("phone", 32), ("region", 100), ("city", 100), ("line", 300)):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                raise ValidationFailed(f"The address needs a {name} of 1 to {limit} characters.",
                                       param=f"address.{name}")


@dataclass(frozen=True)
class DirectLine:
    """A line of a direct checkout ("buy now"): a SKU (by code or variant id) and a quantity, no cart."""

    quantity: int
    sku: str | None = None
    variant_id: int | None = None


MAX_DIRECT_LINES = 100


def _direct_lines(lines: Sequence[DirectLine]) -> tuple[list[CartLine], dict]:
    """Unsaved cart lines for `lines` and the variants on sale they name, read in one query."""
    from clearhouse.orders.services.cart import check_cart_quantity

    if len(lines) > MAX_DIRECT_LINES:
        raise ValidationFailed(f"A checkout holds at most {MAX_DIRECT_LINES} SKUs.", param="lines")
    for i, line in enumerate(lines):
        check_cart_quantity(line.quantity, param=f"lines[{i}].quantity")
        if line.variant_id is None and not line.sku:
            raise ValidationFailed("Name the SKU (sku or variant_id).", param=f"lines[{i}].sku")
    found = list(variant_list(published_only=True).filter(
        Q(sku__in=[ln.sku for ln in lines if ln.sku]) | Q(pk__in=[ln.variant_id for ln in lines if ln.variant_id]))
        .select_related("product", "merchant"))
    by_sku, by_id = {v.sku: v for v in found}, {v.pk: v for v in found}
    out, seen = [], set()
    for i, line in enumerate(lines):
        variant = by_id.get(line.variant_id) if line.variant_id is not None else by_sku.get(line.sku)
        if variant is None or (line.sku and line.variant_id is not None and variant.sku != line.sku):
            raise UnknownSku(f"No SKU {line.sku or line.variant_id!r} on sale.", param=f"lines[{i}]")
        if variant.pk in seen:
            raise ValidationFailed(f"SKU {variant.sku} is named twice; give its total quantity once.",
                                   param=f"lines[{i}]")
        seen.add(variant.pk)
        out.append(CartLine(variant=variant, quantity=line.quantity))
    return out, by_id


def order_numbers_take(*, prefix: str, day: date, count: int) -> list[str]:
    """`count` fresh numbers for the day (the counter row stays locked until the transaction ends).

    One upsert statement: it creates the day's row or adds to it, and returns the new last number
    (PostgreSQL and SQLite >= 3.35 both speak INSERT ... ON CONFLICT ... RETURNING).
    """
    table = OrderNumberCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (prefix, day, last) VALUES (%s, %s, %s) "  # noqa: S608 (our own table name)
            f"ON CONFLICT (prefix, day) DO UPDATE SET last = {table}.last + excluded.last RETURNING last",
            [prefix, day.isoformat(), count])
        last = cursor.fetchone()[0]
    return [domain.format_order_number(day=day, sequence=s, prefix=prefix) for s in range(last - count + 1, last + 1)]


def priced_cart_lines(lines: Sequence[CartLine], customer: CustomerProfile,
                      on_sale: dict | None = None) -> list[domain.CartLine]:
    """Cart lines at the customer's price; a SKU no longer on sale is refused as unknown.

    `on_sale`: variant id -> Variant read as on sale in this transaction already (direct lines), else read."""
    if on_sale is None:
        on_sale = {v.pk: v for v in variant_list(published_only=True).filter(pk__in=[ln.variant_id for ln in lines])}
    level = member_level_code_of(customer)
    out = []
    for i, line in enumerate(lines):
        variant = on_sale.get(line.variant_id)
        if variant is None:
            raise UnknownSku(f"SKU {line.variant.sku} is no longer on sale.", param=f"lines[{i}]")
        out.append(domain.CartLine(merchant_id=variant.merchant_id, variant_id=variant.pk, quantity=line.quantity,
                                   unit_price=variant_price(variant=variant, member_level_code=level).price))
    return out


def _coupons(customer: CustomerProfile, platform_code: str | None, merchant_codes: Sequence[str],
             now: datetime) -> tuple[Coupon | None, list[Coupon]]:
    """The coupons named, each checked for its window and limits before anything is priced."""
    platform = coupon_get_by_code(code=platform_code) if platform_code else None
    if platform is not None and platform.merchant_id is not None:
        raise domain.CouponNotApplicable(f"Coupon {platform.code} is a merchant's coupon.", param="platform_coupon")
    merchant = [coupon_get_by_code(code=code) for code in dict.fromkeys(merchant_codes)]
    for coupon in merchant:
        if coupon.merchant_id is None:
            raise domain.CouponNotApplicable(f"Coupon {coupon.code} is a platform coupon.", param="merchant_coupons")
    for coupon in [c for c in (platform, *merchant) if c is not None]:
        terms = coupon_terms(coupon)
        domain.check_coupon_window(terms, now=now)  # the minimum spend is checked by pricing
        domain.check_coupon_usage(terms, total_used=coupon.used_count,
                                  customer_used=coupon_uses_by(coupon=coupon, customer_id=customer.pk))
    return platform, merchant


def _points_split(points: int, weights: list[int], currency: str) -> list[int]:
    """Points per order in proportion to the money they pay there (largest remainder: they sum to `points`)."""
    if points == 0:
        return [0] * len(weights)
    return [part.minor for part in allocate(Money(points, currency), weights)]


def _price(customer, lines, platform, merchant_coupons, points: int, on_sale: dict | None = None):
    cart = priced_cart_lines(lines, customer, on_sale)
    currency = cart[0].unit_price.currency
    merchants = list(dict.fromkeys(line.merchant_id for line in cart))
    order_settings = order_settings_of(merchant_ids=merchants)
    fees = {m: Money(s.shipping_fee_minor, currency) for m, s in order_settings.items()}
    points_value = points_to_money(points, points_policy()) if points else None
    if points and points_value.minor == 0:
        raise ValidationFailed("These points are worth less than the smallest coin.", param="points")
    priced = domain.price_checkout(
        cart, merchant_coupons=[coupon_terms(c) for c in merchant_coupons],
        platform_coupon=coupon_terms(platform) if platform else None, points=points_value, shipping=fees)
    if any(cap.kind == domain.DiscountKind.POINTS for cap in priced.caps):
        raise domain.PointsExceedTotal(f"{points} points are worth more than the goods left to pay.",
                                       param="points")
    return priced, order_settings


def _order_create(*, number: str, group: CheckoutGroup, priced: domain.PricedOrder, address: ShippingAddress,
                  coupon: Coupon | None, platform: Coupon | None, points: int, expires_at, variants) -> Order:
    order = Order.objects.create(
        number=number, group=group, customer_id=group.customer_id, merchant_id=priced.merchant_id,
        currency=group.currency, subtotal_minor=priced.subtotal.minor,
        merchant_coupon_amount_minor=priced.merchant_coupon_amount.minor,
        platform_coupon_amount_minor=priced.platform_coupon_amount.minor,
        points_amount_minor=priced.points_amount.minor,
        shipping_fee_minor=priced.shipping.minor, total_minor=priced.total.minor, points_redeemed=points,
        merchant_coupon=coupon, platform_coupon=platform, expires_at=expires_at,
        ship_recipient=address.recipient.strip(), ship_phone=address.phone.strip(), ship_region=address.region.strip(),
        ship_city=address.city.strip(), ship_line=address.line.strip(), ship_postal_code=address.postal_code.strip(),
    )
    written = order_lines_write(order=order, lines=priced.lines, variants=variants)
    # The rows just written, as a read would return them: answering the checkout needs no second read.
    _as_prefetched(order, "lines", written)
    merchant = variants[priced.lines[0].variant_id]._state.fields_cache.get("merchant")
    if merchant is not None:
        order.merchant = merchant
    return order


def order_lines_write(*, order: Order, lines: Sequence[domain.PricedLine], variants) -> list[OrderLine]:
    """Store priced lines (`variants`: variant id -> Variant with its product)."""
    return OrderLine.objects.bulk_create(
        OrderLine(order=order, merchant_id=order.merchant_id, variant_id=ln.variant_id,
                  product_id=variants[ln.variant_id].product_id, sku=variants[ln.variant_id].sku,
                  name=variants[ln.variant_id].product.name[:200], currency=order.currency,
                  unit_price_minor=ln.unit_price.minor, quantity=ln.quantity, subtotal_minor=ln.subtotal.minor,
                  merchant_discount_minor=ln.merchant_discount.minor,
                  platform_discount_minor=ln.platform_discount.minor,
                  points_discount_minor=ln.points_discount.minor, line_total_minor=ln.line_total.minor)
        for ln in lines
    )


def _group_create(customer, number: str, priced: domain.PricedCheckout, points: int,
                  platform: Coupon | None) -> CheckoutGroup:
    return CheckoutGroup.objects.create(
        number=number, customer=customer, currency=priced.currency, subtotal_minor=priced.subtotal.minor,
        merchant_coupon_amount_minor=priced.merchant_coupon_amount.minor,
        platform_coupon_amount_minor=priced.platform_coupon_amount.minor,
        points_amount_minor=priced.points_amount.minor, shipping_fee_minor=priced.shipping.minor,
        total_minor=priced.grand_total.minor, points_redeemed=points, platform_coupon=platform,
    )


def checkout_preview(*, customer: CustomerProfile, platform_coupon: str | None = None,
                     merchant_coupons: Sequence[str] = (), points: int = 0,
                     now: datetime | None = None) -> domain.PricedCheckout:
    """What `checkout_submit` would charge for the cart now, writing nothing.

    The same checks (coupons' windows and limits, points balance, minimum
    spend) and the same pricing as the submit, so the shopper sees the total
    they will pay; stock is checked for real only when they submit.
    """
    now = now or timezone.now()
    points = check_points(points, allow_zero=True)
    lines = list(CartLine.objects.filter(cart__customer=customer).select_related("variant", "variant__product")
                 .order_by("id"))
    if not lines:
        raise domain.EmptyCart(param="cart")
    platform, coupons = _coupons(customer, platform_coupon, merchant_coupons, now)
    if points and points > (balance := points_balance(customer=customer, now=now).points):
        raise InsufficientPoints(f"{points} points asked, {balance} available.", param="points")
    priced, _settings = _price(customer, lines, platform, coupons, points)
    return priced


@transaction.atomic
def checkout_submit(*, customer: CustomerProfile, address: ShippingAddress, platform_coupon: str | None = None,
                    merchant_coupons: Sequence[str] = (), points: int = 0, actor=None,
                    now: datetime | None = None, lines: Sequence[DirectLine] | None = None) -> CheckoutGroup:
    """Turn the customer's cart into one submitted order per merchant, or refuse and change nothing.

    Coupons are named by code: at most one platform coupon (whole cart) and
    one per merchant (that merchant's lines). `points` are redeemed at the
    configured rate (`insufficient_points` beyond the balance). Stock is held
    until `ORDER_UNPAID_EXPIRY` from now; merchants with auto-approve get
    their order approved at once. The cart is emptied.

    `lines` given: a direct checkout ("buy now") of those SKUs and quantities, the same rules and pricing,
    without the cart (which is neither read nor emptied).

    The group comes back with its orders, and each order with its lines, merchant and timeline, as written
    (`group.orders.all()`, `order.lines.all()`, `order.status_changes.all()` read nothing more).
    """
    now = now or timezone.now()
    points = check_points(points, allow_zero=True)
    address.check()
    on_sale = None
    if lines is None:
        cart = cart_select_for_update(customer_id=customer.pk)
        lines = list(cart.lines.select_related("variant", "variant__product", "variant__merchant").order_by("id"))
    else:
        cart = None
        lines, on_sale = _direct_lines(lines)
    if not lines:
        raise domain.EmptyCart(param="cart" if cart is not None else "lines")
    platform, merchant_coupons = _coupons(customer, platform_coupon, merchant_coupons, now)
    if points and points > (balance := points_balance(customer=customer, now=now).points):
        # said first, before pricing; points_redeem checks again under the customer's lock
        raise InsufficientPoints(f"{points} points asked, {balance} available.", param="points")
    priced, order_settings = _price(customer, lines, platform, merchant_coupons, points, on_sale)
    day = timezone.localdate(now)
    group = _group_create(customer, order_numbers_take(prefix="CG", day=day, count=1)[0], priced, points, platform)
    numbers = order_numbers_take(prefix="SO", day=day, count=len(priced.orders))
    split = _points_split(points, [o.points_amount.minor for o in priced.orders], priced.currency)
    by_merchant = {c.merchant_id: c for c in merchant_coupons}
    variants = {ln.variant_id: ln.variant for ln in lines}
    expires_at = now + settings.ORDER_UNPAID_EXPIRY
    orders = [
        _order_create(number=number, group=group, priced=po, address=address, coupon=by_merchant.get(po.merchant_id),
                      platform=platform, points=p, expires_at=expires_at, variants=variants)
        for number, po, p in zip(numbers, priced.orders, split, strict=True)
    ]
    _record_submission(orders, actor, platform, by_merchant)
    for coupon in sorted([c for c in (platform, *merchant_coupons) if c is not None], key=lambda c: c.pk):
        order = next((o for o in orders if o.merchant_id == coupon.merchant_id), None) if coupon.merchant_id else None
        coupon_use(coupon=coupon, customer_id=customer.pk, group=group, order=order, now=now)
    for order in orders:
        if order.points_redeemed:
            points_redeem(customer=customer, points=order.points_redeemed, order_reference=order.number, now=now)
    if cart is not None:
        cart.lines.all().delete()
    for order in orders:
        if order_settings[order.merchant_id].auto_approve:
            order_approve(order=order, actor=AUTO_APPROVE_ACTOR, note="auto-approve rule")
            order._prefetched_objects_cache.pop("status_changes", None)  # the approval's row: read when asked
    # Last: holds stock rows' locks for the shortest time. The order numbers were taken in this transaction
    # (no hold can exist for them) and a refusal rolls the whole checkout back: no savepoint, no lookup.
    stock_reserve_many(holds={o.number: [(ln.variant_id, ln.quantity) for ln in o.lines.all()] for o in orders},
                       expires_at=expires_at, actor=actor, new_references=True,
                       merchants={ln.variant_id: ln.merchant_id for o in orders for ln in o.lines.all()})
    _as_prefetched(group, "orders", orders)
    return group


def _as_prefetched(instance, name: str, rows: list) -> None:
    """Rows just written, kept on `instance` as prefetch_related would (`instance.<name>.all()` reads nothing;
    anything else, `order_by`, `filter`, still asks the database)."""
    queryset = getattr(instance, name).get_queryset()
    queryset._result_cache, queryset._prefetch_done = list(rows), True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[name] = queryset


def _record_submission(orders: list[Order], actor, platform: Coupon | None, by_merchant: dict) -> None:
    """Each new order's first timeline row (submitted) and its `submitted` event."""
    for order in orders:
        change = OrderStatusChange.objects.create(order=order, from_status="", to_status=domain.OrderStatus.SUBMITTED,
                                                  actor=actor_label(actor))
        _as_prefetched(order, "status_changes", [change])
        coupon = by_merchant.get(order.merchant_id)
        order_event_record(order=order, type="submitted", actor=actor, parameters={
            "group": order.group.number, "total_minor": order.total_minor, "currency": order.currency,
            "merchant_coupon": coupon.code if coupon else None, "platform_coupon": platform.code if platform else None,
            "points_redeemed": order.points_redeemed,
        })
