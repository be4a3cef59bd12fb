"""Customer order pages (cart, checkout, my orders) and the merchant's order desk.

Thin: they parse forms and call the orders services and selectors. Refusals
(typed domain errors) become a translated message and the page shows again
with nothing changed, since every service is all or nothing. Scoping is the
selectors': another customer's or another merchant's order is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clearhouse.accounts.principal import Principal, principal_for_user
from clearhouse.accounts.roles import FULFIL_ORDERS, PLACE_ORDERS, RECORD_OFFLINE_PAYMENTS, VIEW_ORDERS, VIEW_PAYMENTS
from clearhouse.core.errors import DomainError, NotFound
from clearhouse.core.money import Money
from clearhouse.customers.models import CustomerProfile
from clearhouse.customers.selectors import address_get, address_list, points_balance
from clearhouse.customers.services import customer_profile_ensure
from clearhouse.orders import selectors as orders
from clearhouse.orders import services as order_services
from clearhouse.orders.domain import OrderStatus, can_cancel
from clearhouse.orders.models import CheckoutGroup, Order
from clearhouse.web.errors import error_text
from clearhouse.web.forms import SHOP_CURRENCY, CartQuantityForm, CheckoutForm, DeliverForm, ShipForm
from clearhouse.web.pay_views import UNPAID, order_payments

ORDERS_PAGE_SIZE = 20


# --- customers -----------------------------------------------------------------------------
def _customer(request: HttpRequest) -> CustomerProfile:
    if not principal_for_user(request.user).has_perm(PLACE_ORDERS):
        raise PermissionDenied
    return customer_profile_ensure(user=request.user)


@dataclass(frozen=True)
class CartRow:
    line: object
    unit_price: Money
    subtotal: Money
    available: int

    @property
    def short(self) -> bool:
        return self.line.quantity > self.available


def _cart_rows(customer: CustomerProfile) -> tuple[list[CartRow], Money]:
    view = orders.cart_view(customer=customer)
    rows = []
    for ln in view.lines:
        unit = view.unit_prices[ln.pk]
        rows.append(CartRow(ln, unit, Money(unit.minor * ln.quantity, unit.currency),
                            view.available.get(ln.variant_id, 0)))
    currency = rows[0].unit_price.currency if rows else SHOP_CURRENCY
    total = Money.zero(currency)
    for row in rows:
        total = total + row.subtotal
    return rows, total


@login_required
def cart_page(request: HttpRequest) -> HttpResponse:
    rows, subtotal = _cart_rows(_customer(request))
    return render(request, "web/orders/cart.html", {
        "rows": rows, "subtotal": subtotal, "any_short": any(r.short for r in rows),
    })


@login_required
@require_POST
def cart_line_update(request: HttpRequest, line_id: int) -> HttpResponse:
    customer = _customer(request)
    form = CartQuantityForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Quantities are whole numbers from 1 to 999."))
        return redirect("web:cart")
    try:
        order_services.cart_line_set_quantity(customer=customer, line_id=line_id,
                                              quantity=form.cleaned_data["quantity"])
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Quantity updated."))
    return redirect("web:cart")


@login_required
@require_POST
def cart_line_delete(request: HttpRequest, line_id: int) -> HttpResponse:
    customer = _customer(request)
    try:
        order_services.cart_line_remove(customer=customer, line_id=line_id)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Removed from your cart."))
    return redirect("web:cart")


@dataclass(frozen=True)
class Summary:
    """What a checkout costs, read from the checkout group the service priced."""

    subtotal: Money
    merchant_coupon: Money
    platform_coupon: Money
    points: Money
    shipping: Money
    total: Money

    @classmethod
    def of_priced(cls, priced) -> Summary:
        return cls(priced.subtotal, priced.merchant_coupon_amount, priced.platform_coupon_amount,
                   priced.points_amount, priced.shipping, priced.grand_total)

    @classmethod
    def of(cls, group: CheckoutGroup) -> Summary:
        def money(minor: int) -> Money:
            return Money(minor, group.currency)

        return cls(money(group.subtotal_minor), money(group.merchant_coupon_amount_minor),
                   money(group.platform_coupon_amount_minor), money(group.points_amount_minor),
                   money(group.shipping_fee_minor), money(group.total_minor))


def _shipping_address(customer: CustomerProfile, form: CheckoutForm) -> order_services.ShippingAddress:
    if form.new_address_given():
        data = form.cleaned_data
        return order_services.ShippingAddress(recipient=data["recipient"], phone=data["phone"],
                                              region=data["region"], city=data["city"], line=data["line"],
                                              postal_code=data["postal_code"])
    saved = address_get(customer=customer, address_id=int(form.cleaned_data["address"]))
    return order_services.ShippingAddress.of(saved)


def _checkout(request: HttpRequest, customer: CustomerProfile, form: CheckoutForm, *, preview: bool):
    data = form.cleaned_data
    terms = {"customer": customer, "platform_coupon": data["platform_coupon"],
             "merchant_coupons": data["merchant_coupons"], "points": data["points"]}
    if preview:  # the submit's own checks and pricing, writing nothing
        return Summary.of_priced(order_services.checkout_preview(**terms))
    return order_services.checkout_submit(**terms, address=_shipping_address(customer, form),
                                          actor=principal_for_user(request.user))


@login_required
def checkout_page(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    addresses = list(address_list(customer=customer))
    rows, subtotal = _cart_rows(customer)
    if request.method == "POST":
        form = CheckoutForm(request.POST, addresses=addresses)
    else:
        default = next((a for a in addresses if a.is_default), addresses[0] if addresses else None)
        form = CheckoutForm(addresses=addresses,
                            initial={"address": str(default.pk) if default else CheckoutForm.NEW_ADDRESS})
    summary = None
    if request.method == "POST" and form.is_valid():
        preview = request.POST.get("action") == "preview"
        try:
            result = _checkout(request, customer, form, preview=preview)
        except DomainError as exc:
            messages.error(request, error_text(exc))
        else:
            if preview:
                summary = result
            else:
                return _after_checkout(request, result)
    return render(request, "web/orders/checkout.html", {
        "form": form, "rows": rows, "subtotal": subtotal, "summary": summary, "has_addresses": bool(addresses),
        "points": points_balance(customer=customer),
    })


def _after_checkout(request: HttpRequest, group: CheckoutGroup) -> HttpResponse:
    """On to paying: the pay page of the checkout's first order with something to pay (it lists the others)."""
    placed = list(group.orders.order_by("id").values_list("number", "total_minor"))
    numbers = [number for number, _total in placed]
    messages.success(request, _("Thank you! Your order is placed: %(numbers)s.") % {"numbers": ", ".join(numbers)})
    to_pay = [number for number, total in placed if total > 0]
    if to_pay:
        return redirect("web:pay", number=to_pay[0])
    if len(numbers) == 1:
        return redirect("web:order", number=numbers[0])
    return redirect("web:orders")


