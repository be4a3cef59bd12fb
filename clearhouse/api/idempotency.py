"""Idempotency-Key for every mutating API call.

The key is remembered with a fingerprint of the request and the response, in
the same database transaction as the request's own effect:

- first use: the request runs; its effect and the record commit together,
  or (on a 5xx) neither does;
- a replay with the same request: the stored response comes back, marked
  `Idempotent-Replayed: true`, and nothing runs again;
- the same key with a different request: 409 `idempotency_key_reuse`;
- two concurrent requests with one key: the second waits on the first's
  unique-key insert, then replays its response. Exactly one executes.

Keys are scoped to the caller (API key or user), as Stripe scopes them to an
account.
"""

from __future__ import annotations

import contextlib
import hashlib
import json

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from clearhouse.api.auth import resolve_principal
from clearhouse.api.errors import error_response
from clearhouse.core.models import IdempotencyRecord

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/v1/"
HEADER = "Idempotency-Key"
# Responses that are about the caller, not the request's effect: not remembered.
NOT_REMEMBERED = frozenset({401, 403, 409, 429})


def request_fingerprint(request: HttpRequest) -> str:
    body = _multipart_digest(request) if request.content_type == "multipart/form-data" else request.body
    # The same JSON written with other spacing or key order is the same request.
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _multipart_digest(request: HttpRequest) -> bytes:
    """Fields and file contents, not the raw body: a retry rebuilt with a new boundary is the same request."""
    parts = sorted((k, v) for k in request.POST for v in request.POST.getlist(k))
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            digest = hashlib.sha256()
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
            parts.append((name, f"{upload.name}:{digest.hexdigest()}"))
    return json.dumps(parts).encode()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body or b""), status=record.response_status,
        content_type=record.response_content_type or "application/json",
    )
    response["Idempotent-Replayed"] = "true"
    return response


def _route_accepts(request: HttpRequest) -> bool:
    """Does an API operation exist for this path and method? (So a PUT nobody serves is a 405.)"""
    try:
        view = resolve(request.path_info).func
    except Resolver404:
        return False
    # django-ninja's view closes over its PathView, which knows the operations' methods.
    for cell in getattr(view, "__closure__", None) or ():
        operations = getattr(cell.cell_contents, "operations", None)
        if operations is not None:
            return any(request.method in op.methods for op in operations)
    return True


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.method not in MUTATING or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        key = request.headers.get(HEADER, "").strip()
        if not _route_accepts(request):
            return self.get_response(request)  # the API answers 404/405; nothing can run
        if not key:
            return error_response(
                status=400, code="idempotency_key_required", type="idempotency_error", param=HEADER,
                message="Mutating API calls need an Idempotency-Key header (any unique string, e.g. a UUID).",
            )
        if len(key) > 255:
            return error_response(status=400, code="idempotency_key_invalid", type="idempotency_error",
                                  param=HEADER, message="The Idempotency-Key is longer than 255 characters.")
        principal = resolve_principal(request)
        if principal is None:
            return self.get_response(request)  # the API answers 401
        try:
            return self._run_once(request, principal.scope_key, key)
        except RequestDataTooBig:
            return error_response(status=413, code="request_too_large", param=None,
                                  message="The request body is larger than this server accepts.")

    def _run_once(self, request: HttpRequest, scope: str, key: str) -> HttpResponse:
        fingerprint = request_fingerprint(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        scope=scope, key=key, fingerprint=fingerprint, method=request.method,
                        path=request.path[:500],
                    )
            except IntegrityError:
                existing = IdempotencyRecord.objects.get(scope=scope, key=key)
                if existing.fingerprint != fingerprint:
                    return error_response(
                        status=409, code="idempotency_key_reuse", type="idempotency_error", param=HEADER,
                        message="This Idempotency-Key was already used for a different request.",
                    )
                return _replay(existing)
            response = self.get_response(request)
            # A failed database statement may have doomed the transaction even though
            # the API answered with a 4xx: then nothing can be remembered either.
            doomed = transaction.get_rollback()
            if doomed or response.status_code >= 500 or response.status_code in NOT_REMEMBERED:
                transaction.set_rollback(True)
                return response
            record.response_status = response.status_code
            record.response_body = response.content
            record.response_content_type = response.get("Content-Type", "")
            record.save(update_fields=["response_status", "response_body", "response_content_type"])
            return response
