"""The sandbox provider's JSON API under /sandbox/v1/ (Stripe-like).

Every call needs `Authorization: Bearer <CLEARHOUSE_SANDBOX_SECRET_KEY>`. POSTs
honour `Idempotency-Key`: the same key with the same request replays the stored
answer (`Idempotent-Replayed: true`); with a different request it is a 400
idempotency_error. 5xx answers are not remembered and change nothing, so a
retry with the same key runs again. Clearhouse's own /api/ idempotency
middleware does not apply here (it only looks at /api/v1/).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from clearhouse.sandbox import services
from clearhouse.sandbox.domain import Behaviour, SandboxError, invalid_request
from clearhouse.sandbox.models import IdempotentRequest
from clearhouse.sandbox.selectors import controls_get, controls_json, intent_get, intent_json, refund_get, refund_json
from clearhouse.sandbox.webhooks import webhook_held_release


@dataclass(frozen=True)
class Answer:
    status: int
    payload: dict
    delay_s: float = 0.0  # the slow test card: answer late, after the work has committed


Handler = Callable[..., Answer]


def _error(error: SandboxError) -> Answer:
    payload = error.as_dict()
    if getattr(error, "payment_intent", None):
        payload["error"]["payment_intent"] = error.payment_intent
    return Answer(error.status, payload)


def _json_response(answer: Answer, *, replayed: bool = False) -> HttpResponse:
    response = JsonResponse(answer.payload, status=answer.status)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _authenticated(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = settings.CLEARHOUSE_SANDBOX_SECRET_KEY
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())


def _body(request: HttpRequest) -> dict:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise invalid_request("invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise invalid_request("invalid_json", "The request body must be a JSON object.")
    return body


def _fingerprint(request: HttpRequest, body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _run(handler: Handler, request: HttpRequest, kwargs: dict) -> Answer:
    """One attempt inside a transaction; a 5xx rolls everything back (nothing changes)."""
    try:
        answer = handler(request, _body(request), **kwargs)
    except SandboxError as error:
        answer = _error(error)
    if answer.status >= 500:
        transaction.set_rollback(True)
    return answer


def _run_once(handler: Handler, request: HttpRequest, kwargs: dict, key: str) -> tuple[Answer, bool]:
    try:
        fingerprint = _fingerprint(request, _body(request))
    except SandboxError as error:
        return _error(error), False
    with transaction.atomic():
        stored = IdempotentRequest.objects.filter(key=key).first()
        if stored is not None:
            if stored.fingerprint != fingerprint:
                return _error(SandboxError(status=400, type="idempotency_error", code="idempotency_key_in_use",
                                           message="This Idempotency-Key was used with a different request.")), False
            return Answer(stored.response_status, json.loads(stored.response_body)), True
        answer = _run(handler, request, kwargs)
        if answer.status < 500:
            try:
                with transaction.atomic():
                    IdempotentRequest.objects.create(key=key, fingerprint=fingerprint, response_status=answer.status,
                                                     response_body=json.dumps(answer.payload))
            except IntegrityError:  # a concurrent request with this key won: undo ours, answer as it did
                transaction.set_rollback(True)
                stored = IdempotentRequest.objects.get(key=key)
                return Answer(stored.response_status, json.loads(stored.response_body)), True
    return answer, False


def endpoint(*, methods: tuple[str, ...], counts_for_faults: bool = True):
    """Wrap a handler(request, body, **url_kwargs) -> Answer with auth, faults, idempotency and JSON errors."""

    def wrap(handler: Handler):
        @csrf_exempt
        def view(request: HttpRequest, **kwargs) -> HttpResponse:
            if not _authenticated(request):
                return _json_response(Answer(401, SandboxError(
                    status=401, type="authentication_error", code="invalid_api_key",
                    message="Invalid API key: send Authorization: Bearer <secret key>.").as_dict()))
            if request.method not in methods:
                return _json_response(_error(SandboxError(status=405, type="invalid_request_error",
                                                          code="method_not_allowed",
                                                          message=f"{request.method} is not allowed here.")))
            if counts_for_faults and services.controls_take_failure():
                return _json_response(Answer(500, SandboxError(
                    status=500, type="api_error", code="api_error",
                    message="Injected failure (test controls: fail_next_calls).").as_dict()))
            key = request.headers.get("Idempotency-Key", "").strip() if request.method == "POST" else ""
            if key:
                answer, replayed = _run_once(handler, request, kwargs, key)
            else:
                with transaction.atomic():
                    answer, replayed = _run(handler, request, kwargs), False
            if answer.delay_s and not replayed:
                time.sleep(answer.delay_s)
            return _json_response(answer, replayed=replayed)

        view.__name__ = handler.__name__
        return view

    return wrap


# --- payment intents -------------------------------------------------------------------------
@endpoint(methods=("POST",))
def payment_intents(request: HttpRequest, body: dict) -> Answer:
    intent = services.payment_intent_create(
        amount=body.get("amount"), currency=body.get("currency", ""),
        capture_method=body.get("capture_method", "automatic"), reference=body.get("reference", ""),
        description=body.get("description", ""), notify_url=body.get("notify_url", ""),
        return_url=body.get("return_url", ""),
    )
    return Answer(200, intent_json(intent))


@endpoint(methods=("GET",))
def payment_intent_detail(request: HttpRequest, body: dict, intent_id: str) -> Answer:
    return Answer(200, intent_json(intent_get(intent_id=intent_id)))


@endpoint(methods=("POST",))
def payment_intent_confirm(request: HttpRequest, body: dict, intent_id: str) -> Answer:
    intent = services.payment_intent_confirm(intent_id=intent_id, payment_method_id=body.get("payment_method", ""),
                                             return_url=body.get("return_url", ""))
    slow = intent.payment_method is not None and intent.payment_method.behaviour == Behaviour.SLOW
    return Answer(200, intent_json(intent), delay_s=settings.CLEARHOUSE_SANDBOX_SLOW_RESPONSE_S if slow else 0)


@endpoint(methods=("POST",))
def payment_intent_capture(request: HttpRequest, body: dict, intent_id: str) -> Answer:
    intent = services.payment_intent_capture(intent_id=intent_id, amount_to_capture=body.get("amount_to_capture"))
    return Answer(200, intent_json(intent))


@endpoint(methods=("POST",))
def payment_intent_cancel(request: HttpRequest, body: dict, intent_id: str) -> Answer:
    return Answer(200, intent_json(services.payment_intent_cancel(intent_id=intent_id)))


# --- refunds -----------------------------------------------------------------------------------
@endpoint(methods=("POST",))
def refunds(request: HttpRequest, body: dict) -> Answer:
    intent_id = str(body.get("payment_intent") or "")
    intent_get(intent_id=intent_id)
    refund = services.refund_create(intent_id=intent_id, amount=body.get("amount"), reference=body.get("reference", ""))
    return Answer(200, refund_json(refund))


@endpoint(methods=("GET",))
def refund_detail(request: HttpRequest, body: dict, refund_id: str) -> Answer:
    return Answer(200, refund_json(refund_get(refund_id=refund_id)))


# --- test controls -----------------------------------------------------------------------------
@endpoint(methods=("GET", "POST"), counts_for_faults=False)
def test_controls(request: HttpRequest, body: dict) -> Answer:
    if request.method == "GET":
        return Answer(200, controls_json(controls_get()))
    allowed = {"drop_webhooks", "duplicate_webhooks", "hold_webhooks", "fail_next_calls"}
    unknown = set(body) - allowed
    if unknown:
        raise invalid_request("parameter_unknown", f"Unknown test controls: {', '.join(sorted(unknown))}.")
    return Answer(200, controls_json(services.controls_update(**body)))


@endpoint(methods=("POST",), counts_for_faults=False)
def test_controls_release_held(request: HttpRequest, body: dict) -> Answer:
    released = webhook_held_release(reverse=bool(body.get("reverse", False)))
    return Answer(200, {"object": "release", "released": released})
