"""Reads of the sandbox provider, and the JSON shapes its API and webhooks speak."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from clearhouse.sandbox.domain import IntentStatus, not_found
from clearhouse.sandbox.models import PaymentIntent, Refund, TestControls


def public_url(path: str) -> str:
    """Absolute URL of a sandbox page, at the address customers reach this installation."""
    base = getattr(settings, "CLEARHOUSE_SANDBOX_PUBLIC_URL", settings.CLEARHOUSE_PUBLIC_URL).rstrip("/")
    return f"{base}{path}"


def intent_get(*, intent_id: str) -> PaymentIntent:
    intent = PaymentIntent.objects.filter(pk=intent_id).first()
    if intent is None:
        raise not_found("payment_intent", intent_id)
    return intent


def refund_get(*, refund_id: str) -> Refund:
    refund = Refund.objects.filter(pk=refund_id).first()
    if refund is None:
        raise not_found("refund", refund_id)
    return refund


def controls_get() -> TestControls:
    return TestControls.objects.get_or_create(pk=1)[0]


def intent_json(intent: PaymentIntent) -> dict:
    """The payment intent object as the API and webhooks show it."""
    next_action = None
    if intent.status == IntentStatus.REQUIRES_ACTION:
        next_action = {"type": "redirect_to_url",
                       "redirect_url": public_url(reverse("sandbox:authenticate", args=[intent.pk]))}
    last_error = None
    if intent.last_error_code:
        last_error = {"code": intent.last_error_code, "decline_code": intent.last_error_decline_code or None,
                      "message": intent.last_error_message}
    return {
        "id": intent.pk,
        "object": "payment_intent",
        "amount": intent.amount,
        "currency": intent.currency,
        "status": intent.status,
        "capture_method": intent.capture_method,
        "amount_capturable": intent.amount_capturable,
        "amount_received": intent.amount_received,
        "amount_refunded": intent.amount_refunded,
        "fee": intent.fee,
        "charge": intent.charge or None,
        "payment_method": intent.payment_method_id,
        "next_action": next_action,
        "last_payment_error": last_error,
        "description": intent.description,
        "metadata": {"reference": intent.reference},
        "created": int(intent.created.timestamp()),
        "checkout_url": public_url(reverse("sandbox:checkout", args=[intent.pk])),
    }


def refund_json(refund: Refund) -> dict:
    return {
        "id": refund.pk,
        "object": "refund",
        "amount": refund.amount,
        "currency": refund.currency,
        "payment_intent": refund.intent_id,
        "status": refund.status,
        "failure_reason": None,
        "metadata": {"reference": refund.reference},
        "created": int(refund.created.timestamp()),
    }


def controls_json(controls: TestControls) -> dict:
    return {"object": "test_controls", "drop_webhooks": controls.drop_webhooks,
            "duplicate_webhooks": controls.duplicate_webhooks, "hold_webhooks": controls.hold_webhooks,
            "fail_next_calls": controls.fail_next_calls}
