"""The order state machine in motion: approve, mark paid, ship, deliver, complete, cancel, expire.

`order_transition` is the one place an order's status changes (it checks
the domain's transition table and writes the timeline row); each step's
service adds what the step means elsewhere, in the same transaction:
shipping commits the reserved stock, cancelling gives back stock, coupon
uses and points, completing records the spend, earns points and counts
sales. All those calls are idempotent per order number.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clearhouse.catalog.services import product_sales_record
from clearhouse.core.audit import actor_label
from clearhouse.core.errors import ValidationFailed
from clearhouse.core.money import Money
from clearhouse.customers.selectors import customer_get, points_policy
from clearhouse.customers.services import customer_spend_record, points_earn, points_restore
from clearhouse.inventory.services import stock_commit, stock_release
from clearhouse.orders.domain import OrderExpired, OrderStatus, can_cancel, check_transition
from clearhouse.orders.locks import order_select_for_update
from clearhouse.orders.models import CouponRedemption, Order, OrderStatusChange
from clearhouse.orders.selectors import orders_due_to_expire
from clearhouse.orders.services.coupons import coupon_release

UNPAID = (OrderStatus.SUBMITTED, OrderStatus.APPROVED)


def order_transition(*, order: Order, to: OrderStatus, actor=None, note: str = "") -> Order:
    """Move an order to `to` if the transition table allows it (else InvalidTransition); record who and when.

    Takes the order's lock; callers run it inside their transaction.
    """
    with transaction.atomic():
        locked = _transition_locked(order_select_for_update(order_id=order.pk), to, actor, note)
    order.status = to
    return locked


def _transition_locked(locked: Order, to: OrderStatus, actor, note: str, now: datetime | None = None) -> Order:
    """`order_transition` for an order the caller has locked in its open transaction."""
    check_transition(locked.status, to)
    before = locked.status
    now = now or timezone.now()
    Order.objects.filter(pk=locked.pk).update(status=to, status_changed_at=now, updated_at=now)
    OrderStatusChange.objects.create(order=locked, from_status=before, to_status=to, actor=actor_label(actor),
                                     note=note[:500])
    locked.status = to
    locked.status_changed_at = now
    return locked


def order_paid_if_payable(*, order: Order, actor=None, note: str = "",
                          now: datetime | None = None) -> tuple[Order, bool]:
    """`order_mark_paid` for a caller inside its own transaction that takes a refusal as an answer.

    Returns (the order, True) when it moved to paid, or (the order as it stands, False) when it cannot be
    paid (already paid or later, cancelled, expired). Writes nothing when refused and raises nothing, so
    the caller needs no savepoint. `order` is the row as the caller read it: one conditional UPDATE moves
    it from that status if it is still that status and not expired (the same rule as `order_mark_paid`,
    checked by the database under the row's lock); only when the row changed meanwhile is it locked and
    read again. Every transition still sets status_changed_at in that UPDATE and writes its timeline row.
    """
    now = now or timezone.now()
    before = order.status
    if before in UNPAID and order.pk is not None:
        check_transition(before, OrderStatus.PAID)
        not_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        if Order.objects.filter(not_expired, pk=order.pk, status=before).update(
                status=OrderStatus.PAID, status_changed_at=now, updated_at=now):
            OrderStatusChange.objects.create(order=order, from_status=before, to_status=OrderStatus.PAID,
                                             actor=actor_label(actor), note=note[:500])
            order.status, order.status_changed_at, order.updated_at = OrderStatus.PAID, now, now
            return order, True
    locked = order_select_for_update(order_id=order.pk)
    if locked.status not in UNPAID or (locked.expires_at is not None and now >= locked.expires_at):
        return locked, False
    locked.updated_at = now
    return _transition_locked(locked, OrderStatus.PAID, actor, note, now=now), True


def _text(value: str, *, param: str, max_length: int = 100) -> str:
    value = (value or "").strip()
    if not value or len(value) > max_length:
        raise ValidationFailed(f"{param} has 1 to {max_length} characters.", param=param)
    return value


@transaction.atomic
def order_approve(*, order: Order, actor=None, note: str = "") -> Order:
    """Merchant staff (or the merchant's auto-approve rule) accept the order: its lines are now fixed."""
    return order_transition(order=order, to=OrderStatus.APPROVED, actor=actor, note=note)


@transaction.atomic
def order_mark_paid(*, order: Order, actor=None, note: str = "", now: datetime | None = None) -> Order:
    """The customer paid (the payments context calls this; finance may too). Refused once the order expired."""
    locked = order_select_for_update(order_id=order.pk)
    now = now or timezone.now()
    if locked.status in UNPAID and locked.expires_at is not None and now >= locked.expires_at:
        raise OrderExpired(f"Order {locked.number} was not paid by {locked.expires_at.isoformat()}.")
    return _transition_locked(locked, OrderStatus.PAID, actor, note)


def order_lock(*, order_id: int) -> Order:
    """Lock an order row for a decision another context makes about it (payments: one live payment per order).

    Call inside the caller's transaction; lock order as in orders/locks.py.
    """
    return order_select_for_update(order_id=order_id)


@transaction.atomic
def order_payment_window_extend(*, order: Order, until: datetime, actor=None) -> Order:
    """Give an unpaid order until `until` to be paid (a bank transfer takes days, a card seconds); never shortens."""
    locked = order_select_for_update(order_id=order.pk)
    if locked.status in UNPAID and locked.expires_at is not None and locked.expires_at < until:
        Order.objects.filter(pk=locked.pk).update(expires_at=until)
        locked.expires_at = until
    return locked


@transaction.atomic
def order_ship(*, order: Order, carrier: str, tracking_number: str, actor=None) -> Order:
    """The parcel left: record carrier and tracking number; the reserved units leave the stock."""
    carrier = _text(carrier, param="carrier")
    tracking_number = _text(tracking_number, param="tracking_number")
    locked = order_transition(order=order, to=OrderStatus.SHIPPED, actor=actor,
                              note=f"{carrier} {tracking_number}")
    Order.objects.filter(pk=locked.pk).update(carrier=carrier, tracking_number=tracking_number)
    locked.carrier, locked.tracking_number = carrier, tracking_number
    stock_commit(reference=locked.number, actor=actor)
    return locked


@transaction.atomic
def order_deliver(*, order: Order, signed_by: str, actor=None) -> Order:
    """The parcel arrived and `signed_by` signed for it."""
    signed_by = _text(signed_by, param="signed_by")
    locked = order_transition(order=order, to=OrderStatus.DELIVERED, actor=actor, note=f"signed by {signed_by}")
    Order.objects.filter(pk=locked.pk).update(signed_by=signed_by)
    locked.signed_by = signed_by
    return locked


@transaction.atomic
def order_complete(*, order: Order, actor=None) -> Order:
    """Close a delivered order: the customer's spend (and level), earned points, and sales volume count it."""
    locked = order_transition(order=order, to=OrderStatus.COMPLETED, actor=actor)
    customer = customer_get(customer_id=locked.customer_id)
    total = Money(locked.total_minor, locked.currency)
    if total.minor > 0:
        customer_spend_record(customer=customer, amount=total, order_reference=locked.number)
        if total.currency == points_policy().currency:
            points_earn(customer=customer, amount=total, order_reference=locked.number)
    sold = Counter()
    for product_id, quantity in locked.lines.values_list("product_id", "quantity"):
        sold[product_id] += quantity
    for product_id, quantity in sorted(sold.items()):
        product_sales_record(product_id=product_id, quantity=quantity)
    return locked


def _release_coupons(order: Order) -> None:
    """Give back the order's merchant coupon use; the platform coupon's once no live order of the checkout has it."""
    for redemption in CouponRedemption.objects.filter(order=order, released_at__isnull=True).order_by("coupon_id"):
        coupon_release(redemption=redemption)
    if order.platform_coupon_id is None:
        return
    others = Order.objects.filter(group_id=order.group_id, platform_coupon_id=order.platform_coupon_id).exclude(
        pk=order.pk).exclude(status=OrderStatus.CANCELLED)
    if others.exists():
        return
    redemption = CouponRedemption.objects.filter(group_id=order.group_id, coupon_id=order.platform_coupon_id,
                                                 released_at__isnull=True).first()
    if redemption is not None:
        coupon_release(redemption=redemption)


@transaction.atomic
def order_cancel(*, order: Order, reason: str, actor=None) -> Order:
    """Cancel before shipping: coupon uses, redeemed points and reserved stock all go back.

    After shipping the way back is a refund: InvalidTransition.
    """
    reason = _text(reason, param="reason", max_length=200)
    locked = order_transition(order=order, to=OrderStatus.CANCELLED, actor=actor, note=reason)
    Order.objects.filter(pk=locked.pk).update(cancel_reason=reason)
    locked.cancel_reason = reason
    _release_coupons(locked)  # lock order: coupons, then the customer (points), then stock rows
    if locked.points_redeemed:
        points_restore(customer=customer_get(customer_id=locked.customer_id), order_reference=locked.number)
    stock_release(reference=locked.number, actor=actor)
    return locked


EXPIRY_ACTOR = "system:order_expiry"


def orders_expire(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Cancel (reason "expired") unpaid orders whose payment time ran out; returns how many.

    One short transaction per order; one paid or cancelled meanwhile is skipped.
    """
    now = now or timezone.now()
    expired = 0
    for order_id in orders_due_to_expire(now=now, limit=limit):
        with transaction.atomic():
            order = order_select_for_update(order_id=order_id)
            if order.status in UNPAID and can_cancel(order.status) and order.expires_at <= now:
                order_cancel(order=order, reason="expired", actor=EXPIRY_ACTOR)
                expired += 1
    return expired
