"""Writes of the PayPal simulator: apps and tokens, orders, captures, refunds, test controls.

Each service is one transaction; every status change PayPal announces emits
a webhook (CHECKOUT.ORDER.APPROVED, PAYMENT.CAPTURE.COMPLETED / PENDING /
DENIED / REFUNDED) to the app's webhook URL after commit.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clearhouse.sandbox.paypal.domain import (
    TEST_BUYERS,
    TOKEN_LIFETIME_S,
    Behaviour,
    fee_for,
    invalid_request,
    new_id,
    not_authorized,
    parse_value,
    unprocessable,
)
from clearhouse.sandbox.paypal.models import AccessToken, App, Capture, Order, Refund, SigningCert, TestControls
from clearhouse.sandbox.paypal.selectors import capture_json, controls_get, order_json, refund_json
from clearhouse.sandbox.paypal.webhooks import webhook_event_emit


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- apps, tokens and the signing certificate ---------------------------------------------------------------
def app_register(*, client_id: str, client_secret: str, merchant_id: str, webhook_url: str = "",
                 merchant_email: str = "", webhook_id: str = "") -> App:
    """Create or update a REST app (the developer dashboard's job): its secret is kept as a digest only."""
    app, _ = App.objects.update_or_create(client_id=client_id, defaults={
        "client_secret_sha256": digest(client_secret), "merchant_id": merchant_id,
        "merchant_email": merchant_email or f"{merchant_id.lower()}@business.example.com",
        "webhook_url": webhook_url, "webhook_id": webhook_id or App.objects.filter(
            client_id=client_id).values_list("webhook_id", flat=True).first() or new_id(17),
    })
    return app


def app_authenticate(*, client_id: str, client_secret: str) -> App | None:
    app = App.objects.filter(client_id=client_id).first()
    if app is None or not secrets.compare_digest(app.client_secret_sha256, digest(client_secret)):
        return None
    return app


def token_issue(*, app: App) -> tuple[str, int]:
    """A fresh bearer token (the plaintext is returned once; only its digest is stored)."""
    token = f"A21AA{secrets.token_urlsafe(48)}"
    AccessToken.objects.create(app=app, token_sha256=digest(token),
                               expires_at=timezone.now() + timedelta(seconds=TOKEN_LIFETIME_S))
    return token, TOKEN_LIFETIME_S


def app_for_token(*, token: str) -> App | None:
    row = AccessToken.objects.select_related("app").filter(token_sha256=digest(token),
                                                           expires_at__gt=timezone.now()).first()
    return row.app if row else None


def tokens_expire() -> int:
    """Test control: every issued token stops working (callers must fetch a new one)."""
    return AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))


def signing_cert_get() -> SigningCert:
    """PayPal's webhook signing certificate, generated once (RSA 2048, self-signed)."""
    cert = SigningCert.objects.order_by("pk").first()
    if cert is not None:
        return cert
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.sandbox.paypal.com")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=3650)).sign(key, hashes.SHA256()))
    return SigningCert.objects.create(
        cert_id=f"CERT-{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}",
        private_key_pem=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode(),
        cert_pem=certificate.public_bytes(serialization.Encoding.PEM).decode())


# --- orders --------------------------------------------------------------------------------------------------
def _owned(app: App, order_id: str) -> Order:
    from clearhouse.sandbox.paypal.selectors import order_get

    order_get(order_id=order_id)  # 404 when unknown
    order = Order.objects.select_for_update().select_related("app").get(pk=order_id)
    if order.app_id != app.pk:
        raise not_authorized()
    return order


def _experience(body: dict) -> tuple[dict, bool]:
    source = body.get("payment_source")
    if isinstance(source, dict) and isinstance(source.get("paypal"), dict):
        return source["paypal"].get("experience_context") or {}, True
    return body.get("application_context") or {}, False


