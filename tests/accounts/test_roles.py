"""Roles are groups with permissions, from the one table ROLE_PERMISSIONS."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from clearhouse.accounts.models import User
from clearhouse.accounts.roles import (
    APPROVE_REFUNDS,
    CAPTURE_PAYMENTS,
    CLOSE_PERIOD,
    COMPLETE_ORDERS,
    CONFIRM_STATEMENTS,
    CUSTOMER_SELF_SERVICE,
    FULFIL_ORDERS,
    MANAGE_API_KEYS,
    MANAGE_CATALOG,
    MANAGE_STOCK,
    MARK_ORDERS_PAID,
    MERCHANT_ROLES,
    PAY_ORDERS,
    PLACE_ORDERS,
    POST_ENTRY,
    RECORD_OFFLINE_PAYMENTS,
    REQUEST_REFUNDS,
    REVERSE_ENTRY,
    ROLE_PERMISSIONS,
    VIEW_CATALOG,
    VIEW_LEDGER,
    VIEW_ORDERS,
    VIEW_PAYMENTS,
    VIEW_STATEMENTS,
    VIEW_STOCK,
    Role,
    roles_sync,
)
from clearhouse.accounts.services import user_create, user_role_grant, user_role_revoke
from clearhouse.core.errors import ValidationFailed


def group_permissions(name: str) -> set[str]:
    return {
        f"{app}.{code}"
        for app, code in Group.objects.get(name=name).permissions.values_list("content_type__app_label", "codename")
    }


def test_there_are_seven_roles():
    assert {r.value for r in Role} == {
        "customer", "merchant_staff", "merchant_admin", "finance_clerk", "finance_manager", "auditor", "admin",
    }
    assert set(ROLE_PERMISSIONS) == set(Role)


def test_the_permission_table_follows_the_design():
    # their own data, orders and payments
    assert ROLE_PERMISSIONS[Role.CUSTOMER] == {CUSTOMER_SELF_SERVICE, PLACE_ORDERS, PAY_ORDERS}
    assert VIEW_LEDGER in ROLE_PERMISSIONS[Role.AUDITOR]
    # reads everything, changes nothing
    assert all(perm.split(".")[1].startswith("view_") for perm in ROLE_PERMISSIONS[Role.AUDITOR])
    assert POST_ENTRY in ROLE_PERMISSIONS[Role.FINANCE_CLERK]
    assert REVERSE_ENTRY not in ROLE_PERMISSIONS[Role.FINANCE_CLERK]
    assert CLOSE_PERIOD not in ROLE_PERMISSIONS[Role.FINANCE_CLERK]
    assert CLOSE_PERIOD in ROLE_PERMISSIONS[Role.FINANCE_MANAGER]
    assert MANAGE_API_KEYS not in ROLE_PERMISSIONS[Role.FINANCE_MANAGER]
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset().union(*ROLE_PERMISSIONS.values())
    for role in MERCHANT_ROLES:  # their own sub-ledger, catalog, stock and orders (keys are merchant-scoped)
        assert ROLE_PERMISSIONS[role] == {VIEW_LEDGER, VIEW_CATALOG, MANAGE_CATALOG, VIEW_STOCK, MANAGE_STOCK,
                                          VIEW_ORDERS, FULFIL_ORDERS, VIEW_PAYMENTS, CAPTURE_PAYMENTS,
                                          REQUEST_REFUNDS, VIEW_STATEMENTS, CONFIRM_STATEMENTS}
    for role in (Role.FINANCE_CLERK, Role.FINANCE_MANAGER):  # finance records payment and closes orders
        assert {VIEW_ORDERS, MARK_ORDERS_PAID, COMPLETE_ORDERS} <= ROLE_PERMISSIONS[role]
        assert FULFIL_ORDERS not in ROLE_PERMISSIONS[role]
        assert {RECORD_OFFLINE_PAYMENTS, REQUEST_REFUNDS} <= ROLE_PERMISSIONS[role]
    # maker-checker: only a manager approves large refunds (and never their own: see payments)
    assert APPROVE_REFUNDS in ROLE_PERMISSIONS[Role.FINANCE_MANAGER]
    assert APPROVE_REFUNDS not in ROLE_PERMISSIONS[Role.FINANCE_CLERK]


def test_migrations_leave_every_role_group_with_its_permissions(db):
    for role, perms in ROLE_PERMISSIONS.items():
        assert group_permissions(role.value) == set(perms), role


def test_roles_sync_creates_all_seven_groups_with_exactly_their_permissions(db):
    Group.objects.all().delete()
    roles_sync()
    assert set(Group.objects.values_list("name", flat=True)) == {r.value for r in Role}
    for role, perms in ROLE_PERMISSIONS.items():
        assert group_permissions(role.value) == set(perms), role


def test_roles_sync_repairs_drifted_permissions_and_is_idempotent(db):
    auditor = Group.objects.get(name=Role.AUDITOR)
    auditor.permissions.add(Permission.objects.get(content_type__app_label="ledger", codename="post_journal_entry"))
    Group.objects.get(name=Role.ADMIN).permissions.clear()
    roles_sync()
    roles_sync()
    assert group_permissions(Role.AUDITOR) == set(ROLE_PERMISSIONS[Role.AUDITOR])
    assert group_permissions(Role.ADMIN) == set(ROLE_PERMISSIONS[Role.ADMIN])
    assert Group.objects.count() == 7


# --- role scope ------------------------------------------------------------------
@pytest.mark.parametrize("role", sorted(MERCHANT_ROLES))
def test_merchant_roles_need_a_merchant(db, role):
    with pytest.raises(ValidationFailed) as exc:
        user_create(username="mia", password="x-mia-pass-1", role=role)
    assert exc.value.param == "merchant"
    assert not User.objects.filter(username="mia").exists()


@pytest.mark.parametrize("role", sorted(set(Role) - MERCHANT_ROLES))
def test_platform_roles_refuse_a_merchant(merchant, role):
    with pytest.raises(ValidationFailed) as exc:
        user_create(username="mia", password="x-mia-pass-1", role=role, merchant=merchant)
    assert exc.value.param == "merchant"
    assert not User.objects.filter(username="mia").exists()


def test_unknown_role_is_refused(db):
    with pytest.raises(ValidationFailed) as exc:
        user_create(username="mia", password="x-mia-pass-1", role="owner")
    assert exc.value.param == "role"


def test_merchant_user_is_created_in_its_role_and_merchant(merchant):
    user = user_create(username="mia", password="x-mia-pass-1", role=Role.MERCHANT_ADMIN, merchant=merchant)
    assert user.merchant == merchant
    assert list(user.groups.values_list("name", flat=True)) == ["merchant_admin"]
    assert not user.is_staff
    assert not user.is_superuser


def test_admin_role_makes_a_staff_superuser(admin_user):
    assert admin_user.is_staff
    assert admin_user.is_superuser


def test_passwords_are_hashed_with_argon2(clerk):
    assert clerk.password.startswith("argon2")
    assert "x-clerk-pass-1" not in clerk.password
    assert clerk.check_password("x-clerk-pass-1")


def test_a_role_can_be_granted_and_revoked(clerk):
    user_role_grant(user=clerk, role=Role.AUDITOR)
    assert set(clerk.groups.values_list("name", flat=True)) == {"finance_clerk", "auditor"}
    user_role_revoke(user=clerk, role=Role.AUDITOR)
    assert set(clerk.groups.values_list("name", flat=True)) == {"finance_clerk"}


def test_a_merchant_user_cannot_be_granted_a_platform_role(merchant):
    user = user_create(username="mia", password="x-mia-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant)
    with pytest.raises(ValidationFailed):
        user_role_grant(user=user, role=Role.FINANCE_MANAGER)
    assert list(user.groups.values_list("name", flat=True)) == ["merchant_staff"]


def test_a_platform_user_cannot_be_granted_a_merchant_role(clerk):
    with pytest.raises(ValidationFailed):
        user_role_grant(user=clerk, role=Role.MERCHANT_ADMIN)
    assert list(clerk.groups.values_list("name", flat=True)) == ["finance_clerk"]


def test_revoking_an_unknown_role_is_refused_as_a_domain_error(clerk):
    with pytest.raises(ValidationFailed) as exc:
        user_role_revoke(user=clerk, role="owner")
    assert exc.value.param == "role"
    assert list(clerk.groups.values_list("name", flat=True)) == ["finance_clerk"]
