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


def test_a_signed_in_users_permissions_come_with_the_user_row(db, client):
    """A session's user is loaded with their roles' permissions in the same query: the API's principal asks
    nothing more, and a role granted since the last request counts at once (read with the user each time)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = user_create(username="cara", password="x-cara-pass-1", role=Role.CUSTOMER)
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/ledger/accounts").status_code == 403  # a customer sees no ledger
    # the ORM's own permission query quotes its table names; the user's subquery does not
    assert not any('"auth_permission"' in q["sql"] for q in queries.captured_queries)
    user_role_grant(user=user, role=Role.FINANCE_CLERK)
    assert client.get("/api/v1/ledger/accounts").status_code != 403


def test_a_principal_reads_the_preloaded_permissions_once(db):
    from clearhouse.accounts.auth_backends import AccountBackend

    user = user_create(username="dora", password="x-dora-pass-1", role=Role.CUSTOMER)
    loaded = AccountBackend().get_user(user.pk)
    assert principal_for_user(loaded).permissions == ROLE_PERMISSIONS[Role.CUSTOMER]
    user_role_grant(user=user, role=Role.AUDITOR)
    assert principal_for_user(loaded).permissions == ROLE_PERMISSIONS[Role.CUSTOMER] | ROLE_PERMISSIONS[Role.AUDITOR]
