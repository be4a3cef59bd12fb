"""Principals: who is calling, with which permissions, seeing which merchant."""

from __future__ import annotations

import pytest

from clearhouse.accounts.principal import principal_for_api_key, principal_for_user
from clearhouse.accounts.roles import CLOSE_PERIOD, POST_ENTRY, ROLE_PERMISSIONS, VIEW_LEDGER, Role
from clearhouse.accounts.services import api_key_create, user_create, user_role_grant
from clearhouse.core.errors import PermissionDenied


@pytest.mark.parametrize("role", [Role.FINANCE_CLERK, Role.FINANCE_MANAGER, Role.AUDITOR, Role.CUSTOMER])
def test_a_users_permissions_are_its_roles_permissions(db, role):
    user = user_create(username="u", password="x-user-pass-1", role=role)
    principal = principal_for_user(user)
    assert principal.permissions == ROLE_PERMISSIONS[role]
    assert principal.merchant_id is None
    assert principal.user == user
    assert principal.label == f"user:{user.pk} u"
    assert principal.audit_label() == principal.label
    assert principal.scope_key == f"user:{user.pk}"


def test_a_superuser_has_the_admin_permissions(admin_user):
    assert principal_for_user(admin_user).permissions == ROLE_PERMISSIONS[Role.ADMIN]


def test_permissions_of_several_roles_add_up(clerk):
    user_role_grant(user=clerk, role=Role.FINANCE_MANAGER)
    assert principal_for_user(clerk).permissions == ROLE_PERMISSIONS[Role.FINANCE_MANAGER]


def test_merchant_staff_see_only_their_merchant(merchant):
    user = user_create(username="mia", password="x-mia-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant)
    principal = principal_for_user(user)
    assert principal.merchant_id == merchant.pk
    assert principal.permissions == ROLE_PERMISSIONS[Role.MERCHANT_STAFF]
    assert VIEW_LEDGER in principal.permissions


def test_require_refuses_a_missing_permission(clerk):
    principal = principal_for_user(clerk)
    principal.require(POST_ENTRY)
    assert principal.has_perm(POST_ENTRY)
    assert not principal.has_perm(CLOSE_PERIOD)
    with pytest.raises(PermissionDenied) as exc:
        principal.require(CLOSE_PERIOD)
    assert exc.value.code == "permission_denied"
    assert exc.value.http_status == 403


def test_an_api_key_acts_with_its_roles_permissions_and_merchant(merchant):
    key, _ = api_key_create(name="POS", role=Role.MERCHANT_ADMIN, merchant=merchant)
    principal = principal_for_api_key(key)
    assert principal.permissions == ROLE_PERMISSIONS[Role.MERCHANT_ADMIN]
    assert principal.merchant_id == merchant.pk
    assert principal.user is None
    assert principal.scope_key == f"key:{key.pk}"
    assert principal.label == f"api_key:{key.prefix} POS"


def test_a_platform_api_key_sees_every_merchant(db):
    key, _ = api_key_create(name="ERP", role=Role.FINANCE_MANAGER)
    principal = principal_for_api_key(key)
    assert principal.merchant_id is None
    assert principal.permissions == ROLE_PERMISSIONS[Role.FINANCE_MANAGER]
