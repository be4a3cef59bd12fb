"""Writes for users, merchants and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from clearhouse.accounts.models import ApiKey, BusinessType, Merchant, User
from clearhouse.accounts.roles import MERCHANT_ROLES, Role
from clearhouse.core.audit import audit_record
from clearhouse.core.errors import NotFound, ValidationFailed

TOKEN_PREFIX = "chk_"  # noqa: S105  a public marker, not a secret


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValidationFailed(f"Unknown role {role!r}.", param="role") from None


def _check_role_scope(role: str, merchant: Merchant | None) -> Role:
    role = _role(role)
    if role in MERCHANT_ROLES and merchant is None:
        raise ValidationFailed(f"The {role} role needs a merchant.", param="merchant")
    if role not in MERCHANT_ROLES and merchant is not None:
        raise ValidationFailed(f"The {role} role cannot be scoped to a merchant.", param="merchant")
    return role


@transaction.atomic
def merchant_create(*, code: str, name: str, business_type: BusinessType, actor=None) -> Merchant:
    merchant = Merchant.objects.create(code=code, name=name, business_type=business_type)
    audit_record(action="merchant.created", actor=actor, object_type="merchant", object_id=merchant.pk,
                 payload={"code": code, "name": name, "business_type": business_type.code})
    return merchant


@transaction.atomic
def user_create(*, username: str, password: str, role: str, email: str = "", merchant: Merchant | None = None,
                actor=None, is_staff: bool = False) -> User:
    """Create a user holding one role (merchant roles need their merchant)."""
    role = _check_role_scope(role, merchant)
    user = User.objects.create_user(
        username=username, password=password, email=email, merchant=merchant,
        is_staff=is_staff or role == Role.ADMIN, is_superuser=role == Role.ADMIN,
    )
    user.groups.add(Group.objects.get(name=role.value))
    audit_record(action="user.created", actor=actor, object_type="user", object_id=user.pk,
                 payload={"username": username, "role": role.value,
                          "merchant": merchant.code if merchant else None})
    return user


@transaction.atomic
def user_role_grant(*, user: User, role: str, actor=None) -> None:
    role = _check_role_scope(role, user.merchant)
    user.groups.add(Group.objects.get(name=role.value))
    audit_record(action="user.role_granted", actor=actor, object_type="user", object_id=user.pk,
                 payload={"role": role.value})


@transaction.atomic
def user_role_revoke(*, user: User, role: str, actor=None) -> None:
    role = _role(role)
    user.groups.remove(Group.objects.get(name=role.value))
    audit_record(action="user.role_revoked", actor=actor, object_type="user", object_id=user.pk,
                 payload={"role": role.value})


@transaction.atomic
def api_key_create(*, name: str, role: str, merchant: Merchant | None = None, actor=None) -> tuple[ApiKey, str]:
    """Issue a key; the plaintext token is returned once and never stored."""
    role = _check_role_scope(role, merchant)
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name, prefix=prefix, secret_hash=_hash_token(token), role=role.value, merchant=merchant,
        created_by=actor if isinstance(actor, User) else None,
    )
    audit_record(action="api_key.created", actor=actor, object_type="api_key", object_id=key.pk,
                 payload={"name": name, "role": role.value, "prefix": prefix,
                          "merchant": merchant.code if merchant else None})
    return key, token


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor=None) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(action="api_key.revoked", actor=actor, object_type="api_key", object_id=key.pk,
                     payload={"prefix": key.prefix})
    return key


def api_key_authenticate(token: str) -> ApiKey | None:
    """The active key a bearer token proves, or None. Records last use (coarsely)."""
    if not token.startswith(TOKEN_PREFIX) or token.count("_") < 2:
        return None
    prefix = token[len(TOKEN_PREFIX):].split("_", 1)[0]
    key = ApiKey.objects.select_related("merchant").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _hash_token(token)) or key.revoked_at:
        return None
    now = timezone.now()
    stale = now - timedelta(seconds=settings.API_KEY_LAST_USED_RESOLUTION_S)
    if key.last_used_at is None or key.last_used_at < stale:
        # One write per key per window, not per request: no hot row.
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def merchant_get(*, code: str) -> Merchant:
    try:
        return Merchant.objects.get(code=code)
    except Merchant.DoesNotExist:
        raise NotFound(f"No merchant {code!r}.", param="merchant") from None
