"""Typed domain errors with stable codes.

Every error a caller can cause is a `DomainError` subclass carrying a stable
`code` (what API clients branch on), an HTTP status and the offending
parameter. The API turns them into `{"error": {type, code, message, param}}`.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused the request; nothing was written."""

    code = "invalid_request"
    type = "invalid_request_error"
    http_status = 400
    default_message = "The request was refused."

    def __init__(self, message: str | None = None, *, param: str | None = None, **details):
        self.message = message or self.default_message
        self.param = param
        self.details = details
        super().__init__(self.message)

    def as_dict(self) -> dict:
        return {"type": self.type, "code": self.code, "message": self.message, "param": self.param}


# --- money -----------------------------------------------------------------
class InvalidAmount(DomainError):
    code = "invalid_amount"
    default_message = "The amount is not a valid decimal number."


class FloatNotAllowed(InvalidAmount):
    code = "float_not_allowed"
    default_message = "Amounts must be given as decimal strings (e.g. \"12.34\"), never as floats."


class TooManyDecimals(InvalidAmount):
    code = "too_many_decimals"
    default_message = "The amount has more decimal places than its currency allows."


class UnknownCurrency(DomainError):
    code = "unknown_currency"
    default_message = "The currency is not an ISO 4217 currency code."


class CurrencyMismatch(DomainError):
    code = "currency_mismatch"
    default_message = "Amounts in different currencies cannot be combined."


# --- generic ---------------------------------------------------------------
class ValidationFailed(DomainError):
    code = "validation_failed"
    default_message = "The request is not valid."


class NotFound(DomainError):
    code = "not_found"
    type = "not_found_error"
    http_status = 404
    default_message = "No such object."


class PermissionDenied(DomainError):
    code = "permission_denied"
    type = "permission_error"
    http_status = 403
    default_message = "You are not allowed to do this."


class AuthenticationRequired(DomainError):
    code = "authentication_required"
    type = "authentication_error"
    http_status = 401
    default_message = "Authentication is required: a session or an API key (Authorization: Bearer)."


class InvalidTransition(DomainError):
    code = "invalid_transition"
    http_status = 409
    default_message = "This change of state is not allowed."


class IdempotencyConflict(DomainError):
    code = "idempotency_key_reuse"
    type = "idempotency_error"
    http_status = 409
    default_message = "This idempotency key was already used with different content."
