"""Payments and refunds endpoints: customers pay their orders; staff capture, record and refund.

Customers (`payments.pay_orders`, a signed-in person) start and confirm
payments of their own orders and see their own payments and refunds.
Callers with `payments.view_payments` see payments as staff: a
merchant-scoped key or user sees only its merchant's, another merchant's
payment or refund is a 404 (as is another customer's, for a customer).
Capture and void need `payments.capture_payments`; bank transfers received
and cash need `payments.record_offline_payments`; refunds are requested
with `payments.request_refunds` and approved, rejected or (offline) marked
paid out with `payments.approve_refunds`, never by their requester.
"""

from __future__ import annotations

from django.http import HttpResponse
from ninja import Router, Status

from clearhouse.accounts.principal import Principal
from clearhouse.accounts.roles import (
    APPROVE_REFUNDS,
    CAPTURE_PAYMENTS,
    PAY_ORDERS,
    RECORD_OFFLINE_PAYMENTS,
    REQUEST_REFUNDS,
    VIEW_PAYMENTS,
)
from clearhouse.api.idempotency import outside_transaction
from clearhouse.api.pagination import Page, paginate
from clearhouse.api.routers.catalog_schemas import PageNumber, PageSize
from clearhouse.api.routers.order_schemas import OrderNumber
from clearhouse.api.routers.payment_schemas import (
    CaptureIn,
    CashIn,
    ConfirmIn,
    MarkReceivedIn,
    PaymentDetailOut,
    PaymentOut,
    PaymentStartIn,
    PayoutIn,
    Reference,
    RefundIn,
    RefundOut,
    RejectIn,
    payment_detail_out,
    payment_out,
    refund_out,
)
from clearhouse.core.errors import NotFound, PermissionDenied
from clearhouse.core.money import Money
from clearhouse.customers.domain import CustomerAccountRequired
from clearhouse.customers.models import CustomerProfile
from clearhouse.customers.services import customer_profile_ensure
from clearhouse.orders.models import Order
from clearhouse.orders.selectors import order_get
from clearhouse.payments import receipts, selectors, services
from clearhouse.payments.domain import IntentStatus, Method, RefundState
from clearhouse.payments.models import PaymentIntent, Refund

router = Router(tags=["payments"])


# --- who sees what -------------------------------------------------------------------------
def _customer(request) -> CustomerProfile:
    """The signed-in customer paying their own orders; API keys have no person behind them."""
    principal: Principal = request.auth
    principal.require(PAY_ORDERS)
    if principal.user is None or principal.merchant_id is not None:
        raise CustomerAccountRequired("Only a signed-in customer pays orders; API keys cannot.")
    return customer_profile_ensure(user=principal.user)


def _scope(request) -> tuple[dict, bool]:
    """(selector filter, is staff): staff see payments (their merchant's, if scoped); customers their own."""
    principal: Principal = request.auth
    if principal.has_perm(VIEW_PAYMENTS):
        return {"merchant_id": principal.merchant_id}, True
    if principal.has_perm(PAY_ORDERS):
        return {"customer_id": _customer(request).pk}, False
    raise PermissionDenied(f"This action needs the {VIEW_PAYMENTS!r} permission.")


def _staff_intent(request, reference: str, perm: str) -> PaymentIntent:
    principal: Principal = request.auth
    principal.require(perm)
    return selectors.intent_get(reference=reference, merchant_id=principal.merchant_id)


def _staff_refund(request, reference: str, perm: str) -> Refund:
    principal: Principal = request.auth
    principal.require(perm)
    return selectors.refund_get(reference=reference, merchant_id=principal.merchant_id)


def _money(text, currency: str) -> Money:
    return Money.parse(text, currency, param="amount")


def _payment(intent: PaymentIntent, *, staff: bool) -> dict:
    """The intent as it now stands in the database.

    Services hand back the row they last locked and wrote (the payment locks read its order and merchant
    alongside): that one is answered as it is; a row without those relations is read again.
    """
    cached = intent._state.fields_cache
    if "order" not in cached or "merchant" not in cached or intent.order is None or intent.merchant is None:
        intent = PaymentIntent.objects.select_related("order", "merchant").get(pk=intent.pk)
    return payment_out(intent, staff=staff)


