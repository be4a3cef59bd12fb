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

Operations that call a payment provider over the network (marked with
`@outside_transaction`) must not hold a database transaction while they
wait for it: on SQLite that would block every writer, on PostgreSQL it
would hold row locks for the provider's latency. For them the record is
committed first (in progress), the operation runs its own short
transactions around the provider call, and the response is stored after.
A concurrent request with the same key meanwhile gets 409
`idempotency_request_in_progress` (retry later and get the stored
response); a 5xx forgets the key so a retry runs again; a record left in
progress by a crash is taken over after IN_PROGRESS_STALE.

Keys are scoped to the caller (API key or user), as Stripe scopes them to an
account.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import timedelta

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone

from clearhouse.api.auth import resolve_principal
from clearhouse.api.errors import error_response
from clearhouse.core.models import IdempotencyRecord

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/v1/"
HEADER = "Idempotency-Key"
# Responses that are about the caller, not the request's effect: not remembered.
NOT_REMEMBERED = frozenset({401, 403, 409, 429})
IN_PROGRESS_STALE = timedelta(minutes=2)


def _insert_if_new(*, scope: str, key: str, fingerprint: str, method: str, path: str) -> IdempotencyRecord | None:
    """Insert the record unless the key is taken (then None): one statement, no savepoint around it.

    A concurrent request with the same key waits on the unique index until the first commits, then sees
    the key taken, as before (PostgreSQL and SQLite both speak ON CONFLICT ... DO NOTHING RETURNING).
    """
    table = IdempotencyRecord._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (scope, key, fingerprint, method, path, response_content_type, created_at) "  # noqa: S608
            f"VALUES (%s, %s, %s, %s, %s, '', %s) ON CONFLICT (scope, key) DO NOTHING RETURNING id",
            [scope, key, fingerprint, method, path, connection.ops.adapt_datetimefield_value(now)])
        row = cursor.fetchone()
    if row is None:
        return None
    record = IdempotencyRecord(pk=row[0], scope=scope, key=key, fingerprint=fingerprint, method=method, path=path,
                               created_at=now)
    record._state.adding = False  # it is in the database: saving it updates
    return record


def outside_transaction(view_func):
    """Mark an API operation that calls a provider: its idempotency record is kept outside its transactions."""
    view_func.clearhouse_outside_transaction = True
    return view_func


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


def _operations(request: HttpRequest):
    """The django-ninja operations serving this path (None: not a ninja path; [] when nothing resolves)."""
    try:
        view = resolve(request.path_info).func
    except Resolver404:
        return []
    # django-ninja's view closes over its PathView, which knows the operations and their methods.
    for cell in getattr(view, "__closure__", None) or ():
        operations = getattr(cell.cell_contents, "operations", None)
        if operations is not None:
            return [op for op in operations if request.method in op.methods]
    return None


def _route_accepts(request: HttpRequest) -> bool:
    """Does an API operation exist for this path and method? (So a PUT nobody serves is a 405.)"""
    operations = _operations(request)
    return operations is None or bool(operations)


def _outside_transaction(request: HttpRequest) -> bool:
    return any(getattr(op.view_func, "clearhouse_outside_transaction", False) for op in _operations(request) or ())


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
            if _outside_transaction(request):
                return self._run_unwrapped(request, principal.scope_key, key)
            return self._run_once(request, principal.scope_key, key)
        except RequestDataTooBig:
            return error_response(status=413, code="request_too_large", param=None,
                                  message="The request body is larger than this server accepts.")

    def _run_once(self, request: HttpRequest, scope: str, key: str) -> HttpResponse:
        fingerprint = request_fingerprint(request)
        with transaction.atomic():
            record = _insert_if_new(scope=scope, key=key, fingerprint=fingerprint, method=request.method,
                                    path=request.path[:500])
            if record is None:
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

    def _run_unwrapped(self, request: HttpRequest, scope: str, key: str) -> HttpResponse:
        fingerprint = request_fingerprint(request)
        record = self._claim(request, scope, key, fingerprint)
        if isinstance(record, HttpResponse):
            return record
        response = self.get_response(request)
        if response.status_code >= 500 or response.status_code in NOT_REMEMBERED:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            response_status=response.status_code, response_body=response.content,
            response_content_type=response.get("Content-Type", ""))
        return response

    def _claim(self, request: HttpRequest, scope: str, key: str, fingerprint: str):
        """The committed in-progress record for this key, or the response to give instead (replay, 409)."""
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(scope=scope, key=key, fingerprint=fingerprint,
                                                        method=request.method, path=request.path[:500])
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.get(scope=scope, key=key)
        if existing.fingerprint != fingerprint:
            return error_response(status=409, code="idempotency_key_reuse", type="idempotency_error", param=HEADER,
                                  message="This Idempotency-Key was already used for a different request.")
        if existing.response_status is not None:
            return _replay(existing)
        stale = timezone.now() - IN_PROGRESS_STALE
        # A record left in progress by a crash: one retry takes it over (the operation itself is idempotent).
        if IdempotencyRecord.objects.filter(pk=existing.pk, response_status__isnull=True,
                                            created_at__lt=stale).update(created_at=timezone.now()):
            return existing
        return error_response(status=409, code="idempotency_request_in_progress", type="idempotency_error",
                              param=HEADER, message="A request with this Idempotency-Key is still running; "
                                                    "retry shortly to get its response.")
