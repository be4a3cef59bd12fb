"""The customer's pay pages: choose a method, come back from the card provider, see the result, get the voucher.

Thin: they call the payments services (`payment_start`, `payment_confirm`,
`payment_refresh`) and read through the selectors. Every page is scoped to
the signed-in customer's own orders (another customer's order is a 404).
Refusals (typed domain errors) become a translated message, never a 500.

The card provider's pages are outside: `/pay/<number>/` sends the browser to
the hosted card form (intent.action_url), which comes back to
`/pay/<number>/return/<reference>/?payment_method=pm_...`; a 3-D Secure
challenge comes back there with `?payment_intent=...`. Both end on the
result page, which polls a small status fragment while the outcome is open.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clearhouse.accounts.principal import Principal, principal_for_user
from clearhouse.accounts.roles import PLACE_ORDERS, VIEW_PAYMENTS
from clearhouse.core.errors import DomainError, NotFound
from clearhouse.core.money import Money
from clearhouse.customers.selectors import customer_for_user
from clearhouse.orders import selectors as orders
from clearhouse.orders.domain import OrderStatus
from clearhouse.orders.models import Order
from clearhouse.payments import receipts
from clearhouse.payments import selectors as payments
from clearhouse.payments.domain import IntentStatus, Method
from clearhouse.payments.models import PaymentIntent
from clearhouse.payments.providers import methods_available
from clearhouse.payments.services import payment_confirm, payment_return, payment_start
from clearhouse.web.errors import error_text

UNPAID = (OrderStatus.SUBMITTED, OrderStatus.APPROVED)
PAID = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)

METHOD_LABELS = {
    Method.CARD: gettext_lazy("Card"),
    Method.ALIPAY: gettext_lazy("Alipay"),
    Method.WECHAT_PAY: gettext_lazy("WeChat Pay"),
    Method.PAYPAL: gettext_lazy("PayPal"),
    Method.BANK_TRANSFER: gettext_lazy("Bank transfer"),
    Method.CASH: gettext_lazy("Cash at the counter"),
}
METHOD_HINTS = {
    Method.CARD: gettext_lazy("Pay now on the card provider's secure page."),
    Method.ALIPAY: gettext_lazy("Pay with Alipay: on its page, or scan the QR code with the Alipay app."),
    Method.WECHAT_PAY: gettext_lazy("Scan the QR code with WeChat to pay."),
    Method.PAYPAL: gettext_lazy("Approve the payment on PayPal's page."),
    Method.BANK_TRANSFER: gettext_lazy("Transfer from your bank; the order is paid when the money arrives."),
    Method.CASH: gettext_lazy("Pay at the counter; staff record your payment."),
}
# A provider's failure code in the customer's words.
FAILURE_REASONS = {
    "insufficient_funds": gettext_lazy("The card was declined: not enough funds."),
    "authentication_failed": gettext_lazy("The card's security check (3-D Secure) was not passed."),
    "processing_error": gettext_lazy("The card provider had a processing error. Nothing was charged."),
    "card_declined": gettext_lazy("The card was declined by its bank."),
    "provider_unavailable": gettext_lazy("The card provider could not be reached. Nothing was charged."),
    "timeout": gettext_lazy("The card provider did not answer in time."),
    "voided": gettext_lazy("This payment was cancelled."),
    "payer_cancelled": gettext_lazy("You cancelled the payment on the provider's page."),
    "instrument_declined": gettext_lazy("The provider declined the payment; choose another way to pay."),
    "capture_declined": gettext_lazy("The provider declined the payment."),
    "trade_closed": gettext_lazy("The payment was closed without paying."),
    "payment_failed": gettext_lazy("The payment did not go through; try again or choose another method."),
    "currency_not_supported": gettext_lazy("This payment method does not take the order's currency."),
}
DEFAULT_FAILURE = gettext_lazy("The payment did not go through.")


def failure_reason(intent: PaymentIntent) -> str:
    if intent.status == IntentStatus.CANCELLED and not intent.failure_code:
        return str(FAILURE_REASONS["voided"])
    return str(FAILURE_REASONS.get(intent.failure_code, DEFAULT_FAILURE))


def method_label(method: str) -> str:
    return str(METHOD_LABELS.get(method, method))


def order_payments(*, order: Order, merchant_id: int | None = None,
                   customer_id: int | None = None) -> list[dict]:
    """An order's payments with their refunds, for the order pages (customer, merchant and finance)."""
    rows = []
    for intent in payments.intent_list(order_id=order.pk, merchant_id=merchant_id, customer_id=customer_id):
        rows.append({"intent": intent, "amount": Money(intent.amount_minor, intent.currency),
                     "method_label": method_label(intent.method),
                     "refunds": [(r, Money(r.amount_minor, r.currency))
                                 for r in payments.refund_list(intent_id=intent.pk)]})
    return rows


