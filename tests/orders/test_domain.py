"""Order rules with no I/O: checkout pricing, coupon validity, order states, order numbers. No database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearhouse.core.errors import CurrencyMismatch, InvalidAmount, InvalidTransition, ValidationFailed
from clearhouse.core.money import MAX_MINOR, Money
from clearhouse.orders.domain import (
    TRANSITIONS,
    CartLine,
    Coupon,
    CouponExhausted,
    CouponExpired,
    CouponLimitPerCustomerReached,
    CouponMinSpendNotMet,
    CouponNotApplicable,
    CouponNotYetValid,
    DiscountKind,
    EmptyCart,
    InvalidCoupon,
    InvalidQuantity,
    OrderNotEditable,
    OrderStatus,
    can_cancel,
    can_edit_lines,
    check_can_edit_lines,
    check_coupon_usable,
    check_transition,
    format_order_number,
    price_checkout,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TEA, NOODLES, BOOKS = 1, 2, 3


def cny(amount: str) -> Money:
    return Money.parse(amount, "CNY")


def line(merchant_id: int, price: str, quantity: int = 1, variant_id: int = 1) -> CartLine:
    return CartLine(merchant_id, variant_id, cny(price), quantity)


def platform(code="P", **terms) -> Coupon:
    return Coupon(code, **terms)


def merchant_coupon(merchant_id: int, code="M", **terms) -> Coupon:
    return Coupon(code, merchant_id=merchant_id, **terms)


def line_totals(order) -> list[str]:
    return [p.line_total.to_string() for p in order.lines]


# --- pricing: worked examples ---------------------------------------------------------------
def test_a_cart_without_discounts_costs_its_subtotals_plus_shipping():
    checkout = price_checkout([line(TEA, "12.50", 2)], shipping={TEA: cny("8.00")})
    (order,) = checkout.orders
    assert order.subtotal == cny("25.00")
    assert order.total == cny("33.00")
    assert checkout.grand_total == cny("33.00")
    assert checkout.caps == ()


def test_a_cart_with_two_merchants_becomes_one_order_each_in_cart_order():
    checkout = price_checkout([line(NOODLES, "5.00"), line(TEA, "3.00"), line(NOODLES, "1.00", variant_id=2)])
    assert [o.merchant_id for o in checkout.orders] == [NOODLES, TEA]
    assert [len(o.lines) for o in checkout.orders] == [2, 1]
    assert checkout.grand_total == cny("9.00")


def test_a_merchant_coupon_is_spread_by_largest_remainder_over_its_own_lines_only():
    checkout = price_checkout(
        [line(TEA, "1.00"), line(TEA, "1.00", variant_id=2), line(TEA, "1.00", variant_id=3), line(NOODLES, "4.00")],
        merchant_coupons=[merchant_coupon(TEA, fixed=cny("1.00"))],
    )
    tea, noodles = checkout.orders
    # 100 / 3 = 33.33 each: the one cent left over goes to the first line.
    assert [p.merchant_discount.minor for p in tea.lines] == [34, 33, 33]
    assert tea.merchant_coupon_amount == cny("1.00")
    assert noodles.merchant_coupon_amount == cny("0.00")
    assert noodles.total == cny("4.00")


def test_a_percent_coupon_is_rounded_once_half_up():
    # 15% of 44.98 is 6.747: rounded once to 6.75, then split 6.00 / 0.75 by the subtotals 39.98 / 5.00.
    checkout = price_checkout([line(TEA, "19.99", 2), line(TEA, "5.00", variant_id=2)],
                              merchant_coupons=[merchant_coupon(TEA, percent=Decimal("15"))])
    (order,) = checkout.orders
    assert order.merchant_coupon_amount == cny("6.75")
    assert [p.merchant_discount.to_string() for p in order.lines] == ["6.00", "0.75"]


def test_the_platform_coupon_applies_after_merchant_discounts_across_every_merchant():
    checkout = price_checkout(
        [line(TEA, "60.00"), line(NOODLES, "40.00")],
        merchant_coupons=[merchant_coupon(TEA, fixed=cny("20.00"))],
        platform_coupon=platform(percent=Decimal("10")),
    )
    tea, noodles = checkout.orders
    # After the merchant coupon: 40.00 + 40.00; 10% of 80.00 = 8.00, split 4.00 / 4.00.
    assert (tea.platform_coupon_amount, noodles.platform_coupon_amount) == (cny("4.00"), cny("4.00"))
    assert checkout.grand_total == cny("72.00")


def test_points_apply_last_and_never_to_shipping():
    checkout = price_checkout([line(TEA, "30.00"), line(NOODLES, "10.00")], points=cny("100.00"),
                              shipping={TEA: cny("6.00"), NOODLES: cny("4.00")})
    tea, noodles = checkout.orders
    assert (tea.points_amount, noodles.points_amount) == (cny("30.00"), cny("10.00"))
    assert (tea.total, noodles.total) == (cny("6.00"), cny("4.00"))
    (cap,) = checkout.caps
    assert (cap.kind, cap.requested, cap.applied) == (DiscountKind.POINTS, cny("100.00"), cny("40.00"))


def test_a_fixed_coupon_larger_than_the_goods_is_capped_and_reported():
    checkout = price_checkout([line(TEA, "15.00")], merchant_coupons=[merchant_coupon(TEA, fixed=cny("20.00"))],
                              shipping={TEA: cny("5.00")})
    (order,) = checkout.orders
    assert order.merchant_coupon_amount == cny("15.00")
    assert order.total == cny("5.00")
    (cap,) = checkout.caps
    assert (cap.kind, cap.merchant_id, cap.requested, cap.applied) == (
        DiscountKind.MERCHANT_COUPON, TEA, cny("20.00"), cny("15.00"))


def test_points_are_spread_over_what_the_coupons_left_so_no_line_goes_negative():
    # Weights after the merchant discount alone would be 1/1/1 cent and put two cents on one line.
    checkout = price_checkout([line(TEA, "0.01"), line(TEA, "0.01", variant_id=2), line(TEA, "0.01", variant_id=3)],
                              platform_coupon=platform(fixed=cny("0.01")), points=cny("0.02"))
    (order,) = checkout.orders
    assert line_totals(order) == ["0.00", "0.00", "0.00"]
    assert [p.platform_discount.minor + p.points_discount.minor for p in order.lines] == [1, 1, 1]


def test_zero_priced_lines_take_no_discount():
    checkout = price_checkout([line(TEA, "0.00"), line(NOODLES, "9.00")], platform_coupon=platform(fixed=cny("3.00")))
    free, paid = checkout.orders
    assert free.platform_coupon_amount == cny("0.00") and free.total == cny("0.00")
    assert paid.total == cny("6.00")


def test_the_whole_multi_merchant_worked_example_adds_up_to_the_cent():
    checkout = price_checkout(
        [line(TEA, "19.99", 2), line(TEA, "5.00", variant_id=2), line(NOODLES, "33.33", 3)],
        merchant_coupons=[merchant_coupon(TEA, percent=Decimal("15"))],
        platform_coupon=platform(fixed=cny("10.00")), points=cny("7.77"), shipping={TEA: cny("8.00")},
    )
    tea, noodles = checkout.orders
    assert line_totals(tea) == ["29.61", "3.70"] and tea.total == cny("41.31")
    assert line_totals(noodles) == ["87.14"] and noodles.total == cny("87.14")
    assert checkout.platform_coupon_amount == cny("10.00") and checkout.points_amount == cny("7.77")
    assert checkout.grand_total == cny("128.45") == tea.total + noodles.total


# --- pricing: minimum spend -----------------------------------------------------------------
def test_a_merchant_coupon_minimum_counts_only_that_merchants_goods():
    lines = [line(TEA, "40.00"), line(NOODLES, "100.00")]
    with pytest.raises(CouponMinSpendNotMet) as exc:
        price_checkout(lines, merchant_coupons=[merchant_coupon(TEA, fixed=cny("5.00"), min_spend=cny("50.00"))])
    assert exc.value.code == "coupon_min_spend_not_met"
    ok = price_checkout(lines, merchant_coupons=[merchant_coupon(TEA, fixed=cny("5.00"), min_spend=cny("40.00"))])
    assert ok.merchant_coupon_amount == cny("5.00")


def test_the_platform_coupon_minimum_counts_the_cart_after_merchant_discounts():
    lines = [line(TEA, "60.00"), line(NOODLES, "40.00")]
    tea_coupon = merchant_coupon(TEA, fixed=cny("10.00"))
    with pytest.raises(CouponMinSpendNotMet):
        price_checkout(lines, merchant_coupons=[tea_coupon], platform_coupon=platform(fixed=cny("5.00"),
                                                                                      min_spend=cny("100.00")))
    ok = price_checkout(lines, merchant_coupons=[tea_coupon], platform_coupon=platform(fixed=cny("5.00"),
                                                                                       min_spend=cny("90.00")))
    assert ok.grand_total == cny("85.00")


# --- pricing: bad input --------------------------------------------------------------------
def test_an_empty_cart_is_refused():
    with pytest.raises(EmptyCart) as exc:
        price_checkout([])
    assert exc.value.code == "empty_cart"


@pytest.mark.parametrize("quantity", [0, -1, True, Decimal("1.5")])
def test_a_quantity_that_is_not_a_whole_number_of_at_least_one_is_refused(quantity):
    with pytest.raises(InvalidQuantity) as exc:
        price_checkout([line(TEA, "1.00"), CartLine(TEA, 2, cny("1.00"), quantity)])
    assert (exc.value.code, exc.value.param) == ("invalid_quantity", "lines[1].quantity")


def test_a_negative_unit_price_is_refused():
    with pytest.raises(InvalidAmount) as exc:
        price_checkout([line(TEA, "-1.00")])
    assert exc.value.param == "lines[0].unit_price"


def test_a_cart_too_large_to_store_is_refused():
    with pytest.raises(InvalidAmount):
        price_checkout([CartLine(TEA, 1, Money(MAX_MINOR // 2 + 1, "CNY"), 2)])


@pytest.mark.parametrize("kwargs, param", [
    ({"points": Money(100, "USD")}, "points"),
    ({"shipping": {TEA: Money(100, "USD")}}, f"shipping[{TEA}]"),
    ({"platform_coupon": Coupon("P", fixed=Money(100, "USD"))}, "platform_coupon"),
    ({"merchant_coupons": [Coupon("M", merchant_id=TEA, percent=Decimal(5), min_spend=Money(1, "USD"))]},
     "merchant_coupons"),
])
def test_one_checkout_is_one_currency(kwargs, param):
    with pytest.raises(CurrencyMismatch) as exc:
        price_checkout([line(TEA, "10.00")], **kwargs)
    assert (exc.value.code, exc.value.param) == ("currency_mismatch", param)


def test_lines_in_two_currencies_are_refused():
    with pytest.raises(CurrencyMismatch) as exc:
        price_checkout([line(TEA, "10.00"), CartLine(NOODLES, 2, Money(100, "USD"), 1)])
    assert exc.value.param == "lines[1].unit_price"


def test_a_merchant_takes_one_coupon_at_most():
    with pytest.raises(CouponNotApplicable) as exc:
        price_checkout([line(TEA, "10.00")], merchant_coupons=[merchant_coupon(TEA, code="A", fixed=cny("1.00")),
                                                                merchant_coupon(TEA, code="B", fixed=cny("1.00"))])
    assert exc.value.code == "coupon_not_applicable"


@pytest.mark.parametrize("kwargs", [
    {"merchant_coupons": [Coupon("M", merchant_id=BOOKS, fixed=Money(100, "CNY"))]},  # merchant not in the cart
    {"merchant_coupons": [Coupon("P", fixed=Money(100, "CNY"))]},  # a platform coupon passed as a merchant's
    {"platform_coupon": Coupon("M", merchant_id=TEA, fixed=Money(100, "CNY"))},  # and the other way round
])
def test_a_coupon_for_someone_else_does_not_apply(kwargs):
    with pytest.raises(CouponNotApplicable):
        price_checkout([line(TEA, "10.00")], **kwargs)


def test_shipping_for_a_merchant_not_in_the_cart_or_negative_is_refused():
    with pytest.raises(ValidationFailed):
        price_checkout([line(TEA, "10.00")], shipping={BOOKS: cny("1.00")})
    with pytest.raises(InvalidAmount):
        price_checkout([line(TEA, "10.00")], shipping={TEA: cny("-1.00")})


def test_negative_points_are_refused():
    with pytest.raises(InvalidAmount) as exc:
        price_checkout([line(TEA, "10.00")], points=cny("-0.01"))
    assert exc.value.param == "points"


# --- coupon terms -----------------------------------------------------------------------------
@pytest.mark.parametrize("terms", [
    {},
    {"percent": Decimal(10), "fixed": Money(100, "CNY")},
    {"percent": Decimal(0)},
    {"percent": Decimal("100.01")},
    {"percent": Decimal("NaN")},
    {"percent": Decimal("12.34567")},  # more than 4 decimals could round twice in Decimal's 28 digits
    {"percent": 10.0},
    {"fixed": Money(0, "CNY")},
    {"fixed": Money(100, "CNY"), "min_spend": Money(-1, "CNY")},
    {"fixed": Money(100, "CNY"), "total_limit": -1},
    {"fixed": Money(100, "CNY"), "per_customer_limit": True},
    {"fixed": Money(100, "CNY"), "valid_from": NOW, "valid_until": NOW},
])
def test_coupon_terms_that_make_no_sense_are_refused(terms):
    with pytest.raises(InvalidCoupon) as exc:
        Coupon("X", **terms)
    assert exc.value.code == "coupon_invalid"


def test_a_coupon_amount_and_minimum_share_one_currency():
    with pytest.raises(CurrencyMismatch):
        Coupon("X", fixed=Money(100, "CNY"), min_spend=Money(100, "USD"))


# --- coupon validity ------------------------------------------------------------------------
WINDOW = {"valid_from": NOW, "valid_until": NOW + timedelta(days=7)}


def usable(coupon, *, now=NOW, spend="100.00", total_used=0, customer_used=0):
    check_coupon_usable(coupon, now=now, spend=cny(spend), total_used=total_used, customer_used=customer_used)


def test_a_coupon_is_valid_from_its_start_inclusive_until_its_end_exclusive():
    coupon = platform(fixed=cny("5.00"), **WINDOW)
    usable(coupon, now=NOW)
    usable(coupon, now=NOW + timedelta(days=7, microseconds=-1))
    with pytest.raises(CouponNotYetValid) as early:
        usable(coupon, now=NOW - timedelta(microseconds=1))
    with pytest.raises(CouponExpired) as late:
        usable(coupon, now=NOW + timedelta(days=7))
    assert (early.value.code, late.value.code) == ("coupon_not_yet_valid", "coupon_expired")


def test_a_coupon_without_a_window_is_always_valid():
    usable(platform(fixed=cny("5.00")), now=datetime(1999, 1, 1, tzinfo=UTC))


def test_validity_needs_an_aware_now():
    with pytest.raises(ValidationFailed):
        usable(platform(fixed=cny("5.00"), **WINDOW), now=NOW.replace(tzinfo=None))


def test_a_coupon_used_up_in_total_is_exhausted():
    coupon = platform(fixed=cny("5.00"), total_limit=100, per_customer_limit=1)
    usable(coupon, total_used=99)
    with pytest.raises(CouponExhausted) as exc:
        usable(coupon, total_used=100)
    assert exc.value.code == "coupon_exhausted"


def test_a_customer_may_use_a_coupon_only_as_often_as_its_limit_says():
    coupon = platform(fixed=cny("5.00"), per_customer_limit=2)
    usable(coupon, customer_used=1, total_used=10**6)
    with pytest.raises(CouponLimitPerCustomerReached) as exc:
        usable(coupon, customer_used=2)
    assert exc.value.code == "coupon_limit_per_customer_reached"


def test_the_minimum_spend_is_checked_with_validity_too():
    with pytest.raises(CouponMinSpendNotMet):
        usable(platform(fixed=cny("5.00"), min_spend=cny("100.01")), spend="100.00")


def test_an_expired_coupon_says_expired_before_it_says_used_up():
    coupon = platform(fixed=cny("5.00"), total_limit=0, **WINDOW)
    with pytest.raises(CouponExpired):
        usable(coupon, now=NOW + timedelta(days=8))


# --- order state machine --------------------------------------------------------------------
HAPPY_PATH = ["submitted", "approved", "paid", "shipped", "delivered", "completed"]


def test_the_table_names_every_status():
    assert set(TRANSITIONS) == set(OrderStatus)


def test_an_order_goes_from_submitted_to_completed_step_by_step():
    for current, following in pairwise(HAPPY_PATH):
        check_transition(current, following)


def test_a_customer_may_pay_before_the_merchant_approves():
    check_transition("submitted", "paid")  # raises InvalidTransition when the table forbids it
    assert OrderStatus.PAID in TRANSITIONS[OrderStatus.SUBMITTED]


@pytest.mark.parametrize("current, target", [("submitted", "shipped"), ("approved", "shipped"),
                                             ("paid", "completed"), ("completed", "submitted")])
def test_an_order_cannot_skip_or_go_back_a_step(current, target):
    with pytest.raises(InvalidTransition) as exc:
        check_transition(current, target)
    assert exc.value.code == "invalid_transition"


@pytest.mark.parametrize("status", ["submitted", "approved", "paid"])
def test_an_order_can_be_cancelled_before_it_ships(status):
    check_transition(status, "cancelled")
    assert can_cancel(status)


@pytest.mark.parametrize("status", ["shipped", "delivered", "completed", "refunded", "cancelled"])
def test_an_order_cannot_be_cancelled_once_shipped(status):
    with pytest.raises(InvalidTransition):
        check_transition(status, "cancelled")
    assert not can_cancel(status)


@pytest.mark.parametrize("status", ["shipped", "delivered", "completed"])
def test_goods_that_left_come_back_through_a_refund(status):
    check_transition(status, "refunded")


@pytest.mark.parametrize("status", ["cancelled", "refunded"])
def test_cancelled_and_refunded_are_final(status):
    assert TRANSITIONS[OrderStatus(status)] == frozenset()


def test_staying_put_is_not_a_transition():
    with pytest.raises(InvalidTransition):
        check_transition("paid", "paid")


def test_an_unknown_status_is_a_validation_error():
    with pytest.raises(ValidationFailed) as exc:
        check_transition("draft", "submitted")
    assert exc.value.param == "from_status"


def test_lines_can_be_edited_only_before_approval():
    assert [s for s in OrderStatus if can_edit_lines(s)] == [OrderStatus.SUBMITTED]
    check_can_edit_lines("submitted")
    with pytest.raises(OrderNotEditable) as exc:
        check_can_edit_lines("approved")
    assert (exc.value.code, exc.value.http_status) == ("order_not_editable", 409)


# --- order numbers --------------------------------------------------------------------------
def test_an_order_number_reads_prefix_date_and_zero_padded_sequence():
    assert format_order_number(day=date(2026, 11, 23), sequence=123) == "SO-20261123-000123"


def test_order_numbers_sort_by_day_then_sequence():
    numbers = [format_order_number(day=d, sequence=s)
               for d, s in [(date(2026, 11, 23), 2), (date(2026, 11, 23), 10), (date(2026, 12, 1), 1)]]
    assert sorted(numbers) == numbers


@pytest.mark.parametrize("sequence", [0, -1, 1_000_000, True])
def test_a_sequence_outside_one_to_999999_is_refused(sequence):
    with pytest.raises(ValidationFailed) as exc:
        format_order_number(day=date(2026, 11, 23), sequence=sequence)
    assert exc.value.param == "sequence"


@given(st.lists(st.tuples(st.dates(date(2000, 1, 1), date(9999, 12, 31)), st.integers(1, 999_999)), min_size=2))
def test_order_numbers_sort_as_their_day_and_sequence_do(parts):
    numbers = {format_order_number(day=day, sequence=seq): (day, seq) for day, seq in parts}
    assert [numbers[n] for n in sorted(numbers)] == sorted(numbers.values())


def test_a_bad_prefix_is_refused():
    with pytest.raises(ValidationFailed):
        format_order_number(day=date(2026, 11, 23), sequence=1, prefix="so1")
