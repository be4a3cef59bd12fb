"""Who is calling: a signed-in user or an API key, with what permissions and scope."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.contrib.auth.models import Permission
from django.utils.functional import LazyObject

from clearhouse.accounts.auth_backends import PERMISSION_ROWS_ATTR
from clearhouse.accounts.models import ApiKey, User
from clearhouse.accounts.roles import MFA_ROLES, ROLE_PERMISSIONS, Role
from clearhouse.core.errors import PermissionDenied


@dataclass(frozen=True)
class Principal:
    """The caller of a request. `merchant_id` set means: sees only that merchant."""

    label: str
    permissions: frozenset[str]
    merchant_id: int | None = None
    user: User | None = None
    api_key: ApiKey | None = field(default=None, compare=False)
    roles: frozenset[str] = frozenset()

    @property
    def scope_key(self) -> str:
        """Stable identity for idempotency records."""
        if self.api_key is not None:
            return f"key:{self.api_key.pk}"
        return f"user:{self.user.pk}"

    def audit_label(self) -> str:
        return self.label

    def has_perm(self, perm: str) -> bool:
        return perm in self.permissions

    def require(self, perm: str) -> None:
        if perm not in self.permissions:
            raise PermissionDenied(f"This action needs the {perm!r} permission.")


def principal_for_user(user: User) -> Principal:
    """The user's permissions and roles, read in one query (their roles' permissions, with each role's name).

    A user signed in by a session was loaded with those rows already (auth_backends.AccountBackend, same
    query as the user, so as fresh as the user row): the first principal built from that object uses them,
    any later one reads again (a role changed during the request is seen).
    """
    while isinstance(user, LazyObject):  # request.user (perhaps wrapped twice by middleware): the user inside
        user.pk  # noqa: B018 - evaluates the lazy object
        user = user._wrapped
    preloaded = vars(user).pop(PERMISSION_ROWS_ATTR, None)
    if preloaded is not None:
        rows = [tuple(row) for row in (json.loads(preloaded) if isinstance(preloaded, str) else preloaded)]
    else:
        rows = list(Permission.objects.filter(group__user=user).values_list(
            "content_type__app_label", "codename", "group__name"))
    roles = frozenset(role for _, _, role in rows)
    if user.is_superuser:
        perms = frozenset(ROLE_PERMISSIONS[Role.ADMIN])
    else:
        perms = frozenset(f"{app}.{code}" for app, code, _ in rows)
    return Principal(label=user.audit_label(), permissions=perms, merchant_id=user.merchant_id, user=user,
                     roles=roles)


def principal_requires_mfa(principal: Principal) -> bool:
    """Finance and admin roles (and superusers) sign in with a second factor."""
    user = principal.user
    return user is not None and (user.is_superuser or bool(principal.roles & {r.value for r in MFA_ROLES}))


def principal_for_api_key(key: ApiKey) -> Principal:
    return Principal(
        label=key.audit_label(),
        permissions=ROLE_PERMISSIONS[Role(key.role)],
        merchant_id=key.merchant_id,
        api_key=key,
    )
