"""The API's error envelope: {"error": {"type", "code", "message", "param"}}.

Every failure a client can cause maps to a 4xx with a stable code; only our
own bugs are 500s, and those too come back in the envelope.
"""

from __future__ import annotations

import json
import logging

from django.db import DataError
from django.http import Http404, JsonResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

from clearhouse.core.errors import DomainError

log = logging.getLogger(__name__)


def error_response(*, status: int, code: str, message: str, type: str = "invalid_request_error",
                   param: str | None = None) -> JsonResponse:
    return JsonResponse({"error": {"type": type, "code": code, "message": message, "param": param}},
                        status=status)


def _param_from_loc(loc) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "payload")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or None


def _validation_response(exc: ValidationError) -> JsonResponse:
    first = exc.errors[0] if exc.errors else {}
    kind = first.get("type", "")
    param = _param_from_loc(first.get("loc", ()))
    if kind == "json_invalid" or "JSON" in str(first.get("msg", "")):
        return error_response(status=400, code="malformed_json", message="The request body is not valid JSON.")
    code = {
        "missing": "parameter_missing",
        "extra_forbidden": "parameter_unknown",
    }.get(kind, "parameter_invalid")
    message = str(first.get("msg", "Invalid parameter"))
    if param:
        message = f"{param}: {message}"
    return error_response(status=400, code=code, message=message, param=param)


def install_error_handlers(api) -> None:
    @api.exception_handler(DomainError)
    def _domain(request, exc: DomainError):
        return error_response(status=exc.http_status, code=exc.code, message=exc.message, type=exc.type,
                              param=exc.param)

    @api.exception_handler(ValidationError)
    def _validation(request, exc: ValidationError):
        return _validation_response(exc)

    @api.exception_handler(AuthenticationError)
    def _auth(request, exc):
        return error_response(status=401, code="authentication_required", type="authentication_error",
                              message="Authentication is required: a session or an API key (Authorization: Bearer).")

    @api.exception_handler(HttpError)
    def _http(request, exc: HttpError):
        if exc.status_code == 400 and "parse request body" in str(exc):
            return error_response(status=400, code="malformed_json", message="The request body is not valid JSON.")
        if exc.status_code == 403:
            return error_response(status=403, code="csrf_failed", type="permission_error",
                                  message="CSRF check failed: send the csrftoken cookie's value as X-CSRFToken.")
        return error_response(status=exc.status_code, code="http_error", message=str(exc))

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return error_response(status=404, code="not_found", type="not_found_error", message="No such object.")

    @api.exception_handler(json.JSONDecodeError)
    def _bad_json(request, exc):
        return error_response(status=400, code="malformed_json", message="The request body is not valid JSON.")

    @api.exception_handler(DataError)
    def _data(request, exc):
        # The database refused a value the schema let through (an id beyond 64 bits, a NUL byte).
        return error_response(status=400, code="parameter_invalid",
                              message="A parameter is out of range or contains characters that cannot be stored.")

    @api.exception_handler(Exception)
    def _unexpected(request, exc):
        log.exception("unexpected error in API call %s %s", request.method, request.path)
        return error_response(status=500, code="internal_error", type="api_error",
                              message="Something went wrong on our side; nothing was changed.")
