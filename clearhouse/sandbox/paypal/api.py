"""The PayPal simulator's REST API under /sandbox/paypal/ (the paths of api-m.paypal.com).

    POST /v1/oauth2/token                          Basic client_id:secret, grant_type=client_credentials
    POST /v2/checkout/orders                       GET /v2/checkout/orders/{id}
    POST /v2/checkout/orders/{id}/capture          GET /v2/payments/captures/{id}
    POST /v2/payments/captures/{id}/refund         GET /v2/payments/refunds/{id}
    POST /v1/notifications/verify-webhook-signature
    GET  /v1/notifications/certs/{cert id}         the webhook signing certificate (PEM)
    /v1/test_controls...                           the simulator's fault switches (not PayPal's)

Calls need `Authorization: Bearer <access token>`. A POST with a
`PayPal-Request-Id` is done once: the same id with the same request replays
the stored answer; with another request it is a 422
PAYPAL_REQUEST_ID_PREVIOUSLY_USED. 5xx answers are not remembered and change
nothing, so a retry with the same id runs again. A "slow" fault does the work,
commits, and answers late (the caller times out, the money has moved).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt

from clearhouse.sandbox.paypal import services
from clearhouse.sandbox.paypal.domain import PayPalError, internal_error, invalid_request, not_authorized, unprocessable
from clearhouse.sandbox.paypal.models import App, IdempotentRequest, SigningCert
from clearhouse.sandbox.paypal.selectors import (
    capture_get,
    capture_json,
    controls_get,
    controls_json,
    order_get,
    order_json,
    refund_get,
    refund_json,
)
from clearhouse.sandbox.paypal.webhooks import canonical, webhook_held_release


@dataclass(frozen=True)
class Answer:
    status: int
    payload: dict


Handler = Callable[..., Answer]


def _error(error: PayPalError) -> Answer:
    return Answer(error.status, error.as_dict())


def _unauthenticated() -> HttpResponse:
    return JsonResponse({"name": "AUTHENTICATION_FAILURE", "message": "Authentication failed due to invalid "
                         "authentication credentials or a missing Authorization header.",
                         "links": [{"href": "https://developer.paypal.com/api/rest/authentication/",
                                    "rel": "information_link"}]}, status=401)


def _bearer_app(request: HttpRequest) -> App | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return services.app_for_token(token=token.strip())


def _body(request: HttpRequest) -> dict:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise invalid_request("MALFORMED_REQUEST_JSON", "The request JSON is not well formed.") from None
    if not isinstance(body, dict):
        raise invalid_request("MALFORMED_REQUEST_JSON", "The request body must be a JSON object.")
    return body


def _run(handler: Handler, request: HttpRequest, app: App, kwargs: dict) -> Answer:
    try:
        answer = handler(request, _body(request), app, **kwargs)
    except PayPalError as error:
        answer = _error(error)
    if answer.status >= 500:
        transaction.set_rollback(True)
    return answer


def _run_once(handler: Handler, request: HttpRequest, app: App, kwargs: dict, key: str) -> Answer:
    fingerprint = hashlib.sha256(request.path.encode() + b"\n" + request.body).hexdigest()
    with transaction.atomic():
        stored = IdempotentRequest.objects.filter(app=app, request_id=key).first()
        if stored is not None:
            if stored.fingerprint != fingerprint:
                return _error(unprocessable("PAYPAL_REQUEST_ID_PREVIOUSLY_USED",
                                            "The PayPal-Request-Id has already been used for another request."))
            return Answer(stored.response_status, json.loads(stored.response_body))
        answer = _run(handler, request, app, kwargs)
        if answer.status < 500:
            try:
                with transaction.atomic():
                    IdempotentRequest.objects.create(app=app, request_id=key, fingerprint=fingerprint,
                                                     response_status=answer.status,
                                                     response_body=json.dumps(answer.payload))
            except IntegrityError:
                transaction.set_rollback(True)
                stored = IdempotentRequest.objects.get(app=app, request_id=key)
                return Answer(stored.response_status, json.loads(stored.response_body))
    return answer


def endpoint(*, methods: tuple[str, ...], faults: bool = True):
    """Wrap handler(request, body, app, **url_kwargs) -> Answer with auth, faults, idempotency, JSON errors."""

    def wrap(handler: Handler):
        @csrf_exempt
        def view(request: HttpRequest, **kwargs) -> HttpResponse:
            app = _bearer_app(request)
            if app is None:
                return _unauthenticated()
            if request.method not in methods:
                return JsonResponse({"name": "METHOD_NOT_SUPPORTED", "message": "The server does not implement "
                                     "the requested HTTP method."}, status=405)
            if faults and services.controls_take("fail_next_calls"):
                return JsonResponse(internal_error().as_dict(), status=500)
            slow = faults and services.controls_take("slow_next_calls")
            key = request.headers.get("PayPal-Request-Id", "").strip() if request.method == "POST" else ""
            if key:
                answer = _run_once(handler, request, app, kwargs, key[:255])
            else:
                with transaction.atomic():
                    answer = _run(handler, request, app, kwargs)
            if slow:
                time.sleep(controls_get().slow_response_s)
            response = JsonResponse(answer.payload, status=answer.status)
            response["Paypal-Debug-Id"] = answer.payload.get("debug_id", "") or "sim"
            return response

        view.__name__ = handler.__name__
        return view

    return wrap


# --- OAuth2 --------------------------------------------------------------------------------------------------
@csrf_exempt
def oauth2_token(request: HttpRequest) -> HttpResponse:
    """Client-credentials grant: Basic client_id:secret → a bearer token with expires_in (seconds)."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    try:
        client_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        client_id = secret = ""
    app = services.app_authenticate(client_id=client_id, client_secret=secret) \
        if scheme.lower() == "basic" and client_id else None
    if request.method != "POST" or app is None:
        return JsonResponse({"error": "invalid_client", "error_description": "Client Authentication failed"},
                            status=401)
    form = parse_qs(request.body.decode("utf-8", "replace"))
    if form.get("grant_type") != ["client_credentials"]:
        return JsonResponse({"error": "unsupported_grant_type",
                             "error_description": "Grant Type is NULL or not supported"}, status=400)
    with transaction.atomic():
        token, expires_in = services.token_issue(app=app)
    return JsonResponse({"scope": "https://uri.paypal.com/services/payments/payment",
                         "access_token": token, "token_type": "Bearer", "app_id": f"APP-{app.pk:017d}",
                         "expires_in": expires_in, "nonce": f"{int(time.time())}sim"})