# --- lookups: the signed-in customer's own order and payment, else 404 ---------------------
def _customer_order(request: HttpRequest, number: str) -> Order:
    if not principal_for_user(request.user).has_perm(PLACE_ORDERS):
        raise PermissionDenied
    customer = customer_for_user(user=request.user)
    if customer is None:
        raise Http404
    try:
        return orders.order_get(number=number, customer_id=customer.pk)
    except NotFound:
        raise Http404 from None


def _order_intent(order: Order, reference: str) -> PaymentIntent:
    try:
        intent = payments.intent_get(reference=reference, customer_id=order.customer_id)
    except NotFound:
        raise Http404 from None
    if intent.order_id != order.pk:
        raise Http404
    return intent


def _result_url(order: Order, intent: PaymentIntent) -> str:
    return reverse("web:pay_result", args=[order.number, intent.reference])


# --- the pay page ------------------------------------------------------------------------------
def _pay_context(order: Order) -> dict:
    intents = list(payments.intent_list(order_id=order.pk, customer_id=order.customer_id))
    latest = intents[0] if intents else None
    captured = next((i for i in intents if i.status == IntentStatus.CAPTURED), None)
    expired = order.expires_at is not None and order.expires_at <= timezone.now()
    siblings = [o for o in orders.order_list(customer_id=order.customer_id).filter(group_id=order.group_id)
                if o.pk != order.pk]
    def money(minor: int) -> Money:
        return Money(minor, order.currency)

    totals = {
        "subtotal": money(order.subtotal_minor), "merchant_coupon": money(order.merchant_coupon_amount_minor),
        "platform_coupon": money(order.platform_coupon_amount_minor), "points": money(order.points_amount_minor),
        "shipping": money(order.shipping_fee_minor), "total": money(order.total_minor),
    }
    return {
        "order": order, "amount": money(order.total_minor), "totals": totals,
        "paid": order.status in PAID, "payable": order.status in UNPAID and not expired and order.total_minor > 0,
        "expired": order.status in UNPAID and expired, "captured": captured, "latest": latest,
        "failed": latest if latest is not None and latest.status in (IntentStatus.FAILED,) else None,
        "failure_reason": failure_reason(latest) if latest is not None else "",
        "waiting": latest if latest is not None and latest.status in (
            IntentStatus.REQUIRES_PAYMENT, IntentStatus.PROCESSING, IntentStatus.REQUIRES_ACTION) else None,
        "methods": [(m, METHOD_LABELS.get(m, m), METHOD_HINTS.get(m, ""))
                    for m in methods_available(merchant_id=order.merchant_id)],
        "others": [(o, Money(o.total_minor, o.currency)) for o in siblings if o.status in UNPAID],
        "method_label": method_label(latest.method) if latest else "",
    }


@login_required
def pay_page(request: HttpRequest, number: str) -> HttpResponse:
    order = _customer_order(request, number)
    if request.method == "POST":
        return _start(request, order)
    return render(request, "web/pay/pay.html", _pay_context(order))


def _start(request: HttpRequest, order: Order) -> HttpResponse:
    method = request.POST.get("method", "")
    if method not in methods_available(merchant_id=order.merchant_id):
        messages.error(request, _("Choose a payment method."))
        return redirect("web:pay", number=order.number)
    try:
        intent = payment_start(order=order, method=method, actor=request.user,
                               language=request.LANGUAGE_CODE or "en")
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("web:pay", number=order.number)
    if intent.action_url and not intent.qr_code and intent.status in (
            IntentStatus.REQUIRES_PAYMENT, IntentStatus.REQUIRES_ACTION):
        # The provider's own page: hosted card form, 3-D Secure, PayPal approval, Alipay cashier.
        return redirect(intent.action_url)
    return redirect(_result_url(order, intent))  # offline instructions, or a QR code to scan