def _order_context(order: Order) -> dict:
    def money(minor: int) -> Money:
        return Money(minor, order.currency)

    lines = [(ln, money(ln.unit_price_minor), money(ln.subtotal_minor), money(ln.line_total_minor))
             for ln in order.lines.order_by("id")]
    totals = {
        "subtotal": money(order.subtotal_minor), "merchant_coupon": money(order.merchant_coupon_amount_minor),
        "platform_coupon": money(order.platform_coupon_amount_minor), "points": money(order.points_amount_minor),
        "shipping": money(order.shipping_fee_minor), "total": money(order.total_minor),
    }
    return {"order": order, "lines": lines, "totals": totals, "timeline": orders.order_timeline(order=order),
            "can_cancel": can_cancel(order.status)}


@login_required
def my_orders(request: HttpRequest) -> HttpResponse:
    customer = _customer(request)
    page = Paginator(orders.order_list(customer_id=customer.pk), ORDERS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/orders/my_orders.html", {
        "page": page, "rows": [(o, Money(o.total_minor, o.currency)) for o in page.object_list],
    })


@login_required
def my_order(request: HttpRequest, number: str) -> HttpResponse:
    customer = _customer(request)
    try:
        order = orders.order_get(number=number, customer_id=customer.pk)
    except NotFound:
        raise Http404 from None
    return render(request, "web/orders/order.html", {
        **_order_context(order), "payments": order_payments(order=order, customer_id=customer.pk),
        "can_pay": order.status in UNPAID and order.total_minor > 0
        and (order.expires_at is None or order.expires_at > timezone.now()),
    })