def _refund(refund: Refund) -> dict:
    return refund_out(Refund.objects.select_related("intent", "order").get(pk=refund.pk))


# --- paying an order -----------------------------------------------------------------------
@router.post("/orders/{number}/payments", response={201: PaymentOut},
             summary="Pay my order: start a payment (card: follow next_action; bank transfer: instructions)")
@outside_transaction  # calls the provider: no transaction may be held meanwhile
def start_payment(request, number: OrderNumber, payload: PaymentStartIn):
    customer = _customer(request)
    order = order_get(number=number, customer_id=customer.pk)
    amount = None
    if payload.amount is not None:
        amount = _money(payload.amount, payload.currency or order.currency)
    elif payload.currency is not None:
        amount = Money(order.total_minor, payload.currency)  # only the currency to check against the order's
    intent = services.payment_start(order=order, method=payload.method, amount=amount, actor=request.auth,
                                    language=getattr(request, "LANGUAGE_CODE", None) or "en")
    return Status(201, _payment(intent, staff=False))


@router.get("/orders/{number}/payments", response=list[PaymentOut], summary="An order's payments, newest first")
def list_order_payments(request, number: OrderNumber):
    scope, staff = _scope(request)
    order = order_get(number=number, **scope)
    return [payment_out(i, staff=staff) for i in selectors.intent_list(order_id=order.pk, **scope)]


@router.post("/orders/{number}/cash-payments", response={201: PaymentOut},
             summary="Record cash taken for an order, with the paper receipt's number")
def record_cash(request, number: OrderNumber, payload: CashIn):
    principal: Principal = request.auth
    principal.require(RECORD_OFFLINE_PAYMENTS)
    order: Order = order_get(number=number, merchant_id=principal.merchant_id)
    amount = _money(payload.amount, payload.currency or order.currency)
    intent = services.payment_cash_record(order=order, amount=amount, receipt_number=payload.receipt_number,
                                          actor=principal)
    return Status(201, _payment(intent, staff=True))


# --- payments ------------------------------------------------------------------------------
@router.get("/payments", response=Page[PaymentOut], summary="List payments (customers: mine; merchants: theirs)")
def list_payments(request, status: IntentStatus | None = None, method: Method | None = None,
                  page: PageNumber = 1, page_size: PageSize = 50):
    scope, staff = _scope(request)
    qs = selectors.intent_list(status=status, method=method, **scope)
    return paginate(qs, page, page_size, lambda i: payment_out(i, staff=staff))


@router.get("/payments/{reference}", response=PaymentDetailOut,
            summary="A payment with its status changes, provider calls (staff) and refunds")
def get_payment(request, reference: Reference):
    scope, staff = _scope(request)
    intent = selectors.intent_get(reference=reference, **scope)
    return payment_detail_out(intent, staff=staff, attempts=selectors.intent_attempts(intent=intent),
                              refunds=list(selectors.refund_list(intent_id=intent.pk)))


@router.post("/payments/{reference}/confirm", response=PaymentOut,
             summary="Pay with the token from the provider's hosted form")
@outside_transaction  # calls the provider: no transaction may be held meanwhile
def confirm_payment(request, reference: Reference, payload: ConfirmIn):
    intent = selectors.intent_get(reference=reference, customer_id=_customer(request).pk)
    intent = services.payment_confirm(intent=intent, payment_token=payload.payment_token, actor=request.auth)
    return _payment(intent, staff=False)


@router.post("/payments/{reference}/refresh", response=PaymentOut,
             summary="Ask the provider where the payment stands and apply its answer")
@outside_transaction  # calls the provider: no transaction may be held meanwhile
def refresh_payment(request, reference: Reference):
    scope, staff = _scope(request)
    intent = selectors.intent_get(reference=reference, **scope)
    return _payment(services.payment_refresh(intent=intent, actor=request.auth), staff=staff)


@router.post("/payments/{reference}/capture", response=PaymentOut,
             summary="Capture an authorized payment (all of it, or part: the rest of the hold is released)")
@outside_transaction  # calls the provider: no transaction may be held meanwhile
def capture_payment(request, reference: Reference, payload: CaptureIn):
    intent = _staff_intent(request, reference, CAPTURE_PAYMENTS)
    amount = None if payload.amount is None else _money(payload.amount, payload.currency or intent.currency)
    return _payment(services.payment_capture(intent=intent, amount=amount, actor=request.auth), staff=True)


