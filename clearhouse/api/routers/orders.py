"""Cart and order endpoints: a customer's cart, checkout and orders; merchants' and finance's order desks.

`/cart...` and a customer's view of `/orders` are the signed-in customer's
own (`orders.place_orders`, a person behind the call). Callers with
`orders.view_orders` see orders as staff: a merchant-scoped key or user
sees only its merchant's orders, another merchant's order is a 404.
Merchant staff approve, ship, deliver and cancel (`orders.fulfil_orders`);
finance completes (`orders.complete_orders`). An order becomes paid only
through a payment (`/orders/{number}/payments`, bank transfers marked
received, cash recorded), so the money is always in the ledger.
"""

from __future__ import annotations

from ninja import Router, Status

from clearhouse.accounts.principal import Principal
from clearhouse.accounts.roles import COMPLETE_ORDERS, FULFIL_ORDERS, PLACE_ORDERS, VIEW_ORDERS
from clearhouse.api.pagination import Page, paginate
from clearhouse.api.routers.catalog_schemas import PageNumber, PageSize
from clearhouse.api.routers.order_schemas import (
    CancelIn,
    CartLineIn,
    CartLinePatch,
    CartOut,
    CheckoutIn,
    CheckoutOut,
    DeliverIn,
    NoteIn,
    OrderDetailOut,
    OrderLinesIn,
    OrderNumber,
    OrderOut,
    PathId,
    ShipIn,
    cart_out,
    checkout_out,
    order_detail_out,
    order_out,
)
from clearhouse.catalog.selectors import variant_get_by_sku
from clearhouse.core.errors import PermissionDenied, ValidationFailed
from clearhouse.customers.domain import CustomerAccountRequired
from clearhouse.customers.models import CustomerProfile
from clearhouse.customers.selectors import address_get
from clearhouse.customers.services import customer_profile_ensure
from clearhouse.orders import selectors, services
from clearhouse.orders.models import Order

cart_router = Router(tags=["cart"])
router = Router(tags=["orders"])


# --- who sees what -------------------------------------------------------------------------
def _customer(request) -> CustomerProfile:
    """The signed-in customer (made on first use); API keys have no person behind them."""
    principal: Principal = request.auth
    principal.require(PLACE_ORDERS)
    if principal.user is None or principal.merchant_id is not None:
        raise CustomerAccountRequired("Only a signed-in customer has a cart and orders; API keys have none.")
    return customer_profile_ensure(user=principal.user)


def _scope(request) -> dict:
    """Staff see orders (their merchant's, if scoped); customers see their own."""
    principal: Principal = request.auth
    if principal.has_perm(VIEW_ORDERS):
        return {"merchant_id": principal.merchant_id}
    if principal.has_perm(PLACE_ORDERS):
        return {"customer_id": _customer(request).pk}
    raise PermissionDenied(f"This action needs the {VIEW_ORDERS!r} permission.")


def _staff_order(request, number: str, perm: str) -> Order:
    principal: Principal = request.auth
    principal.require(perm)
    return selectors.order_get(number=number, merchant_id=principal.merchant_id)


def _detail(order: Order) -> dict:
    order = Order.objects.select_related("group", "merchant", "merchant_coupon", "platform_coupon").get(pk=order.pk)
    return order_detail_out(order, timeline=selectors.order_timeline(order=order))


# --- cart ----------------------------------------------------------------------------------
def _cart(customer: CustomerProfile) -> dict:
    return cart_out(selectors.cart_view(customer=customer))


@cart_router.get("", response=CartOut, summary="My cart")
def get_cart(request):
    return _cart(_customer(request))


@cart_router.post("/lines", response={201: CartOut}, summary="Add a SKU to my cart (adds to its quantity)")
def add_line(request, payload: CartLineIn):
    customer = _customer(request)
    services.cart_line_add(customer=customer, quantity=payload.quantity, variant_id=payload.variant_id,
                           sku=payload.sku)
    return Status(201, _cart(customer))


@cart_router.patch("/lines/{line_id}", response=CartOut, summary="Change a cart line's quantity")
def change_line(request, line_id: PathId, payload: CartLinePatch):
    customer = _customer(request)
    services.cart_line_set_quantity(customer=customer, line_id=line_id, quantity=payload.quantity)
    return _cart(customer)


@cart_router.delete("/lines/{line_id}", response=CartOut, summary="Remove a line from my cart")
def remove_line(request, line_id: PathId):
    customer = _customer(request)
    services.cart_line_remove(customer=customer, line_id=line_id)
    return _cart(customer)


@cart_router.post("/checkout", response={201: CheckoutOut},
                  summary="Check out the cart, or the `lines` given (buy now): one order per merchant under one "
                          "checkout group")