@login_required
@require_POST
def my_order_cancel(request: HttpRequest, number: str) -> HttpResponse:
    """The customer cancels their own order while it has not shipped."""
    customer = _customer(request)
    try:
        order = orders.order_get(number=number, customer_id=customer.pk)
    except NotFound:
        raise Http404 from None
    try:
        order_services.order_cancel(order=order, reason="cancelled by the customer",
                                    actor=principal_for_user(request.user))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Order %(number)s cancelled.") % {"number": order.number})
    return redirect("web:order", number=order.number)


# --- merchants -----------------------------------------------------------------------------
def _merchant(request: HttpRequest, perm: str) -> Principal:
    principal = principal_for_user(request.user)
    if principal.merchant_id is None or not principal.has_perm(perm):
        raise PermissionDenied
    return principal


STATUS_FILTERS = [OrderStatus.SUBMITTED, OrderStatus.APPROVED, OrderStatus.PAID, OrderStatus.SHIPPED,
                  OrderStatus.DELIVERED, OrderStatus.COMPLETED, OrderStatus.CANCELLED]


@login_required
def merchant_orders(request: HttpRequest) -> HttpResponse:
    principal = _merchant(request, VIEW_ORDERS)
    status = request.GET.get("status") or ""
    if status not in {s.value for s in STATUS_FILTERS}:
        status = ""
    qs = orders.order_list(merchant_id=principal.merchant_id, status=status or None)
    page = Paginator(qs, ORDERS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/merchant/orders.html", {
        "page": page, "rows": [(o, Money(o.total_minor, o.currency)) for o in page.object_list],
        "status": status, "statuses": [s.value for s in STATUS_FILTERS],
        "can_fulfil": principal.has_perm(FULFIL_ORDERS),
    })


def _merchant_order(principal: Principal, number: str) -> Order:
    try:
        return orders.order_get(number=number, merchant_id=principal.merchant_id)
    except NotFound:
        raise Http404 from None


@login_required
def merchant_order(request: HttpRequest, number: str) -> HttpResponse:
    principal = _merchant(request, VIEW_ORDERS)
    order = _merchant_order(principal, number)
    return render(request, "web/merchant/order.html", {
        **_order_context(order), "can_fulfil": principal.has_perm(FULFIL_ORDERS),
        "payments": order_payments(order=order, merchant_id=principal.merchant_id)
        if principal.has_perm(VIEW_PAYMENTS) else [],
        "can_record_cash": principal.has_perm(RECORD_OFFLINE_PAYMENTS) and order.status in UNPAID,
        "total": Money(order.total_minor, order.currency),
    })


def _fulfil(request: HttpRequest, order: Order, action: str, principal: Principal) -> str | None:
    """Run one step of the order desk; the success message, or None after showing the refusal."""
    if action == "approve":
        order_services.order_approve(order=order, actor=principal)
        return _("Order %(number)s approved.")
    if action == "ship":
        form = ShipForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Enter the carrier and the tracking number."))
            return None
        order_services.order_ship(order=order, actor=principal, **form.cleaned_data)
        return _("Order %(number)s shipped.")
    if action == "deliver":
        form = DeliverForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Enter who signed for the parcel."))
            return None
        order_services.order_deliver(order=order, actor=principal, **form.cleaned_data)
        return _("Order %(number)s delivered.")
    if action == "cancel":
        order_services.order_cancel(order=order, reason="cancelled by the merchant", actor=principal)
        return _("Order %(number)s cancelled; its stock, coupon uses and points went back.")
    messages.error(request, _("Unknown action."))
    return None


@login_required
@require_POST
def merchant_order_action(request: HttpRequest, number: str) -> HttpResponse:
    principal = _merchant(request, FULFIL_ORDERS)
    order = _merchant_order(principal, number)
    try:
        done = _fulfil(request, order, request.POST.get("action", ""), principal)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        if done:
            messages.success(request, done % {"number": order.number})
    back = request.POST.get("back")
    return redirect(reverse("web:merchant_order", args=[order.number]) if back == "order"
                    else reverse("web:merchant_orders"))
