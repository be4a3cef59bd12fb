"""API authentication: a bearer API key, or the browser session (with CSRF)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from clearhouse.accounts.mfa import session_is_verified
from clearhouse.accounts.principal import Principal, principal_for_api_key, principal_for_user, principal_requires_mfa
from clearhouse.accounts.services import api_key_authenticate

_CACHE_ATTR = "_clearhouse_principal"


def resolve_principal(request: HttpRequest) -> Principal | None:
    """Who is calling, once per request: API key first, then session user."""
    if hasattr(request, _CACHE_ATTR):
        return getattr(request, _CACHE_ATTR)
    principal = None
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        key = api_key_authenticate(header[7:].strip())
        principal = principal_for_api_key(key) if key else None
    else:
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated and user.is_active
        if signed_in:
            principal = principal_for_user(user)
            # A finance or admin session counts only once its second factor was verified.
            if principal_requires_mfa(principal) and not session_is_verified(request):
                principal = None
    setattr(request, _CACHE_ATTR, principal)
    return principal


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer chk_…` with a key issued by an admin."""

    def authenticate(self, request, token):
        return resolve_principal(request)


class SessionPrincipalAuth(SessionAuth):
    """The signed-in browser user; unsafe methods need the CSRF token."""

    def authenticate(self, request, key):
        if request.headers.get("Authorization"):
            return None
        return resolve_principal(request)
