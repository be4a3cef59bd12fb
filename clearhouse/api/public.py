"""Public reads: storefront endpoints that answer anonymous visitors too.

Such an operation takes `auth=PUBLIC`: the usual API key and session
authentication first, then, only when the request carries no credentials
at all, an anonymous principal with no permissions. So a signed-in caller
keeps its permissions and merchant scope on the same endpoint, and a wrong
or revoked API key is still a 401 rather than quietly becoming anonymous.
Handlers decide what an anonymous principal sees (published products only);
`request.auth` is always a Principal, never None.
"""

from __future__ import annotations

from django.http import HttpRequest

from clearhouse.accounts.principal import Principal
from clearhouse.api.auth import ApiKeyAuth, SessionPrincipalAuth

ANONYMOUS = Principal(label="anonymous", permissions=frozenset())


class AnonymousAuth:
    """The last resort of PUBLIC: a caller who presented nothing is the anonymous principal."""

    def __call__(self, request: HttpRequest) -> Principal | None:
        if request.headers.get("Authorization"):
            return None  # credentials were sent and did not hold: 401
        return ANONYMOUS


PUBLIC = [ApiKeyAuth(), SessionPrincipalAuth(), AnonymousAuth()]
# OpenAPI's way to say "credentials optional": an empty requirement among the alternatives
# (django-ninja appends it to the key and session requirements it documents itself).
PUBLIC_OPENAPI = {"security": [{}]}