# --- orders, captures, refunds -------------------------------------------------------------------------------
@endpoint(methods=("POST",))
def orders(request: HttpRequest, body: dict, app: App) -> Answer:
    return Answer(201, order_json(services.order_create(app=app, body=body)))


def _mine(app: App, owner_id: int) -> None:
    if owner_id != app.pk:
        raise not_authorized()


@endpoint(methods=("GET",))
def order_detail(request: HttpRequest, body: dict, app: App, order_id: str) -> Answer:
    order = order_get(order_id=order_id)
    _mine(app, order.app_id)
    return Answer(200, order_json(order))


@endpoint(methods=("POST",))
def order_capture(request: HttpRequest, body: dict, app: App, order_id: str) -> Answer:
    return Answer(201, order_json(services.order_capture(app=app, order_id=order_id)))


@endpoint(methods=("GET",))
def capture_detail(request: HttpRequest, body: dict, app: App, capture_id: str) -> Answer:
    capture = capture_get(capture_id=capture_id)
    _mine(app, capture.order.app_id)
    return Answer(200, capture_json(capture))


@endpoint(methods=("POST",))
def capture_refund(request: HttpRequest, body: dict, app: App, capture_id: str) -> Answer:
    return Answer(201, refund_json(services.capture_refund(app=app, capture_id=capture_id, body=body)))