# --- back from the card provider ---------------------------------------------------------------
@login_required
def pay_return(request: HttpRequest, number: str, reference: str) -> HttpResponse:
    """The provider sends the browser here: confirm with the card token, or refresh after 3-D Secure."""
    order = _customer_order(request, number)
    intent = _order_intent(order, reference)
    token = (request.GET.get("payment_method") or "").strip()
    try:
        if token:
            intent = payment_confirm(intent=intent, payment_token=token[:200], actor=request.user)
            if intent.status == IntentStatus.REQUIRES_ACTION and intent.action_url:
                return redirect(intent.action_url)  # the 3-D Secure challenge
        elif request.GET:
            # Back from the provider's page with its parameters (3-D Secure, PayPal approval, Alipay's
            # signed return): the adapter finishes or reports, we apply.
            intent = payment_return(intent=intent, params=dict(request.GET.items()), actor=request.user)
    except DomainError as exc:
        intent.refresh_from_db()
        if intent.status not in (IntentStatus.CAPTURED, IntentStatus.AUTHORIZED, IntentStatus.FAILED,
                                 IntentStatus.CANCELLED):  # a reload of a finished payment is not an error
            messages.error(request, error_text(exc))
    return redirect(_result_url(order, intent))


# --- the result ---------------------------------------------------------------------------------
def _state(intent: PaymentIntent) -> str:
    """Which panel the result page shows."""
    if intent.status in (IntentStatus.CAPTURED, IntentStatus.AUTHORIZED):
        return "paid"
    if intent.status in (IntentStatus.FAILED, IntentStatus.CANCELLED):
        return "failed"
    if intent.qr_code and intent.status in (IntentStatus.REQUIRES_PAYMENT, IntentStatus.REQUIRES_ACTION):
        return "scan"
    if intent.status == IntentStatus.REQUIRES_PAYMENT:
        return {Method.BANK_TRANSFER: "transfer", Method.CASH: "cash"}.get(intent.method, "card_pending")
    if intent.status == IntentStatus.REQUIRES_ACTION:
        return "action"
    return "processing"


def _result_context(order: Order, intent: PaymentIntent) -> dict:
    order.refresh_from_db(fields=["status", "expires_at"])  # a bank transfer extends the payment window
    state = _state(intent)
    return {
        "order": order, "intent": intent, "state": state, "method_label": method_label(intent.method),
        "amount": Money(intent.amount_minor, intent.currency),
        "captured_amount": Money(intent.amount_captured_minor, intent.currency),
        "failure_reason": failure_reason(intent) if state == "failed" else "",
        "retry_possible": order.status in UNPAID,
        "polling": state in ("processing", "action", "scan"),
        "bank": {"beneficiary": settings.BANK_TRANSFER_BENEFICIARY, "bank": settings.BANK_TRANSFER_BANK,
                 "account": settings.BANK_TRANSFER_ACCOUNT},
    }


@login_required
def pay_result(request: HttpRequest, number: str, reference: str) -> HttpResponse:
    order = _customer_order(request, number)
    intent = _order_intent(order, reference)
    return render(request, "web/pay/result.html", _result_context(order, intent))


@login_required
def pay_status(request: HttpRequest, number: str, reference: str) -> HttpResponse:
    """The result page's status panel alone: htmx polls it every 2 s while the outcome is open."""
    order = _customer_order(request, number)
    intent = _order_intent(order, reference)
    return render(request, "web/pay/_status.html", _result_context(order, intent))


# --- the voucher --------------------------------------------------------------------------------
def _voucher_intent(request: HttpRequest, number: str, reference: str) -> PaymentIntent:
    """The customer's own payment, or (staff allowed to see payments) one of their merchant's."""
    principal: Principal = principal_for_user(request.user)
    try:
        if principal.has_perm(VIEW_PAYMENTS):
            intent = payments.intent_get(reference=reference, merchant_id=principal.merchant_id)
        elif principal.has_perm(PLACE_ORDERS) and (customer := customer_for_user(user=request.user)):
            intent = payments.intent_get(reference=reference, customer_id=customer.pk)
        else:
            raise Http404
    except NotFound:
        raise Http404 from None
    if intent.order.number != number or intent.status != IntentStatus.CAPTURED:
        raise Http404
    return intent


@login_required
def pay_voucher(request: HttpRequest, number: str, reference: str) -> HttpResponse:
    intent = _voucher_intent(request, number, reference)
    pdf = receipts.voucher_pdf(intent=intent, language=request.LANGUAGE_CODE or intent.language)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{receipts.voucher_filename(intent)}"'
    return response
