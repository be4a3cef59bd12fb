"""The order state machine: approve, pay, ship, deliver, complete; cancel, edit, expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from clearhouse.catalog.models import Product
from clearhouse.core.errors import DomainError
from clearhouse.customers.models import CustomerSpend, PointsEntry
from clearhouse.customers.selectors import points_balance
from clearhouse.inventory.models import Reservation
from clearhouse.orders.models import CheckoutGroup, Order
from clearhouse.orders.services import (
    order_approve,
    order_cancel,
    order_complete,
    order_deliver,
    order_lines_edit,
    order_mark_paid,
    order_ship,
    orders_expire,
)
from clearhouse.orders.tasks import expire_unpaid_orders
from tests.inventory.support import counters
from tests.orders.support import buy, world


def _refused(customer, code: str, call) -> DomainError:
    before = world(customer)
    with pytest.raises(DomainError) as caught:
        call()
    assert caught.value.code == code
    assert 400 <= caught.value.http_status < 500
    assert world(customer) == before
    return caught.value


def test_an_order_goes_from_submitted_to_completed_and_each_step_is_on_the_timeline(rich_customer, longjing):
    order = buy(rich_customer, (longjing, 3), points=1000).orders.get()  # 300.00 - 10.00 of points
    order_approve(order=order, actor="user:merchant")
    order_mark_paid(order=order, actor="user:finance")
    order_ship(order=order, carrier="SF Express", tracking_number="SF123", actor="user:merchant")
    assert counters(longjing) == (7, 0)  # shipped units left the warehouse
    order_deliver(order=order, signed_by="Lin Mei", actor="user:merchant")
    order_complete(order=order, actor="user:finance")

    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number, order.signed_by) == (
        "completed", "SF Express", "SF123", "Lin Mei")
    steps = [(c.from_status, c.to_status, c.actor) for c in order.status_changes.all()]
    assert steps == [("", "submitted", "system"), ("submitted", "approved", "user:merchant"),
                     ("approved", "paid", "user:finance"), ("paid", "shipped", "user:merchant"),
                     ("shipped", "delivered", "user:merchant"), ("delivered", "completed", "user:finance")]
    assert CustomerSpend.objects.get(order_reference=order.number).amount_minor == 29000
    assert PointsEntry.objects.get(order_reference=order.number, reason="earned").delta == 290
    assert Product.objects.get(pk=longjing.product_id).sales_volume == 3


def test_completing_lifts_the_customers_member_level(customer, member_levels, longjing):
    order = buy(customer, (longjing, 10)).orders.get()  # 1,000.00: silver
    for step in (order_approve, order_mark_paid):
        step(order=order)
    order_ship(order=order, carrier="SF", tracking_number="1")
    order_deliver(order=order, signed_by="Lin")
    order_complete(order=order)
    customer.refresh_from_db()
    assert customer.member_level.code == "silver"


def test_cancelling_gives_back_stock_coupon_uses_and_points(rich_customer, longjing, noodles, teahouse_fixed,
                                                             platform_10pct):
    before = world(rich_customer)
    group = buy(rich_customer, (longjing, 2), (noodles, 1), platform_coupon="PLAT10", merchant_coupons=["TEA777"],
                points=2000)
    tea, noodle = group.orders.order_by("id")
    order_cancel(order=tea, reason="changed my mind")
    teahouse_fixed.refresh_from_db()
    platform_10pct.refresh_from_db()
    assert teahouse_fixed.used_count == 0
    assert platform_10pct.used_count == 1  # the noodle order still uses it
    assert counters(longjing) == (10, 0) and counters(noodles) == (10, 1)
    order_cancel(order=noodle, reason="changed my mind")
    platform_10pct.refresh_from_db()
    assert platform_10pct.used_count == 0
    after = world(rich_customer)
    assert (after["stock"], after["coupons"], after["points"], after["redemptions"]) == (
        before["stock"], before["coupons"], before["points"], 0)
    tea.refresh_from_db()
    assert (tea.status, tea.cancel_reason) == ("cancelled", "changed my mind")
    assert tea.status_changes.last().note == "changed my mind"


def test_a_paid_order_can_still_be_cancelled_before_shipping(customer, longjing):
    order = buy(customer, (longjing, 1)).orders.get()
    order_approve(order=order)
    order_mark_paid(order=order)
    order_cancel(order=order, reason="out of season")
    assert counters(longjing) == (10, 0)


def test_cancelling_after_shipping_is_an_invalid_transition(customer, longjing):
    order = buy(customer, (longjing, 1)).orders.get()
    order_approve(order=order)
    order_mark_paid(order=order)
    order_ship(order=order, carrier="SF", tracking_number="1")
    error = _refused(customer, "invalid_transition", lambda: order_cancel(order=order, reason="too late"))
    assert error.http_status == 409


@pytest.mark.parametrize("step", ["ship", "deliver", "complete"])
def test_skipping_a_step_is_an_invalid_transition(customer, longjing, step):
    order = buy(customer, (longjing, 1)).orders.get()
    calls = {
        "ship": lambda: order_ship(order=order, carrier="SF", tracking_number="1"),
        "deliver": lambda: order_deliver(order=order, signed_by="Lin"),
        "complete": lambda: order_complete(order=order),
    }
    _refused(customer, "invalid_transition", calls[step])


def test_approving_twice_is_an_invalid_transition(customer, longjing):
    order = buy(customer, (longjing, 1)).orders.get()
    order_approve(order=order)
    _refused(customer, "invalid_transition", lambda: order_approve(order=order))


def test_editing_lines_before_approval_reprices_and_swaps_the_stock_hold(customer, longjing, sencha, noodles,
                                                                         teahouse_fixed):
    group = buy(customer, (longjing, 1), (noodles, 1), merchant_coupons=["TEA777"])
    tea = group.orders.get(merchant=longjing.merchant)
    order_lines_edit(order=tea, lines=[(longjing.pk, 2), (sencha.pk, 3)], actor="user:lin")
    tea.refresh_from_db()
    assert tea.subtotal_minor == 20000 + 9999
    assert tea.merchant_coupon_amount_minor == 777
    assert tea.total_minor == 29999 - 777
    assert sum(ln.line_total_minor for ln in tea.lines.all()) == tea.total_minor - tea.shipping_fee_minor
    assert counters(longjing) == (10, 2) and counters(sencha) == (10, 3)
    group.refresh_from_db()
    assert group.total_minor == sum(Order.objects.filter(group=group).values_list("total_minor", flat=True))
    assert tea.events.last().type == "lines_edited"


def test_editing_after_approval_is_refused(customer, longjing):
    order = buy(customer, (longjing, 1)).orders.get()
    order_approve(order=order)
    error = _refused(customer, "order_not_editable", lambda: order_lines_edit(order=order, lines=[(longjing.pk, 2)]))
    assert error.http_status == 409


def test_an_edit_beyond_the_stock_or_with_another_merchants_sku_changes_nothing(customer, longjing, noodles):
    order = buy(customer, (longjing, 1)).orders.get()
    _refused(customer, "insufficient_stock", lambda: order_lines_edit(order=order, lines=[(longjing.pk, 11)]))
    _refused(customer, "unknown_sku", lambda: order_lines_edit(order=order, lines=[(noodles.pk, 1)]))
    _refused(customer, "invalid_quantity", lambda: order_lines_edit(order=order, lines=[(longjing.pk, 0)]))


def test_an_edit_below_the_merchant_coupons_minimum_is_refused(customer, longjing, sencha, teahouse_fixed):
    order = buy(customer, (longjing, 1), merchant_coupons=["TEA777"]).orders.get()
    _refused(customer, "coupon_min_spend_not_met", lambda: order_lines_edit(order=order, lines=[(sencha.pk, 1)]))


def test_unpaid_orders_expire_and_give_everything_back(rich_customer, longjing, noodles, platform_10pct):
    before = world(rich_customer)
    group = buy(rich_customer, (longjing, 1), (noodles, 1), platform_coupon="PLAT10", points=500)
    paid = group.orders.get(merchant=noodles.merchant)
    order_approve(order=paid)
    order_mark_paid(order=paid)
    assert orders_expire(now=timezone.now() + timedelta(minutes=29)) == 0
    assert orders_expire(now=timezone.now() + timedelta(minutes=31)) == 1
    late = group.orders.get(merchant=longjing.merchant)
    assert (late.status, late.cancel_reason) == ("cancelled", "expired")
    assert late.status_changes.last().actor == "system:order_expiry"
    assert counters(longjing) == (10, 0)
    assert points_balance(customer=rich_customer).points == before["points"] - paid.points_redeemed
    assert expire_unpaid_orders.call() == 0  # nothing is due now; running again changes nothing


def test_an_expired_order_cannot_be_marked_paid(customer, longjing):
    order = buy(customer, (longjing, 1)).orders.get()
    order_approve(order=order)
    error = _refused(customer, "order_expired",
                     lambda: order_mark_paid(order=order, now=timezone.now() + timedelta(hours=1)))
    assert error.http_status == 409


def test_the_reservation_carries_the_order_number(customer, longjing):
    group = buy(customer, (longjing, 2))
    order = group.orders.get()
    assert Reservation.objects.get(reference=order.number).quantity == 2
    assert CheckoutGroup.objects.get().number != order.number
