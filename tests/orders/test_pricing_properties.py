"""Property tests of checkout pricing: whatever the cart, coupons, points and shipping, nothing is created or lost.

Pure (no database): carts of up to four merchants, coupons of both kinds
(percent and fixed, often larger than the goods), points and shipping.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from clearhouse.core.money import Money
from clearhouse.orders.domain import CartLine, Coupon, DiscountKind, price_checkout


def money(minor: int) -> Money:
    return Money(minor, "CNY")


cart_lines = st.lists(
    st.builds(CartLine, st.integers(1, 4), st.integers(1, 10**6), st.builds(money, st.integers(0, 10**7)),
              st.integers(1, 50)),
    min_size=1, max_size=12,
)
percents = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2)
discount_terms = st.one_of(
    st.fixed_dictionaries({"percent": percents}),
    st.fixed_dictionaries({"fixed": st.builds(money, st.integers(1, 10**9))}),
)


@st.composite
def checkouts(draw):
    lines = draw(cart_lines)
    merchants = sorted({line.merchant_id for line in lines})
    with_coupon = draw(st.lists(st.sampled_from(merchants), unique=True))
    merchant_coupons = [Coupon(f"M{m}", merchant_id=m, **draw(discount_terms)) for m in with_coupon]
    platform = draw(st.none() | discount_terms.map(lambda terms: Coupon("P", **terms)))
    points = draw(st.none() | st.builds(money, st.integers(0, 10**9)))
    shipping = {m: money(draw(st.integers(0, 5000))) for m in draw(st.lists(st.sampled_from(merchants), unique=True))}
    return dict(lines=lines, merchant_coupons=merchant_coupons, platform_coupon=platform, points=points,
                shipping=shipping)


def minors(amounts) -> int:
    return sum(a.minor for a in amounts)


@given(checkouts())
def test_every_orders_lines_sum_to_its_total_minus_shipping(case):
    checkout = price_checkout(case.pop("lines"), **case)
    for order in checkout.orders:
        assert minors(p.line_total for p in order.lines) == order.total.minor - order.shipping.minor


@given(checkouts())
def test_order_totals_sum_to_what_the_customer_pays(case):
    checkout = price_checkout(case.pop("lines"), **case)
    assert minors(o.total for o in checkout.orders) == checkout.grand_total.minor
    assert checkout.grand_total.minor >= 0


@given(checkouts())
def test_nothing_is_created_or_lost_to_the_cent(case):
    lines = case.pop("lines")
    checkout = price_checkout(lines, **case)
    goods = sum(line.unit_price.minor * line.quantity for line in lines)
    shipping = minors(case["shipping"].values())
    discounts = (checkout.merchant_coupon_amount.minor + checkout.platform_coupon_amount.minor
                 + checkout.points_amount.minor)
    assert checkout.grand_total.minor == goods - discounts + shipping
    assert sorted((p.merchant_id, p.variant_id) for o in checkout.orders for p in o.lines) == sorted(
        (line.merchant_id, line.variant_id) for line in lines)


@given(checkouts())
def test_each_discount_kinds_allocations_sum_exactly_to_its_amount(case):
    checkout = price_checkout(case.pop("lines"), **case)
    all_lines = [p for o in checkout.orders for p in o.lines]
    for order in checkout.orders:
        assert minors(p.merchant_discount for p in order.lines) == order.merchant_coupon_amount.minor
        assert minors(p.platform_discount for p in order.lines) == order.platform_coupon_amount.minor
        assert minors(p.points_discount for p in order.lines) == order.points_amount.minor
    assert minors(p.platform_discount for p in all_lines) == checkout.platform_coupon_amount.minor
    assert minors(p.points_discount for p in all_lines) == checkout.points_amount.minor


@given(checkouts())
def test_a_discount_is_what_was_asked_unless_capped_and_then_the_cap_says_so(case):
    checkout = price_checkout(case.pop("lines"), **case)
    caps = {(c.kind, c.merchant_id): c for c in checkout.caps}
    points_cap = caps.get((DiscountKind.POINTS, None))
    asked = case["points"].minor if case["points"] else 0
    assert checkout.points_amount.minor == (points_cap.applied.minor if points_cap else asked)
    for cap in checkout.caps:
        assert cap.applied < cap.requested
    for order in checkout.orders:
        coupon = order.merchant_coupon
        if coupon is not None and coupon.fixed is not None and (DiscountKind.MERCHANT_COUPON, order.merchant_id) \
                not in caps:
            assert order.merchant_coupon_amount == coupon.fixed


@given(checkouts())
def test_no_line_goes_negative_and_each_share_is_within_a_cent_of_exact(case):
    checkout = price_checkout(case.pop("lines"), **case)
    all_lines = [p for o in checkout.orders for p in o.lines]
    after_merchant = [p.subtotal.minor - p.merchant_discount.minor for p in all_lines]
    total_weight = sum(after_merchant)
    for p, weight in zip(all_lines, after_merchant, strict=True):
        assert p.line_total.minor >= 0
        if total_weight:
            exact = Decimal(checkout.platform_coupon_amount.minor) * weight / total_weight
            assert abs(p.platform_discount.minor - exact) < 1


@given(checkouts())
def test_a_percent_merchant_coupon_is_the_rounded_percentage_of_its_merchants_goods(case):
    checkout = price_checkout(case.pop("lines"), **case)
    for order in checkout.orders:
        coupon = order.merchant_coupon
        if coupon is not None and coupon.percent is not None:
            exact = Decimal(order.subtotal.minor) * coupon.percent / 100
            assert abs(order.merchant_coupon_amount.minor - exact) <= Decimal("0.5")