def order_create(*, app: App, body: dict) -> Order:
    """A new order waiting for the buyer's approval (PAYER_ACTION_REQUIRED, or CREATED in the older flow)."""
    intent = body.get("intent")
    if intent not in ("CAPTURE", "AUTHORIZE"):
        raise invalid_request("MISSING_REQUIRED_PARAMETER" if not intent else "INVALID_PARAMETER_VALUE",
                              "intent is CAPTURE or AUTHORIZE.", field_path="/intent")
    if intent == "AUTHORIZE":
        raise unprocessable("FEATURE_NOT_SUPPORTED", "The simulator supports intent CAPTURE only.")
    units = body.get("purchase_units")
    if not isinstance(units, list) or len(units) != 1 or not isinstance(units[0], dict):
        raise invalid_request("INVALID_ARRAY_MAX_ITEMS", "Exactly one purchase unit is supported.",
                              field_path="/purchase_units")
    unit = units[0]
    amount = unit.get("amount") if isinstance(unit.get("amount"), dict) else {}
    currency, value = parse_value(amount.get("value"), amount.get("currency_code"),
                                  field_path="/purchase_units/@reference_id=='default'/amount")
    context, payer_action = _experience(body)
    return Order.objects.create(
        id=new_id(), app=app, intent=intent, status="PAYER_ACTION_REQUIRED" if payer_action else "CREATED",
        currency=currency, value=value, reference_id=str(unit.get("reference_id") or "")[:256],
        custom_id=str(unit.get("custom_id") or "")[:127], invoice_id=str(unit.get("invoice_id") or "")[:127],
        description=str(unit.get("description") or "")[:127], return_url=str(context.get("return_url") or ""),
        cancel_url=str(context.get("cancel_url") or ""), payer_action_flow=payer_action)


def order_approve(*, order_id: str, buyer_email: str) -> Order:
    """The buyer logged in on the checkout page and approved: APPROVED, and CHECKOUT.ORDER.APPROVED is sent."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("app").get(pk=order_id)
        if order.status not in ("CREATED", "PAYER_ACTION_REQUIRED"):
            raise unprocessable("ORDER_ALREADY_APPROVED" if order.status == "APPROVED" else "ORDER_NOT_APPROVABLE",
                                f"The order is {order.status}.")
        email = buyer_email.strip().lower()
        order.status, order.payer_email = "APPROVED", email
        order.payer_id = order.payer_id or new_id(13)
        order.buyer_behaviour = TEST_BUYERS.get(email, Behaviour.PAYS)
        order.save()
        webhook_event_emit(app=order.app, event_type="CHECKOUT.ORDER.APPROVED", resource_type="checkout-order",
                           resource=order_json(order), summary="An order has been approved by buyer")
    return order


def order_capture(*, app: App, order_id: str) -> Order:
    """Take the money of an approved order once. The buyer's test behaviour decides how it goes."""
    order = _owned(app, order_id)
    if order.status == "COMPLETED":
        raise unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured. If 'intent=CAPTURE' only one "
                                                      "capture per order is allowed.")
    if order.status != "APPROVED":
        raise unprocessable("ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment.")
    if order.buyer_behaviour == Behaviour.DECLINED:
        raise unprocessable("INSTRUMENT_DECLINED", "The instrument presented was either declined by the processor "
                                                   "or bank, or it can't be used for this payment.")
    status, reason = {Behaviour.PENDING: ("PENDING", "ECHECK"),
                      Behaviour.DENIED: ("DECLINED", "")}.get(order.buyer_behaviour, ("COMPLETED", ""))
    capture = Capture.objects.create(id=new_id(), order=order, status=status, status_reason=reason,
                                     value=order.value,
                                     fee=fee_for(order.value, order.currency) if status == "COMPLETED" else 0)
    order.status = "COMPLETED"
    order.save()
    _emit_capture(capture)
    return order


