"""Reads of the PayPal simulator: its objects in PayPal's JSON shapes (Orders v2, Payments v2)."""

from __future__ import annotations

from django.conf import settings

from clearhouse.sandbox.paypal.domain import format_value, not_found
from clearhouse.sandbox.paypal.models import Capture, Order, Refund, TestControls


def api_base() -> str:
    """Where the simulator answers (the links it writes and the cert URL it signs with)."""
    return f"{settings.CLEARHOUSE_PUBLIC_URL}/sandbox/paypal"


def _time(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(amount, currency: str) -> dict:
    return {"currency_code": currency, "value": format_value(amount, currency)}


def order_get(*, order_id: str) -> Order:
    order = Order.objects.select_related("app").filter(pk=order_id).first()
    if order is None:
        raise not_found()
    return order


def capture_get(*, capture_id: str) -> Capture:
    capture = Capture.objects.select_related("order__app").filter(pk=capture_id).first()
    if capture is None:
        raise not_found()
    return capture


def refund_get(*, refund_id: str) -> Refund:
    refund = Refund.objects.select_related("capture__order__app").filter(pk=refund_id).first()
    if refund is None:
        raise not_found()
    return refund


def checkout_url(order: Order) -> str:
    return f"{api_base()}/checkoutnow?token={order.id}"


def order_json(order: Order) -> dict:
    base = api_base()
    unit = {"reference_id": order.reference_id or "default", "amount": _money(order.value, order.currency),
            "payee": {"merchant_id": order.app.merchant_id, "email_address": order.app.merchant_email}}
    for name in ("custom_id", "invoice_id", "description"):
        if getattr(order, name):
            unit[name] = getattr(order, name)
    capture = Capture.objects.filter(order=order).first()
    if capture is not None:
        unit["payments"] = {"captures": [capture_json(capture)]}
    body = {"id": order.id, "intent": order.intent, "status": order.status, "purchase_units": [unit],
            "create_time": _time(order.created), "update_time": _time(order.updated)}
    links = [{"href": f"{base}/v2/checkout/orders/{order.id}", "rel": "self", "method": "GET"}]
    if order.payer_id:
        body["payment_source"] = {"paypal": {"email_address": order.payer_email, "account_id": order.payer_id,
                                             "account_status": "VERIFIED"}}
        body["payer"] = {"email_address": order.payer_email, "payer_id": order.payer_id}
    elif order.payer_action_flow:
        body["payment_source"] = {"paypal": {}}
    if order.status in ("CREATED", "PAYER_ACTION_REQUIRED"):
        rel = "payer-action" if order.payer_action_flow else "approve"
        links.append({"href": checkout_url(order), "rel": rel, "method": "GET"})
    if order.status == "APPROVED":
        links.append({"href": f"{base}/v2/checkout/orders/{order.id}/capture", "rel": "capture", "method": "POST"})
    body["links"] = links
    return body


def capture_json(capture: Capture) -> dict:
    order, base = capture.order, api_base()
    body = {"id": capture.id, "status": capture.status, "amount": _money(capture.value, order.currency),
            "final_capture": True, "seller_protection": {"status": "ELIGIBLE"},
            "payee": {"merchant_id": order.app.merchant_id, "email_address": order.app.merchant_email},
            "supplementary_data": {"related_ids": {"order_id": order.id}},
            "create_time": _time(capture.created), "update_time": _time(capture.updated)}
    if capture.status_reason:
        body["status_details"] = {"reason": capture.status_reason}
    if order.invoice_id:
        body["invoice_id"] = order.invoice_id
    if order.custom_id:
        body["custom_id"] = order.custom_id
    if capture.status in ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"):
        body["seller_receivable_breakdown"] = {
            "gross_amount": _money(capture.value, order.currency),
            "paypal_fee": _money(capture.fee, order.currency),
            "net_amount": _money(capture.value - capture.fee, order.currency),
        }
    body["links"] = [
        {"href": f"{base}/v2/payments/captures/{capture.id}", "rel": "self", "method": "GET"},
        {"href": f"{base}/v2/payments/captures/{capture.id}/refund", "rel": "refund", "method": "POST"},
        {"href": f"{base}/v2/checkout/orders/{order.id}", "rel": "up", "method": "GET"},
    ]
    return body


def refund_json(refund: Refund) -> dict:
    capture, base = refund.capture, api_base()
    currency = capture.order.currency
    body = {"id": refund.id, "status": refund.status, "amount": _money(refund.value, currency),
            "seller_payable_breakdown": {"gross_amount": _money(refund.value, currency),
                                         "total_refunded_amount": _money(capture.refunded, currency)},
            "create_time": _time(refund.created), "update_time": _time(refund.created),
            "links": [{"href": f"{base}/v2/payments/refunds/{refund.id}", "rel": "self", "method": "GET"},
                      {"href": f"{base}/v2/payments/captures/{capture.id}", "rel": "up", "method": "GET"}]}
    if refund.invoice_id:
        body["invoice_id"] = refund.invoice_id
    if refund.note_to_payer:
        body["note_to_payer"] = refund.note_to_payer
    return body


def controls_get() -> TestControls:
    controls, _ = TestControls.objects.get_or_create(pk=1)
    return controls


def controls_json(controls: TestControls) -> dict:
    return {name: getattr(controls, name) for name in (
        "fail_next_calls", "slow_next_calls", "slow_response_s", "drop_webhooks", "duplicate_webhooks",
        "hold_webhooks")}
