"""Checkout: one order per merchant under one group, priced by the domain, all or nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from clearhouse.core.errors import DomainError
from clearhouse.customers.selectors import points_balance
from clearhouse.inventory.models import Reservation
from clearhouse.orders.models import Coupon, CouponRedemption, Order, OrderSettings
from clearhouse.orders.services import checkout_submit, coupon_create
from tests.inventory.support import counters
from tests.orders.support import HOME, buy, fill_cart, world


def test_a_multi_merchant_cart_with_both_coupon_kinds_and_points_adds_up_to_the_cent(
        rich_customer, merchant, longjing, sencha, noodles, teahouse_fixed, platform_10pct):
    OrderSettings.objects.create(merchant=merchant, shipping_fee_minor=1000)
    group = buy(rich_customer, (longjing, 3), (sencha, 1), (noodles, 2), platform_coupon="PLAT10",
                merchant_coupons=["TEA777"], points=3333)

    orders = list(group.orders.order_by("id"))
    assert [o.merchant.code for o in orders] == ["teahouse", "noodles"]
    for order in orders:
        lines = list(order.lines.all())
        assert sum(ln.line_total_minor for ln in lines) == order.total_minor - order.shipping_fee_minor
        assert sum(ln.merchant_discount_minor for ln in lines) == order.merchant_coupon_amount_minor
        assert sum(ln.platform_discount_minor for ln in lines) == order.platform_coupon_amount_minor
        assert sum(ln.points_discount_minor for ln in lines) == order.points_amount_minor
        assert order.total_minor == (order.subtotal_minor - order.merchant_coupon_amount_minor
                                     - order.platform_coupon_amount_minor - order.points_amount_minor
                                     + order.shipping_fee_minor)
    tea, noodle = orders
    assert tea.subtotal_minor == 33333 and noodle.subtotal_minor == 3998
    assert (tea.merchant_coupon_amount_minor, noodle.merchant_coupon_amount_minor) == (777, 0)
    # 10% of (333.33 - 7.77 + 39.98) = 36.554 -> 36.55, split by what is left on each line
    assert tea.platform_coupon_amount_minor + noodle.platform_coupon_amount_minor == 3655
    assert tea.points_amount_minor + noodle.points_amount_minor == 3333  # 3,333 points = 33.33
    assert (tea.shipping_fee_minor, noodle.shipping_fee_minor) == (1000, 0)
    # the customer pays 373.31 - 7.77 - 36.55 - 33.33 + 10.00
    assert group.total_minor == 30566 == tea.total_minor + noodle.total_minor
    assert tea.points_redeemed + noodle.points_redeemed == 3333
    assert points_balance(customer=rich_customer).points == 5000 - 3333


def test_checkout_makes_readable_sortable_numbers_holds_stock_and_empties_the_cart(customer, longjing, noodles):
    group = buy(customer, (longjing, 2), (noodles, 1))
    numbers = [o.number for o in group.orders.order_by("id")]
    assert all(re.fullmatch(r"SO-\d{8}-\d{6}", n) for n in numbers)
    assert numbers == sorted(numbers) and len(set(numbers)) == 2
    assert re.fullmatch(r"CG-\d{8}-\d{6}", group.number)
    assert counters(longjing) == (10, 2) and counters(noodles) == (10, 1)
    order = group.orders.get(merchant=longjing.merchant)
    reservation = Reservation.objects.get(reference=order.number)
    assert reservation.expires_at == order.expires_at
    assert timedelta(minutes=29) < order.expires_at - timezone.now() <= timedelta(minutes=30)
    assert world(customer)["cart"] == []


def test_the_shipping_address_is_copied_onto_every_order(customer, longjing, noodles):
    group = buy(customer, (longjing, 1), (noodles, 1))
    for order in group.orders.all():
        assert (order.ship_recipient, order.ship_city, order.ship_line) == (HOME.recipient, HOME.city, HOME.line)


def test_every_order_starts_its_timeline_as_submitted(customer, longjing):
    order = buy(customer, (longjing, 1)).orders.get()
    assert [(c.from_status, c.to_status) for c in order.status_changes.all()] == [("", "submitted")]
    assert order.events.get().type == "submitted"


def test_a_merchant_with_auto_approve_gets_its_order_approved_at_once(customer, merchant, longjing, noodles):
    OrderSettings.objects.create(merchant=merchant, auto_approve=True)
    group = buy(customer, (longjing, 1), (noodles, 1))
    assert group.orders.get(merchant=merchant).status == "approved"
    assert group.orders.exclude(merchant=merchant).get().status == "submitted"
    approved = group.orders.get(merchant=merchant).status_changes.last()
    assert approved.actor == "system:auto_approve"


def test_member_level_prices_are_charged(customer, member_levels, longjing):
    from clearhouse.catalog.models import VariantLevelPrice
    from clearhouse.customers.models import CustomerProfile

    VariantLevelPrice.objects.create(variant=longjing, merchant=longjing.merchant, member_level_code="gold",
                                     price_minor=9000)
    CustomerProfile.objects.filter(pk=customer.pk).update(member_level=member_levels["gold"])
    customer.refresh_from_db()
    order = buy(customer, (longjing, 2)).orders.get()
    assert order.lines.get().unit_price_minor == 9000 and order.total_minor == 18000


# --- refusals: a 4xx code, and nothing changed ------------------------------------------------
def _refused(customer, code: str, **checkout) -> None:
    before = world(customer)
    with pytest.raises(DomainError) as caught:
        checkout_submit(customer=customer, address=HOME, **checkout)
    assert caught.value.code == code
    assert 400 <= caught.value.http_status < 500
    assert world(customer) == before


def test_an_expired_coupon_is_refused_and_nothing_changes(rich_customer, longjing, expired_coupon):
    fill_cart(rich_customer, (longjing, 1))
    _refused(rich_customer, "coupon_expired", platform_coupon="OLD", points=100)


def test_an_exhausted_coupon_is_refused_and_nothing_changes(rich_customer, customer_user, longjing, teahouse_fixed):
    Coupon.objects.filter(pk=teahouse_fixed.pk).update(used_count=2)
    fill_cart(rich_customer, (longjing, 2))
    _refused(rich_customer, "coupon_exhausted", merchant_coupons=["TEA777"], points=100)


def test_a_spend_below_the_coupon_minimum_is_refused_and_nothing_changes(rich_customer, sencha, teahouse_fixed):
    fill_cart(rich_customer, (sencha, 2))  # 66.66 < 100.00
    _refused(rich_customer, "coupon_min_spend_not_met", merchant_coupons=["TEA777"], points=100)


def test_points_beyond_the_balance_are_refused_and_nothing_changes(rich_customer, longjing, platform_10pct):
    fill_cart(rich_customer, (longjing, 2))
    _refused(rich_customer, "insufficient_points", platform_coupon="PLAT10", points=5001)


def test_points_worth_more_than_the_goods_are_refused(rich_customer, noodles):
    fill_cart(rich_customer, (noodles, 1))  # 19.99 of goods, 50.00 of points
    _refused(rich_customer, "points_exceed_total", points=5000)


def test_not_enough_stock_at_checkout_is_refused_and_nothing_changes(rich_customer, longjing, noodles,
                                                                     platform_10pct):
    fill_cart(rich_customer, (longjing, 5), (noodles, 1))
    from clearhouse.inventory.services import stock_adjust

    stock_adjust(variant_id=longjing.pk, quantity=-6, note="breakage")  # 4 left, 5 in the cart
    _refused(rich_customer, "insufficient_stock", platform_coupon="PLAT10", points=1000)


def test_an_unknown_coupon_and_an_empty_cart_are_refused(customer, longjing):
    _refused(customer, "empty_cart")
    fill_cart(customer, (longjing, 1))
    _refused(customer, "coupon_not_found", platform_coupon="NOPE")


def test_a_merchant_coupon_cannot_stand_in_for_a_platform_coupon(customer, longjing, teahouse_fixed):
    fill_cart(customer, (longjing, 2))
    _refused(customer, "coupon_not_applicable", platform_coupon="TEA777")


def test_the_per_customer_limit_counts_earlier_checkouts(customer, longjing, teahouse_fixed):
    buy(customer, (longjing, 1), merchant_coupons=["TEA777"])
    fill_cart(customer, (longjing, 1))
    _refused(customer, "coupon_limit_per_customer_reached", merchant_coupons=["TEA777"])


def test_a_coupon_use_is_counted_once_per_checkout(customer, longjing, noodles, platform_10pct):
    group = buy(customer, (longjing, 1), (noodles, 1), platform_coupon="PLAT10")
    platform_10pct.refresh_from_db()
    assert platform_10pct.used_count == 1
    assert CouponRedemption.objects.get().group == group
    assert Order.objects.filter(platform_coupon=platform_10pct).count() == 2


def test_coupon_terms_are_checked_when_it_is_made(merchant):
    from decimal import Decimal

    with pytest.raises(DomainError) as caught:
        coupon_create(code="BAD", percent_off=Decimal("150"), currency="CNY")
    assert caught.value.code == "coupon_invalid"
    coupon_create(code="GOOD", percent_off=Decimal("15"), currency="CNY")
    with pytest.raises(DomainError) as caught:
        coupon_create(code="good", percent_off=Decimal("15"), currency="CNY")
    assert caught.value.code == "coupon_code_taken"


def test_a_preview_prices_exactly_as_the_submit_and_writes_nothing(
        rich_customer, merchant, longjing, sencha, noodles, teahouse_fixed, platform_10pct):
    from clearhouse.orders.services import checkout_preview

    OrderSettings.objects.create(merchant=merchant, shipping_fee_minor=1000)
    fill_cart(rich_customer, (longjing, 3), (sencha, 1), (noodles, 2))
    terms = dict(platform_coupon="PLAT10", merchant_coupons=["TEA777"], points=3333)
    before = world(rich_customer)
    priced = checkout_preview(customer=rich_customer, **terms)
    assert world(rich_customer) == before
    group = checkout_submit(customer=rich_customer, address=HOME, **terms)
    assert priced.grand_total.minor == group.total_minor == 30566
    assert [o.total.minor for o in priced.orders] == list(group.orders.order_by("id").values_list("total_minor",
                                                                                                    flat=True))
