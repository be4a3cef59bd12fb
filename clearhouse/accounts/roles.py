"""Roles are groups with permissions; this module is the one table of them."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    MERCHANT_STAFF = "merchant_staff"
    MERCHANT_ADMIN = "merchant_admin"
    FINANCE_CLERK = "finance_clerk"
    FINANCE_MANAGER = "finance_manager"
    AUDITOR = "auditor"
    ADMIN = "admin"


MERCHANT_ROLES = frozenset({Role.MERCHANT_STAFF, Role.MERCHANT_ADMIN})
# Roles that must use a second factor once MFA lands (DESIGN §11).
MFA_ROLES = frozenset({Role.FINANCE_CLERK, Role.FINANCE_MANAGER, Role.ADMIN})

VIEW_LEDGER = "ledger.view_ledger"
POST_ENTRY = "ledger.post_journal_entry"
REVERSE_ENTRY = "ledger.reverse_journal_entry"
MANAGE_ACCOUNTS = "ledger.manage_ledger_accounts"
CLOSE_PERIOD = "ledger.close_accounting_period"
MANAGE_API_KEYS = "accounts.manage_api_keys"
VIEW_CATALOG = "catalog.view_catalog"  # unpublished products too; published ones are public
MANAGE_CATALOG = "catalog.manage_catalog"
MANAGE_CATEGORIES = "catalog.manage_categories"
VIEW_STOCK = "inventory.view_stock"
MANAGE_STOCK = "inventory.manage_stock"
# Merchant staff run their own shop: catalog and stock (their keys are scoped to their merchant).
_SHOP = frozenset({VIEW_CATALOG, MANAGE_CATALOG, VIEW_STOCK, MANAGE_STOCK})
_SHOP_READ = frozenset({VIEW_CATALOG, VIEW_STOCK})
CUSTOMER_SELF_SERVICE = "customers.customer_self_service"  # one's own profile, addresses, points, feedback
VIEW_CUSTOMERS = "customers.view_customers"
TAG_CUSTOMERS = "customers.tag_customers"
ADJUST_POINTS = "customers.adjust_points"
ANSWER_FEEDBACK = "customers.answer_feedback"
PLACE_ORDERS = "orders.place_orders"  # one's own cart, checkout and orders
VIEW_ORDERS = "orders.view_orders"  # merchant-scoped callers: their merchant's orders only
FULFIL_ORDERS = "orders.fulfil_orders"  # approve, ship, deliver, cancel
MARK_ORDERS_PAID = "orders.mark_orders_paid"
COMPLETE_ORDERS = "orders.complete_orders"
MANAGE_COUPONS = "orders.manage_coupons"  # platform-wide master data: admins (and the Django admin)
_ORDER_DESK = frozenset({VIEW_ORDERS, FULFIL_ORDERS})
_ORDER_FINANCE = frozenset({VIEW_ORDERS, MARK_ORDERS_PAID, COMPLETE_ORDERS})
PAY_ORDERS = "payments.pay_orders"  # pay one's own orders
VIEW_PAYMENTS = "payments.view_payments"  # merchant-scoped callers: their merchant's payments only
RECORD_OFFLINE_PAYMENTS = "payments.record_offline_payments"  # bank transfer received, cash taken
CAPTURE_PAYMENTS = "payments.capture_payments"  # capture and void authorizations
REQUEST_REFUNDS = "payments.request_refunds"
APPROVE_REFUNDS = "payments.approve_refunds"  # large refunds (maker-checker), offline refund payouts
_PAYMENT_DESK = frozenset({VIEW_PAYMENTS, CAPTURE_PAYMENTS, REQUEST_REFUNDS})
_PAYMENT_FINANCE = frozenset({VIEW_PAYMENTS, RECORD_OFFLINE_PAYMENTS, CAPTURE_PAYMENTS, REQUEST_REFUNDS})
VIEW_STATEMENTS = "settlement.view_statements"  # merchant-scoped callers: their merchant's statements only
CONFIRM_STATEMENTS = "settlement.confirm_statements"  # the merchant's side: confirm or dispute
PREPARE_STATEMENTS = "settlement.prepare_statements"  # finance: manual statements, issue, adjust, re-issue
RECORD_PAYOUTS = "settlement.record_payouts"  # finance manager: the payout and its voucher
MANAGE_FEE_RULES = "settlement.manage_fee_rules"  # admin: fee rules and schedules (master data)
_STATEMENTS_MERCHANT = frozenset({VIEW_STATEMENTS, CONFIRM_STATEMENTS})
# Finance looks after customers' money questions; points are a liability, so only a manager adjusts them.
_CUSTOMER_CARE = frozenset({VIEW_CUSTOMERS, TAG_CUSTOMERS, ANSWER_FEEDBACK})

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.CUSTOMER: frozenset({CUSTOMER_SELF_SERVICE, PLACE_ORDERS, PAY_ORDERS}),
    Role.MERCHANT_STAFF: frozenset({VIEW_LEDGER}) | _SHOP | _ORDER_DESK | _PAYMENT_DESK | _STATEMENTS_MERCHANT,
    Role.MERCHANT_ADMIN: frozenset({VIEW_LEDGER}) | _SHOP | _ORDER_DESK | _PAYMENT_DESK | _STATEMENTS_MERCHANT,
    Role.FINANCE_CLERK: frozenset({VIEW_LEDGER, POST_ENTRY}) | _SHOP_READ | _CUSTOMER_CARE | _ORDER_FINANCE
    | _PAYMENT_FINANCE | {VIEW_STATEMENTS, PREPARE_STATEMENTS},
    Role.FINANCE_MANAGER: frozenset({VIEW_LEDGER, POST_ENTRY, REVERSE_ENTRY, MANAGE_ACCOUNTS, CLOSE_PERIOD})
    | _SHOP_READ | _CUSTOMER_CARE | {ADJUST_POINTS} | _ORDER_FINANCE | _PAYMENT_FINANCE | {APPROVE_REFUNDS}
    | {VIEW_STATEMENTS, PREPARE_STATEMENTS, RECORD_PAYOUTS},
    Role.AUDITOR: frozenset({VIEW_LEDGER, VIEW_CUSTOMERS, VIEW_ORDERS, VIEW_PAYMENTS, VIEW_STATEMENTS}) | _SHOP_READ,
    Role.ADMIN: frozenset(
        {VIEW_LEDGER, POST_ENTRY, REVERSE_ENTRY, MANAGE_ACCOUNTS, CLOSE_PERIOD, MANAGE_API_KEYS}
    ) | _SHOP | {MANAGE_CATEGORIES} | _CUSTOMER_CARE | {ADJUST_POINTS, CUSTOMER_SELF_SERVICE}
    | _ORDER_DESK | _ORDER_FINANCE | {MANAGE_COUPONS, PLACE_ORDERS}
    | _PAYMENT_FINANCE | {APPROVE_REFUNDS, PAY_ORDERS}
    | {VIEW_STATEMENTS, PREPARE_STATEMENTS, MANAGE_FEE_RULES, RECORD_PAYOUTS, CONFIRM_STATEMENTS},
}


def roles_sync() -> None:
    """Create the role groups and give each exactly its permissions."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    # post_migrate reaches apps one by one; make sure every app's
    # permissions exist before handing them out.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)


def roles_sync_after_migrate(sender, **kwargs) -> None:
    roles_sync()
