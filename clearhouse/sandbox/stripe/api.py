"""The Stripe simulator's v1 API under /sandbox/stripe/v1/ (the subset Clearhouse uses), in Stripe's wire format.

Authentication: `Authorization: Bearer sk_test_...` (or HTTP Basic with the key
as user name), per account. POST bodies are form-encoded with bracketed keys;
GET takes `expand[]` in the query string. Every answer is JSON with a
`Request-Id` header.

Idempotency (Stripe's v1 rules): a POST with an `Idempotency-Key` stores the
status and body of its first execution, per account; the same key replays it
(`Idempotent-Replayed: true`), the same key with other parameters is a 400
`idempotency_error`. Test controls: `fail_next_calls` answers 500 api_error
before anything executes (nothing stored, so a retry with the same key runs);
`slow_next_calls` executes and commits, then answers `slow_s` late.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from clearhouse.sandbox.stripe import services
from clearhouse.sandbox.stripe.domain import StripeError, decode_form, fingerprint, invalid_request, new_id
from clearhouse.sandbox.stripe.models import Account, IdempotentRequest
from clearhouse.sandbox.stripe.selectors import (
    account_for_key,
    controls_json,
    intent_get,
    intent_json,
    refund_get,
    refund_json,
)
from clearhouse.sandbox.stripe.webhooks import held_release


@dataclass(frozen=True)
class Call:
    """One API request, decoded: the account it authenticated as, its parameters, its idempotency key."""

    account: Account
    params: dict
    key: str

    @property
    def expand(self) -> frozenset[str]:
        value = self.params.get("expand") or []
        return frozenset(value if isinstance(value, list) else [value])


Handler = Callable[..., tuple[int, dict]]


def _response(status: int, payload: dict, *, replayed: bool = False, should_retry: bool | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(payload, indent=2), status=status, content_type="application/json")
    response["Request-Id"] = new_id("req", 14)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    if should_retry is not None:
        response["Stripe-Should-Retry"] = "true" if should_retry else "false"
    return response


def _secret_key(request: HttpRequest) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode().partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            return ""
    return ""


def _pairs(request: HttpRequest) -> list[tuple[str, str]]:
    if request.method == "GET":
        return parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    try:
        return parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise invalid_request("The request body is not form-encoded UTF-8.") from None


def _execute(handler: Handler, call: Call, kwargs: dict) -> tuple[int, dict]:
    """One execution inside a transaction; a 5xx rolls everything back."""
    try:
        status, payload = handler(call, **kwargs)
    except StripeError as error:
        status, payload = error.status, error.as_dict()
    if status >= 500:
        transaction.set_rollback(True)
    return status, payload


def _execute_once(handler: Handler, call: Call, kwargs: dict, print_: str) -> tuple[int, dict, bool]:
    with transaction.atomic():
        stored = IdempotentRequest.objects.filter(account=call.account, key=call.key).first()
        if stored is not None:
            if stored.fingerprint != print_:
                return 400, StripeError(
                    status=400, type="idempotency_error",
                    message=f"Keys for idempotent requests can only be used with the same parameters they were "
                            f"first used with. Try using a key other than '{call.key}' if you meant to execute a "
                            f"different request.").as_dict(), False
            return stored.response_status, json.loads(stored.response_body), True
        status, payload = _execute(handler, call, kwargs)
        if status < 500:
            try:
                with transaction.atomic():
                    IdempotentRequest.objects.create(account=call.account, key=call.key, fingerprint=print_,
                                                     response_status=status, response_body=json.dumps(payload))
            except IntegrityError:  # a concurrent request with this key won: undo ours, answer as it did
                transaction.set_rollback(True)
                stored = IdempotentRequest.objects.get(account=call.account, key=call.key)
                return stored.response_status, json.loads(stored.response_body), True
    return status, payload, False


def endpoint(*, methods: tuple[str, ...], faults: bool = True):
    """Wrap handler(call, **url_kwargs) -> (status, payload) with auth, faults, idempotency and Stripe errors."""

    def wrap(handler: Handler):
        @csrf_exempt
        def view(request: HttpRequest, **kwargs) -> HttpResponse:
            account = account_for_key(_secret_key(request))
            if account is None:
                return _response(401, StripeError(
                    status=401, type="invalid_request_error", code="api_key_invalid" if _secret_key(request) else "",
                    message="Invalid API Key provided." if _secret_key(request) else
                    "You did not provide an API key.").as_dict())
            if request.method not in methods:
                return _response(405, invalid_request(f"Unrecognized request URL ({request.method}: "
                                                      f"{request.path}).", status=405).as_dict())
            if faults and services.controls_take(account=account, name="fail_next_calls"):
                return _response(500, StripeError(status=500, type="api_error", message=(
                    "An unknown error occurred (test controls: fail_next_calls).")).as_dict(), should_retry=True)
            try:
                pairs = _pairs(request)
                call = Call(account=account, params=decode_form(pairs),
                            key=request.headers.get("Idempotency-Key", "").strip() if request.method == "POST" else "")
            except StripeError as error:
                return _response(error.status, error.as_dict())
            slow = faults and services.controls_take(account=account, name="slow_next_calls")
            if call.key:
                status, payload, replayed = _execute_once(
                    handler, call, kwargs, fingerprint(method=request.method, path=request.path, pairs=pairs))
            else:
                with transaction.atomic():
                    (status, payload), replayed = _execute(handler, call, kwargs), False
            if slow:
                time.sleep(account.slow_s)
            return _response(status, payload, replayed=replayed)

        view.__name__ = handler.__name__
        return view

    return wrap


def _only(call: Call, allowed: set[str]) -> None:
    """Stripe refuses parameters it does not know."""
    unknown = sorted(set(call.params) - allowed - {"expand"})
    if unknown:
        raise invalid_request(f"Received unknown parameter: {unknown[0]}", code="parameter_unknown",
                              param=unknown[0])


# --- payment intents ---------------------------------------------------------------------------------
CREATE_PARAMS = {"amount", "currency", "capture_method", "description", "metadata", "payment_method", "confirm",
                 "return_url", "payment_method_types", "automatic_payment_methods", "statement_descriptor"}


@endpoint(methods=("POST",))
def payment_intents(call: Call) -> tuple[int, dict]:
    _only(call, CREATE_PARAMS)
    intent = services.payment_intent_create(account=call.account, params=call.params, key=call.key)
    return 200, intent_json(intent, call.expand)


@endpoint(methods=("GET",))
def payment_intent(call: Call, intent_id: str) -> tuple[int, dict]:
    _only(call, set())
    intent = intent_get(account=call.account, intent_id=intent_id)
    return 200, intent_json(intent, call.expand)


@endpoint(methods=("POST",))
def payment_intent_confirm(call: Call, intent_id: str) -> tuple[int, dict]:
    _only(call, {"payment_method", "return_url", "payment_method_types"})
    intent = services.payment_intent_confirm(account=call.account, intent_id=intent_id, params=call.params,
                                             key=call.key)
    return 200, intent_json(intent, call.expand)


@endpoint(methods=("POST",))
def payment_intent_capture(call: Call, intent_id: str) -> tuple[int, dict]:
    _only(call, {"amount_to_capture", "metadata"})
    intent = services.payment_intent_capture(account=call.account, intent_id=intent_id, params=call.params,
                                             key=call.key)
    return 200, intent_json(intent, call.expand)


@endpoint(methods=("POST",))
def payment_intent_cancel(call: Call, intent_id: str) -> tuple[int, dict]:
    _only(call, {"cancellation_reason"})
    intent = services.payment_intent_cancel(account=call.account, intent_id=intent_id, params=call.params,
                                            key=call.key)
    return 200, intent_json(intent, call.expand)


# --- refunds -----------------------------------------------------------------------------------------
@endpoint(methods=("POST",))
def refunds(call: Call) -> tuple[int, dict]:
    _only(call, {"payment_intent", "charge", "amount", "reason", "metadata"})
    return 200, refund_json(services.refund_create(account=call.account, params=call.params, key=call.key),
                            call.expand)


@endpoint(methods=("GET",))
def refund(call: Call, refund_id: str) -> tuple[int, dict]:
    _only(call, set())
    return 200, refund_json(refund_get(account=call.account, refund_id=refund_id), call.expand)


# --- test controls (not part of Stripe's API) ----------------------------------------------------------
@endpoint(methods=("GET", "POST"), faults=False)
def test_controls(call: Call) -> tuple[int, dict]:
    if call.params:
        services.controls_update(account=call.account, params=call.params)
    return 200, controls_json(call.account)


@endpoint(methods=("POST",), faults=False)
def test_controls_release_held(call: Call) -> tuple[int, dict]:
    _only(call, {"reverse"})
    released = held_release(account=call.account, reverse=str(call.params.get("reverse", "")).lower() == "true")
    return 200, {"object": "release", "released": released}


@endpoint(methods=("POST",), faults=False)
def test_controls_settle_refunds(call: Call) -> tuple[int, dict]:
    _only(call, {"fail"})
    settled = services.refunds_settle(account=call.account, fail=str(call.params.get("fail", "")).lower() == "true")
    return 200, {"object": "settlement", "settled": settled}
