"""Writes of orders, one module per concern; import them from here.

    cart       cart_line_add, cart_line_set_quantity, cart_line_remove, cart_clear
    coupons    coupon_create (coupon_use / coupon_release run inside checkout and cancel)
    checkout   checkout_preview, checkout_submit (ShippingAddress, DirectLine), order_numbers_take
    edit       order_lines_edit
    lifecycle  order_transition, order_approve, order_lock, order_mark_paid, order_paid_if_payable,
               order_payment_window_extend,
               order_ship, order_deliver,
               order_complete, order_cancel, orders_expire
"""

from clearhouse.orders.services.cart import cart_clear, cart_line_add, cart_line_remove, cart_line_set_quantity
from clearhouse.orders.services.checkout import (
    DirectLine,
    ShippingAddress,
    checkout_preview,
    checkout_submit,
    order_numbers_take,
)
from clearhouse.orders.services.coupons import coupon_create
from clearhouse.orders.services.edit import order_lines_edit
from clearhouse.orders.services.lifecycle import (
    order_approve,
    order_cancel,
    order_complete,
    order_deliver,
    order_lock,
    order_mark_paid,
    order_paid_if_payable,
    order_payment_window_extend,
    order_ship,
    order_transition,
    orders_expire,
)

__all__ = [
    "DirectLine",
    "ShippingAddress",
    "cart_clear",
    "cart_line_add",
    "cart_line_remove",
    "cart_line_set_quantity",
    "checkout_preview",
    "checkout_submit",
    "coupon_create",
    "order_approve",
    "order_cancel",
    "order_complete",
    "order_deliver",
    "order_lines_edit",
    "order_lock",
    "order_mark_paid",
    "order_paid_if_payable",
    "order_payment_window_extend",
    "order_numbers_take",
    "order_ship",
    "order_transition",
    "orders_expire",
]