@endpoint(methods=("GET",))
def refund_detail(request: HttpRequest, body: dict, app: App, refund_id: str) -> Answer:
    refund = refund_get(refund_id=refund_id)
    _mine(app, refund.capture.order.app_id)
    return Answer(200, refund_json(refund))


# --- webhook verification ------------------------------------------------------------------------------------
@endpoint(methods=("POST",), faults=True)
def verify_webhook_signature(request: HttpRequest, body: dict, app: App) -> Answer:
    """SUCCESS when the signature is ours over `id|time|webhook_id|crc32(event)` for one of the caller's
    webhooks. The event is re-serialised exactly as the simulator sends events, so any change to its
    content changes the CRC."""
    required = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id",
                "webhook_event")
    missing = [name for name in required if not body.get(name)]
    if missing:
        raise invalid_request("MISSING_REQUIRED_PARAMETER", f"{missing[0]} is required.", field_path=f"/{missing[0]}")
    return Answer(200, {"verification_status": "SUCCESS" if _signature_ok(app, body) else "FAILURE"})


def _signature_ok(app: App, body: dict) -> bool:
    from clearhouse.sandbox.paypal.domain import signed_string

    cert = SigningCert.objects.filter(cert_id=str(body["cert_url"]).rstrip("/").rsplit("/", 1)[-1]).first()
    if cert is None or body["auth_algo"] != "SHA256withRSA" or body["webhook_id"] != app.webhook_id \
            or not isinstance(body["webhook_event"], dict):
        return False
    message = signed_string(transmission_id=str(body["transmission_id"]),
                            transmission_time=str(body["transmission_time"]), webhook_id=app.webhook_id,
                            body=canonical(body["webhook_event"]))
    public_key = x509.load_pem_x509_certificate(cert.cert_pem.encode()).public_key()
    try:
        public_key.verify(base64.b64decode(str(body["transmission_sig"])), message, padding.PKCS1v15(),
                          hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def cert(request: HttpRequest, cert_id: str) -> HttpResponse:
    """The signing certificate, as PayPal serves it at PAYPAL-CERT-URL (public; no auth)."""
    row = get_object_or_404(SigningCert, cert_id=cert_id)
    return HttpResponse(row.cert_pem, content_type="application/x-pem-file")


# --- test controls (the simulator's own; not part of PayPal's API) -------------------------------------------
@endpoint(methods=("GET", "POST"), faults=False)
def test_controls(request: HttpRequest, body: dict, app: App) -> Answer:
    if request.method == "POST":
        allowed = {"fail_next_calls", "slow_next_calls", "slow_response_s", "drop_webhooks", "duplicate_webhooks",
                   "hold_webhooks"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise invalid_request("UNKNOWN_FIELD", f"Unknown test control: {unknown[0]}.", field_path=f"/{unknown[0]}")
        return Answer(200, controls_json(services.controls_update(**body)))
    return Answer(200, controls_json(controls_get()))


@endpoint(methods=("POST",), faults=False)
def test_controls_release_held(request: HttpRequest, body: dict, app: App) -> Answer:
    return Answer(200, {"released": webhook_held_release(reverse=bool(body.get("reverse", False)))})


@endpoint(methods=("POST",), faults=False)
def test_controls_expire_tokens(request: HttpRequest, body: dict, app: App) -> Answer:
    return Answer(200, {"expired": services.tokens_expire()})


@endpoint(methods=("POST",), faults=False)
def test_controls_settle_capture(request: HttpRequest, body: dict, app: App, capture_id: str) -> Answer:
    capture_get(capture_id=capture_id)
    return Answer(200, capture_json(services.capture_settle(capture_id=capture_id, status=str(body.get("status")))))