def checkout(request, payload: CheckoutIn):
    customer = _customer(request)
    if (payload.address_id is None) == (payload.address is None):
        raise ValidationFailed("Give either address_id (one of mine) or an address.", param="address")
    if payload.address_id is not None:
        address = services.ShippingAddress.of(address_get(customer=customer, address_id=payload.address_id))
    else:
        address = services.ShippingAddress(**payload.address.dict())
    lines = None
    if payload.lines is not None:
        lines = [services.DirectLine(sku=ln.sku, variant_id=ln.variant_id, quantity=ln.quantity)
                 for ln in payload.lines]
    group = services.checkout_submit(customer=customer, address=address, platform_coupon=payload.platform_coupon,
                                     merchant_coupons=payload.merchant_coupons, points=payload.points,
                                     actor=request.auth, lines=lines)
    orders = [_placed_detail(o) for o in sorted(group.orders.all(), key=lambda o: o.pk)]
    return Status(201, checkout_out(group, orders=orders))


def _placed_detail(order: Order) -> dict:
    """An order checkout just wrote, answered from the rows it wrote (lines, timeline, merchant), else read."""
    written = getattr(order, "_prefetched_objects_cache", {})
    if {"lines", "status_changes"} <= written.keys() and "merchant" in order._state.fields_cache:
        return order_detail_out(order, timeline=list(written["status_changes"]))
    return _detail(order)


# --- orders --------------------------------------------------------------------------------
@router.get("", response=Page[OrderOut], summary="List orders (customers: mine; merchants: their own)")
def list_orders(request, status: str | None = None, page: PageNumber = 1, page_size: PageSize = 50):
    qs = selectors.order_list(status=status, **_scope(request)).select_related(
        "group", "merchant_coupon", "platform_coupon")
    return paginate(qs, page, page_size, order_out)


@router.get("/{number}", response=OrderDetailOut, summary="An order with its lines and status timeline")
def get_order(request, number: OrderNumber):
    return _detail(selectors.order_get(number=number, **_scope(request)))


@router.post("/{number}/cancel", response=OrderDetailOut,
             summary="Cancel before shipping (stock, coupon use and points go back)")
def cancel_order(request, number: OrderNumber, payload: CancelIn):
    principal: Principal = request.auth
    if principal.has_perm(FULFIL_ORDERS):
        order = selectors.order_get(number=number, merchant_id=principal.merchant_id)
    else:
        order = selectors.order_get(number=number, customer_id=_customer(request).pk)
    return _detail(services.order_cancel(order=order, reason=payload.reason, actor=principal))


@router.put("/{number}/lines", response=OrderDetailOut, summary="Replace my order's lines (before approval)")
def edit_lines(request, number: OrderNumber, payload: OrderLinesIn):
    order = selectors.order_get(number=number, customer_id=_customer(request).pk)
    lines = []
    for i, line in enumerate(payload.lines):
        if line.variant_id is None and not line.sku:
            raise ValidationFailed("Name the SKU (sku or variant_id).", param=f"lines[{i}].sku")
        variant_id = line.variant_id or variant_get_by_sku(sku=line.sku, merchant_id=order.merchant_id).pk
        lines.append((variant_id, line.quantity))
    return _detail(services.order_lines_edit(order=order, lines=lines, actor=request.auth))


@router.post("/{number}/approve", response=OrderDetailOut, summary="Approve an order (merchant staff)")
def approve_order(request, number: OrderNumber, payload: NoteIn):
    order = _staff_order(request, number, FULFIL_ORDERS)
    return _detail(services.order_approve(order=order, actor=request.auth, note=payload.note))


@router.post("/{number}/ship", response=OrderDetailOut, summary="Ship an order: carrier and tracking number")
def ship_order(request, number: OrderNumber, payload: ShipIn):
    order = _staff_order(request, number, FULFIL_ORDERS)
    return _detail(services.order_ship(order=order, carrier=payload.carrier, tracking_number=payload.tracking_number,
                                       actor=request.auth))


@router.post("/{number}/deliver", response=OrderDetailOut, summary="Record delivery and who signed")
def deliver_order(request, number: OrderNumber, payload: DeliverIn):
    order = _staff_order(request, number, FULFIL_ORDERS)
    return _detail(services.order_deliver(order=order, signed_by=payload.signed_by, actor=request.auth))


@router.post("/{number}/complete", response=OrderDetailOut, summary="Complete a delivered order (finance)")
def complete_order(request, number: OrderNumber):
    order = _staff_order(request, number, COMPLETE_ORDERS)
    return _detail(services.order_complete(order=order, actor=request.auth))
