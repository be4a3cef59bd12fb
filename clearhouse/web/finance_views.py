"""Finance's payment desk: payments (with capture, void, refund, mark received), bank transfers awaiting
funds, the refund approvals queue and offline refunds due, the exception list, and cash at the counter.

Thin: forms parse the input (amounts stay decimal text until `Money.parse`
reads them in the payment's currency), the payments services decide. Who
may look and act is a permission each (roles.py); staff of a merchant see
only their merchant's rows, through the selectors' `merchant_id`. Finance
roles reach these pages only with a verified second factor. Refusals
(typed domain errors) become a message, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clearhouse.accounts.mfa import session_is_verified, user_requires_mfa
from clearhouse.accounts.principal import Principal, principal_for_user
from clearhouse.accounts.roles import (
    APPROVE_REFUNDS,
    CAPTURE_PAYMENTS,
    RECORD_OFFLINE_PAYMENTS,
    REQUEST_REFUNDS,
    VIEW_PAYMENTS,
)
from clearhouse.core.errors import DomainError, NotFound, ValidationFailed
from clearhouse.core.money import Money
from clearhouse.orders import selectors as orders
from clearhouse.orders.models import Order
from clearhouse.payments import selectors as payments
from clearhouse.payments import services
from clearhouse.payments.domain import IntentStatus, Method
from clearhouse.payments.models import PaymentIntent, Refund
from clearhouse.payments.providers import methods_available
from clearhouse.payments.services.refunds import refundable
from clearhouse.web.errors import error_text
from clearhouse.web.forms import (
    BankReferenceForm,
    CaptureForm,
    CashPaymentForm,
    MarkReceivedForm,
    RefundDecisionForm,
    RefundRequestForm,
    first_error,
)
from clearhouse.web.pay_views import UNPAID, failure_reason, method_label, order_payments

PAGE_SIZE = 50
VOIDABLE = (IntentStatus.REQUIRES_PAYMENT, IntentStatus.REQUIRES_ACTION, IntentStatus.AUTHORIZED)


def _staff(request: HttpRequest, perm: str) -> Principal:
    """The caller, if allowed `perm` (finance roles: in a session verified with a second factor)."""
    principal = principal_for_user(request.user)
    if not principal.has_perm(perm):
        raise PermissionDenied
    if user_requires_mfa(request.user) and not session_is_verified(request):
        raise PermissionDenied  # the MFA middleware sends such sessions to the verify page first
    return principal


def _intent(principal: Principal, reference: str) -> PaymentIntent:
    try:
        return payments.intent_get(reference=reference, merchant_id=principal.merchant_id)
    except NotFound:
        raise Http404 from None


def _refund(principal: Principal, reference: str) -> Refund:
    try:
        return payments.refund_get(reference=reference, merchant_id=principal.merchant_id)
    except NotFound:
        raise Http404 from None


def _back(request: HttpRequest, default: str) -> HttpResponse:
    """Back to the page the form was on (a local path only), else `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts=None) and target.startswith("/"):
        return redirect(target)
    return redirect(default)


def _run(request: HttpRequest, action: Callable[[], str]) -> None:
    """Run one service call; show its success message or the refusal."""
    try:
        done = action()
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, done)


# --- payments ------------------------------------------------------------------------------
@login_required
def finance_payments(request: HttpRequest) -> HttpResponse:
    principal = _staff(request, VIEW_PAYMENTS)
    status = request.GET.get("status", "")
    status = status if status in IntentStatus.__members__.values() else ""
    method = request.GET.get("method", "")
    method = method if method in Method.__members__.values() else ""
    search = (request.GET.get("q") or "").strip()[:60]
    qs = payments.intent_list(merchant_id=principal.merchant_id, status=status or None, method=method or None,
                              search=search or None)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/finance/payments.html", {
        "page": page, "rows": [(i, Money(i.amount_minor, i.currency), method_label(i.method))
                               for i in page.object_list],
        "status": status, "method": method, "q": search,
        "statuses": [s.value for s in IntentStatus], "methods": [(m.value, method_label(m)) for m in Method],
        "filter_query": _filter_query(status, method, search),
    })


def _filter_query(status: str, method: str, search: str) -> str:
    return urlencode({k: v for k, v in (("status", status), ("method", method), ("q", search)) if v})


def _detail_context(principal: Principal, intent: PaymentIntent) -> dict:
    def money(minor: int) -> Money:
        return Money(minor, intent.currency)

    left = refundable(intent=intent) if intent.status == IntentStatus.CAPTURED else money(0)
    return {
        "intent": intent, "order": intent.order, "method_label": method_label(intent.method),
        "amount": money(intent.amount_minor), "authorized": money(intent.amount_authorized_minor),
        "captured": money(intent.amount_captured_minor), "refunded": money(intent.amount_refunded_minor),
        "refundable": left, "fee": money(intent.fee_minor) if intent.fee_minor is not None else None,
        "failure_reason": failure_reason(intent) if intent.status == IntentStatus.FAILED else "",
        "attempts": payments.intent_attempts(intent=intent),
        "changes": list(intent.status_changes.order_by("id")),
        "refunds": [(r, money(r.amount_minor)) for r in payments.refund_list(intent_id=intent.pk,
                                                                             merchant_id=principal.merchant_id)],
        "can_capture": principal.has_perm(CAPTURE_PAYMENTS) and intent.status == IntentStatus.AUTHORIZED,
        "can_void": principal.has_perm(CAPTURE_PAYMENTS) and intent.status in VOIDABLE,
        "can_refund": principal.has_perm(REQUEST_REFUNDS) and left.minor > 0,
        "can_mark_received": principal.has_perm(RECORD_OFFLINE_PAYMENTS) and intent.method == Method.BANK_TRANSFER
        and intent.status == IntentStatus.REQUIRES_PAYMENT,
    }


@login_required
def finance_payment(request: HttpRequest, reference: str) -> HttpResponse:
    principal = _staff(request, VIEW_PAYMENTS)
    intent = _intent(principal, reference)
    return render(request, "web/finance/payment.html", _detail_context(principal, intent))


def _amount(text: str, currency: str) -> Money:
    return Money.parse(text, currency, param="amount")


def _capture(request, principal, intent) -> str:
    form = CaptureForm(request.POST)
    text = (form.data.get("amount") or "").strip()
    amount = _amount(text, intent.currency) if text else None
    services.payment_capture(intent=intent, amount=amount, actor=principal)
    return _("Payment %(reference)s captured.") % {"reference": intent.reference}


def _void(request, principal, intent) -> str:
    services.payment_void(intent=intent, actor=principal)
    return _("Payment %(reference)s voided.") % {"reference": intent.reference}


def _refund_request(request, principal, intent) -> str:
    form = RefundRequestForm(request.POST)
    if not form.is_valid():
        raise ValidationFailed(first_error(form))
    refund = services.refund_request(intent=intent, amount=_amount(form.cleaned_data["amount"], intent.currency),
                                     reason=form.cleaned_data["reason"], actor=principal, user=request.user)
    if refund.status == "awaiting_approval":
        return _("Refund %(reference)s requested; it waits for a finance manager's approval.") % {
            "reference": refund.reference}
    return _("Refund %(reference)s requested.") % {"reference": refund.reference}


def _mark_received(request, principal, intent) -> str:
    form = MarkReceivedForm(request.POST)
    if not form.is_valid():
        raise ValidationFailed(first_error(form))
    services.payment_mark_received(intent=intent, amount=_amount(form.cleaned_data["amount"], intent.currency),
                                   bank_reference=form.cleaned_data["bank_reference"], actor=principal)
    return _("Transfer %(reference)s marked received; order %(number)s is paid.") % {
        "reference": intent.reference, "number": intent.order.number}


# action -> (permission, handler)
PAYMENT_ACTIONS = {
    "capture": (CAPTURE_PAYMENTS, _capture),
    "void": (CAPTURE_PAYMENTS, _void),
    "refund": (REQUEST_REFUNDS, _refund_request),
    "mark_received": (RECORD_OFFLINE_PAYMENTS, _mark_received),
}


@login_required
@require_POST
def finance_payment_action(request: HttpRequest, reference: str) -> HttpResponse:
    action = request.POST.get("action", "")
    if action not in PAYMENT_ACTIONS:
        _staff(request, VIEW_PAYMENTS)
        messages.error(request, _("Unknown action."))
        return redirect("web:finance_payment", reference=reference)
    perm, handler = PAYMENT_ACTIONS[action]
    principal = _staff(request, perm)
    intent = _intent(principal, reference)
    _run(request, lambda: handler(request, principal, intent))
    return _back(request, reverse("web:finance_payment", args=[intent.reference]))


# --- bank transfers awaiting funds ------------------------------------------------------------
@login_required
def finance_transfers(request: HttpRequest) -> HttpResponse:
    principal = _staff(request, VIEW_PAYMENTS)
    page = Paginator(payments.transfers_awaiting_funds(merchant_id=principal.merchant_id), PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "web/finance/transfers.html", {
        "page": page, "rows": [(i, Money(i.amount_minor, i.currency)) for i in page.object_list],
        "can_mark_received": principal.has_perm(RECORD_OFFLINE_PAYMENTS),
    })


# --- refunds: approvals and offline payouts ---------------------------------------------------
@login_required
def finance_refunds(request: HttpRequest) -> HttpResponse:
    principal = _staff(request, VIEW_PAYMENTS)

    def rows(qs) -> list:
        return [(r, Money(r.amount_minor, r.currency)) for r in qs[:500]]

    return render(request, "web/finance/refunds.html", {
        "awaiting": rows(payments.refunds_awaiting_approval(merchant_id=principal.merchant_id)),
        "due": rows(payments.offline_refunds_due(merchant_id=principal.merchant_id)),
        "can_decide": principal.has_perm(APPROVE_REFUNDS),
    })


def _approve(request, principal, refund) -> str:
    services.refund_approve(refund=refund, approver=request.user, actor=principal)
    return _("Refund %(reference)s approved.") % {"reference": refund.reference}


def _reject(request, principal, refund) -> str:
    form = RefundDecisionForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    services.refund_reject(refund=refund, approver=request.user, reason=reason or "rejected", actor=principal)
    return _("Refund %(reference)s rejected.") % {"reference": refund.reference}


def _paid_offline(request, principal, refund) -> str:
    form = BankReferenceForm(request.POST)
    if not form.is_valid():
        raise ValidationFailed(first_error(form))
    services.refund_mark_paid_offline(refund=refund, bank_reference=form.cleaned_data["bank_reference"],
                                      actor=principal)
    return _("Refund %(reference)s marked paid.") % {"reference": refund.reference}


REFUND_ACTIONS = {"approve": _approve, "reject": _reject, "paid": _paid_offline}


@login_required
@require_POST
def finance_refund_action(request: HttpRequest, reference: str) -> HttpResponse:
    principal = _staff(request, APPROVE_REFUNDS)
    refund = _refund(principal, reference)
    handler = REFUND_ACTIONS.get(request.POST.get("action", ""))
    if handler is None:
        messages.error(request, _("Unknown action."))
    else:
        _run(request, lambda: handler(request, principal, refund))
    return _back(request, reverse("web:finance_refunds"))


# --- exceptions ---------------------------------------------------------------------------------
@login_required
def finance_exceptions(request: HttpRequest) -> HttpResponse:
    principal = _staff(request, VIEW_PAYMENTS)
    found = payments.payment_exceptions(merchant_id=principal.merchant_id)
    return render(request, "web/finance/exceptions.html", {
        "intents": [(i, Money(i.amount_minor, i.currency)) for i in found["intents"]],
        "refunds": [(r, Money(r.amount_minor, r.currency)) for r in found["refunds"]],
    })


# --- an order's payments, and cash at the counter ----------------------------------------------
def _order(principal: Principal, number: str) -> Order:
    try:
        return orders.order_get(number=number.strip(), merchant_id=principal.merchant_id)
    except NotFound:
        raise Http404 from None


@login_required
def finance_order_find(request: HttpRequest) -> HttpResponse:
    principal = _staff(request, VIEW_PAYMENTS)
    number = (request.GET.get("number") or "").strip()
    if not number:
        return redirect("web:finance_payments")
    try:
        order = orders.order_get(number=number, merchant_id=principal.merchant_id)
    except NotFound:
        messages.error(request, _("There is no order %(number)s.") % {"number": number[:40]})
        return redirect("web:finance_payments")
    return redirect("web:finance_order", number=order.number)


@login_required
def finance_order(request: HttpRequest, number: str) -> HttpResponse:
    principal = _staff(request, VIEW_PAYMENTS)
    order = _order(principal, number)
    return render(request, "web/finance/order.html", {
        "order": order, "total": Money(order.total_minor, order.currency),
        "payments": order_payments(order=order, merchant_id=principal.merchant_id),
        "can_record_cash": principal.has_perm(RECORD_OFFLINE_PAYMENTS) and order.status in UNPAID
        and Method.CASH in methods_available(merchant_id=order.merchant_id),
    })


@login_required
@require_POST
def finance_order_cash(request: HttpRequest, number: str) -> HttpResponse:
    """Staff took cash for the order and wrote a receipt: record it (the order is paid)."""
    principal = _staff(request, RECORD_OFFLINE_PAYMENTS)
    order = _order(principal, number)
    form = CashPaymentForm(request.POST)

    def record() -> str:
        if not form.is_valid():
            raise ValidationFailed(first_error(form))
        intent = services.payment_cash_record(order=order, amount=_amount(form.cleaned_data["amount"],
                                                                          order.currency),
                                              receipt_number=form.cleaned_data["receipt_number"], actor=principal)
        return _("Cash payment %(reference)s recorded; order %(number)s is paid.") % {
            "reference": intent.reference, "number": order.number}

    _run(request, record)
    return _back(request, reverse("web:finance_order", args=[order.number]))