@router.post("/payments/{reference}/void", response=PaymentOut,
             summary="Cancel a payment before money was taken (releases an authorization)")
@outside_transaction  # calls the provider: no transaction may be held meanwhile
def void_payment(request, reference: Reference):
    intent = _staff_intent(request, reference, CAPTURE_PAYMENTS)
    return _payment(services.payment_void(intent=intent, actor=request.auth), staff=True)


@router.post("/payments/{reference}/mark-received", response=PaymentOut,
             summary="Record that a bank transfer arrived (the full amount, with the bank's reference)")
def mark_received(request, reference: Reference, payload: MarkReceivedIn):
    intent = _staff_intent(request, reference, RECORD_OFFLINE_PAYMENTS)
    amount = _money(payload.amount, payload.currency or intent.currency)
    intent = services.payment_mark_received(intent=intent, amount=amount, bank_reference=payload.bank_reference,
                                            actor=request.auth)
    return _payment(intent, staff=True)


@router.get("/payments/{reference}/voucher", response={200: None},
            summary="The payment voucher (PDF) of a captured payment",
            openapi_extra={"responses": {"200": {"description": "The voucher",
                                                 "content": {"application/pdf": {}}}}})
def payment_voucher(request, reference: Reference):
    scope, _ = _scope(request)
    intent = selectors.intent_get(reference=reference, **scope)
    if intent.status != IntentStatus.CAPTURED:
        raise NotFound(f"Payment {intent.reference} is not captured; it has no voucher.", param="reference")
    pdf = receipts.voucher_pdf(intent=intent, language=getattr(request, "LANGUAGE_CODE", None) or intent.language)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{receipts.voucher_filename(intent)}"'
    return response


# --- refunds -------------------------------------------------------------------------------
@router.post("/payments/{reference}/refunds", response={201: RefundOut},
             summary="Refund (part of) a captured payment; above the threshold it waits for approval")
@outside_transaction  # calls the provider: no transaction may be held meanwhile
def request_refund(request, reference: Reference, payload: RefundIn):
    principal: Principal = request.auth
    intent = _staff_intent(request, reference, REQUEST_REFUNDS)
    amount = _money(payload.amount, payload.currency or intent.currency)
    refund = services.refund_request(intent=intent, amount=amount, reason=payload.reason, actor=principal,
                                     user=principal.user)
    return Status(201, _refund(refund))


@router.get("/refunds", response=Page[RefundOut], summary="List refunds (customers: mine; merchants: theirs)")
def list_refunds(request, status: RefundState | None = None, page: PageNumber = 1, page_size: PageSize = 50):
    scope, _ = _scope(request)
    return paginate(selectors.refund_list(status=status, **scope), page, page_size, refund_out)


@router.get("/refunds/{reference}", response=RefundOut, summary="A refund")
def get_refund(request, reference: Reference):
    scope, _ = _scope(request)
    return refund_out(selectors.refund_get(reference=reference, **scope))


@router.post("/refunds/{reference}/approve", response=RefundOut,
             summary="Approve a refund awaiting approval (not by its requester); it is sent at once")
@outside_transaction  # calls the provider: no transaction may be held meanwhile
def approve_refund(request, reference: Reference):
    principal: Principal = request.auth
    refund = _staff_refund(request, reference, APPROVE_REFUNDS)
    return _refund(services.refund_approve(refund=refund, approver=principal.user, actor=principal))


@router.post("/refunds/{reference}/reject", response=RefundOut, summary="Reject a refund awaiting approval")
def reject_refund(request, reference: Reference, payload: RejectIn):
    principal: Principal = request.auth
    refund = _staff_refund(request, reference, APPROVE_REFUNDS)
    return _refund(services.refund_reject(refund=refund, approver=principal.user, reason=payload.reason,
                                          actor=principal))


@router.post("/refunds/{reference}/mark-paid", response=RefundOut,
             summary="Record that finance paid out an offline refund (bank transfer, cash)")
def mark_refund_paid(request, reference: Reference, payload: PayoutIn):
    refund = _staff_refund(request, reference, APPROVE_REFUNDS)
    return _refund(services.refund_mark_paid_offline(refund=refund, bank_reference=payload.bank_reference,
                                                     actor=request.auth))
