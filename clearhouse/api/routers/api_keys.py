"""API keys: issue (shown once), list, revoke. Admins only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Field, Path, Router, Schema, Status

from clearhouse.accounts.models import ApiKey, Merchant
from clearhouse.accounts.roles import MANAGE_API_KEYS, Role
from clearhouse.accounts.services import api_key_create, api_key_revoke
from clearhouse.api.schemas import RequestBody
from clearhouse.core.errors import NotFound

router = Router(tags=["api keys"])


class ApiKeyIn(RequestBody):
    name: str = Field(..., max_length=200)
    role: Role
    merchant: str | None = Field(None, description="Merchant code, for merchant_staff / merchant_admin keys")


class ApiKeyOut(Schema):
    id: int
    name: str
    prefix: str
    role: str
    merchant: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    token: str = Field(..., description="The secret, shown this once; store it now")


def _out(key: ApiKey) -> dict:
    return dict(id=key.pk, name=key.name, prefix=key.prefix, role=key.role,
                merchant=key.merchant.code if key.merchant_id else None, created_at=key.created_at,
                last_used_at=key.last_used_at, revoked_at=key.revoked_at)


def _admin(request):
    request.auth.require(MANAGE_API_KEYS)
    return request.auth


@router.post("/api-keys", response={201: ApiKeyCreated}, summary="Issue an API key")
def create_key(request, payload: ApiKeyIn):
    principal = _admin(request)
    merchant = None
    if payload.merchant:
        merchant = Merchant.objects.filter(code=payload.merchant).first()
        if merchant is None:
            raise NotFound(f"No merchant {payload.merchant!r}.", param="merchant")
    key, token = api_key_create(name=payload.name, role=payload.role, merchant=merchant,
                                actor=principal.user or principal)
    return Status(201, {**_out(key), "token": token})


@router.get("/api-keys", response=list[ApiKeyOut], summary="List API keys")
def list_keys(request):
    _admin(request)
    return [_out(k) for k in ApiKey.objects.select_related("merchant").order_by("-id")]


@router.post("/api-keys/{key_id}/revoke", response=ApiKeyOut, summary="Revoke an API key")
def revoke_key(request, key_id: Annotated[int, Path(ge=1, le=2**63 - 1)]):
    principal = _admin(request)
    key = ApiKey.objects.filter(pk=key_id).first()
    if key is None:
        raise NotFound(f"No API key {key_id}.", param="key_id")
    return _out(api_key_revoke(key=key, actor=principal.user or principal))
