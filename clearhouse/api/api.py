"""The REST API at /api/v1, with OpenAPI docs at /api/v1/docs."""

from ninja import NinjaAPI

from clearhouse.api.auth import ApiKeyAuth, SessionPrincipalAuth
from clearhouse.api.errors import install_error_handlers
from clearhouse.api.routers import (
    api_keys,
    catalog,
    customers,
    feedback,
    inventory,
    ledger,
    orders,
    payments,
    settlement,
)

IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": True,
    "schema": {"type": "string", "maxLength": 255},
    "description": "Any unique string (e.g. a UUID). A replay returns the first response; reuse with a "
    "different body is a 409.",
}


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "code", "message", "param"],
            "properties": {
                "type": {"type": "string", "example": "invalid_request_error"},
                "code": {"type": "string", "example": "unbalanced_entry"},
                "message": {"type": "string"},
                "param": {"type": ["string", "null"], "example": "postings"},
            },
        }
    },
}
ERROR_RESPONSES = {
    "400": "Invalid request (see error.code)",
    "401": "No or invalid credentials",
    "403": "Not allowed for this role or merchant",
    "404": "No such object (or not visible to this caller)",
    "409": "Conflict: idempotency key reuse, closed period, invalid transition",
}


class ClearhouseAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        """Document the Idempotency-Key header (enforced by middleware) on every mutating operation."""
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        for operations in schema["paths"].values():
            for method, operation in operations.items():
                if method in {"post", "put", "patch", "delete"}:
                    operation.setdefault("parameters", []).append(IDEMPOTENCY_HEADER)
                for status, what in ERROR_RESPONSES.items():
                    operation["responses"].setdefault(status, {
                        "description": what,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    })
        return schema


api = ClearhouseAPI(
    title="Clearhouse API",
    version="1",
    description=(
        "Order-to-cash, payments, ledger and settlement. Authenticate with `Authorization: Bearer <api key>` "
        "or a browser session (send the CSRF token). Every POST/PUT/PATCH/DELETE needs an "
        "`Idempotency-Key` header: a replay returns the first response; the same key with a different "
        "body is a 409 `idempotency_key_reuse`. Amounts are decimal strings in major units. Errors come as "
        '`{"error": {"type", "code", "message", "param"}}`.'
    ),
    auth=[ApiKeyAuth(), SessionPrincipalAuth()],
    urls_namespace="api",
)
install_error_handlers(api)
api.add_router("/ledger", ledger.router)
api.add_router("/catalog", catalog.router)
api.add_router("/inventory", inventory.router)
api.add_router("/customers", customers.router)
api.add_router("/customers", feedback.router)
api.add_router("/cart", orders.cart_router)
api.add_router("/orders", orders.router)
api.add_router("/", api_keys.router)
api.add_router("/", payments.router)  # /payments, /refunds, /orders/{number}/payments
api.add_router("/settlement", settlement.router)