def _emit_capture(capture: Capture) -> None:
    event_type = {"COMPLETED": "PAYMENT.CAPTURE.COMPLETED", "PENDING": "PAYMENT.CAPTURE.PENDING",
                  "DECLINED": "PAYMENT.CAPTURE.DENIED"}[capture.status]
    webhook_event_emit(app=capture.order.app, event_type=event_type, resource_type="capture",
                       resource=capture_json(capture),
                       summary=f"Payment {capture.status.lower()} for {capture.value} {capture.order.currency}")


def capture_settle(*, capture_id: str, status: str) -> Capture:
    """Test control: a PENDING capture clears (COMPLETED) or is denied (DECLINED), with its webhook."""
    if status not in ("COMPLETED", "DECLINED"):
        raise invalid_request("INVALID_PARAMETER_VALUE", "status is COMPLETED or DECLINED.", field_path="/status")
    with transaction.atomic():
        capture = Capture.objects.select_for_update().select_related("order__app").get(pk=capture_id)
        if capture.status != "PENDING":
            raise unprocessable("CAPTURE_NOT_PENDING", f"The capture is {capture.status}.")
        capture.status, capture.status_reason = status, ""
        if status == "COMPLETED":
            capture.fee = fee_for(capture.value, capture.order.currency)
        capture.save()
        _emit_capture(capture)
    return capture


# --- refunds -------------------------------------------------------------------------------------------------
def capture_refund(*, app: App, capture_id: str, body: dict) -> Refund:
    """Give back all that is left of a capture (no amount) or part of it; never more than was captured."""
    from clearhouse.sandbox.paypal.selectors import capture_get

    capture_get(capture_id=capture_id)
    capture = Capture.objects.select_for_update().select_related("order__app").get(pk=capture_id)
    if capture.order.app_id != app.pk:
        raise not_authorized()
    if capture.status not in ("COMPLETED", "PARTIALLY_REFUNDED"):
        raise unprocessable("CAPTURE_FULLY_REFUNDED" if capture.status == "REFUNDED" else "REFUND_NOT_ALLOWED",
                            f"The capture is {capture.status}.")
    left = capture.value - capture.refunded
    value = left
    if body.get("amount") is not None:
        amount = body["amount"] if isinstance(body["amount"], dict) else {}
        currency, value = parse_value(amount.get("value"), amount.get("currency_code"), field_path="/amount")
        if currency != capture.order.currency:
            raise unprocessable("REFUND_CURRENCY_MISMATCH", "The refund currency must match the capture's.")
    if value > left:
        raise unprocessable("REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to the "
                                                      "capture amount that has not yet been refunded.")
    refund = Refund.objects.create(id=new_id(), capture=capture, value=value,
                                   invoice_id=str(body.get("invoice_id") or "")[:127],
                                   note_to_payer=str(body.get("note_to_payer") or "")[:255])
    capture.refunded += value
    capture.status = "REFUNDED" if capture.refunded == capture.value else "PARTIALLY_REFUNDED"
    capture.save()
    webhook_event_emit(app=app, event_type="PAYMENT.CAPTURE.REFUNDED", resource_type="refund",
                       resource=refund_json(refund),
                       summary=f"A {value} {capture.order.currency} capture payment was refunded")
    return refund


# --- test controls -------------------------------------------------------------------------------------------
def controls_update(**values) -> TestControls:
    """Set fault switches; a value not given is left as it is."""
    controls = controls_get()
    for name, value in values.items():
        kind = {"drop_webhooks": bool, "hold_webhooks": bool, "slow_response_s": (int, float)}.get(name, int)
        ok = isinstance(value, kind) and (kind is bool or (not isinstance(value, bool) and value >= 0))
        if not ok:
            raise invalid_request("INVALID_PARAMETER_VALUE", f"{name} has the wrong type.", field_path=f"/{name}")
        setattr(controls, name, value)
    controls.save()
    return controls


def controls_take(name: str) -> bool:
    """True (and one fewer left) when a `fail_next_calls` / `slow_next_calls` fault is due."""
    return bool(TestControls.objects.filter(pk=1, **{f"{name}__gt": 0}).update(**{name: F(name) - 1}))
