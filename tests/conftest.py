"""Shared fixtures: merchants, users per role, API keys, and an API client.

The suite runs on SQLite by default and on PostgreSQL when DATABASE_URL
points at one (`.ci/run` does both). Tests marked `postgres_only` need real
row locks and concurrent connections and are skipped on SQLite.
"""

from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from datetime import date

import pytest
from django.db import connection
from django.test import Client

from clearhouse.accounts.models import BusinessType
from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import api_key_create, merchant_create, user_create
from clearhouse.core.append_only import drop_guards_sql, install_guards_sql
from clearhouse.ledger.services import account_create

APPEND_ONLY_TABLES = ("core_auditevent", "ledger_journalentry", "ledger_posting")


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL; .ci/run does)")
    for item in items:
        if "postgres_only" in item.keywords and not on_postgres:
            item.add_marker(skip)


def _guard_statements(vendor: str, tables, *, install: bool) -> list[str]:
    """Trigger DDL for `tables`; the shared PostgreSQL trigger function is left in place."""
    build = install_guards_sql if install else drop_guards_sql
    return [sql for table in tables for sql in build(vendor, table) if "FUNCTION clearhouse_refuse_change" not in sql]


@pytest.fixture(scope="session", autouse=True)
def _flush_lifts_append_only_guards():
    """Let transactional tests' teardown flush wipe the append-only tables.

    `transaction=True` tests end with a flush (TRUNCATE on PostgreSQL, DELETE
    on SQLite), which the append-only triggers rightly refuse. Only here, in
    the test harness, the flush drops the triggers, empties the tables and
    puts the triggers back, all in its one transaction.
    """
    ops_class = type(connection.ops)
    original = ops_class.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        guarded = [t for t in APPEND_ONLY_TABLES if t in tables]
        if not statements or not guarded:
            return statements
        vendor = self.connection.vendor
        return [
            *_guard_statements(vendor, guarded, install=False),
            *statements,
            *_guard_statements(vendor, guarded, install=True),
        ]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ops_class, "sql_flush", sql_flush)
        yield


@pytest.fixture(autouse=True)
def _chart_accounts_forgotten():
    """Each test starts with an empty chart-account cache: a test's rolled-back accounts must not leak."""
    from clearhouse.ledger.chart import chart_cache_clear
    from clearhouse.payments.providers import reset_cache

    chart_cache_clear()
    reset_cache()
    yield
    chart_cache_clear()
    reset_cache()


@pytest.fixture
def lifted_guards(db):
    """Context manager: drop the append-only triggers of tables, to simulate tampering by a superuser.

        with lifted_guards("ledger_posting"):
            cursor.execute("UPDATE ledger_posting SET ...")

    The triggers are back when the block ends (and the test's transaction
    rolls back everything anyway).
    """

    @contextmanager
    def lift(*tables: str):
        vendor = connection.vendor
        with connection.cursor() as cur:
            for sql in _guard_statements(vendor, tables, install=False):
                cur.execute(sql)
        try:
            yield
        finally:
            with connection.cursor() as cur:
                for sql in _guard_statements(vendor, tables, install=True):
                    cur.execute(sql)

    return lift


@pytest.fixture
def vendor():
    return connection.vendor


@pytest.fixture
def business_type(db):
    return BusinessType.objects.create(code="food", name="Food")


@pytest.fixture
def merchant(business_type):
    return merchant_create(code="teahouse", name="Tea House", business_type=business_type)


@pytest.fixture
def other_merchant(business_type):
    return merchant_create(code="noodles", name="Noodle Bar", business_type=business_type)


@pytest.fixture
def admin_user(db):
    return user_create(username="admin", password="x-admin-pass-1", role=Role.ADMIN)


@pytest.fixture
def clerk(db):
    return user_create(username="clerk", password="x-clerk-pass-1", role=Role.FINANCE_CLERK)


@pytest.fixture
def manager(db):
    return user_create(username="manager", password="x-manager-pass-1", role=Role.FINANCE_MANAGER)


@pytest.fixture
def accounts_cny(db):
    """A small CNY chart: bank, clearing, sales, fees."""
    return {
        "bank": account_create(code="1000.main", name="Bank", type="asset", currency="CNY"),
        "clearing": account_create(code="1100.sandbox", name="Clearing sandbox", type="asset", currency="CNY"),
        "sales": account_create(code="4000", name="Sales", type="income", currency="CNY"),
        "fees": account_create(code="6100", name="Payment fees", type="expense", currency="CNY"),
    }


class ApiClient:
    """Calls /api/v1 with a bearer key and a fresh Idempotency-Key unless given one."""

    def __init__(self, token: str | None):
        self.client = Client()
        self.token = token

    def _headers(self, idempotency_key):
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if idempotency_key is not False:
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        return headers

    def get(self, path, **params):
        return self.client.get(f"/api/v1{path}", params, headers=self._headers(False))

    def post(self, path, body=None, *, idempotency_key=None, raw: str | None = None):
        data = raw if raw is not None else json.dumps(body or {}, default=str)
        return self.client.post(f"/api/v1{path}", data=data, content_type="application/json",
                                headers=self._headers(idempotency_key))


def _client_for(role, merchant=None):
    _, token = api_key_create(name=f"{role} key", role=role, merchant=merchant)
    return ApiClient(token)


@pytest.fixture
def api_admin(db):
    return _client_for(Role.ADMIN)


@pytest.fixture
def api_manager(db):
    return _client_for(Role.FINANCE_MANAGER)


@pytest.fixture
def api_clerk(db):
    return _client_for(Role.FINANCE_CLERK)


@pytest.fixture
def api_auditor(db):
    return _client_for(Role.AUDITOR)


@pytest.fixture
def api_merchant(merchant):
    return _client_for(Role.MERCHANT_ADMIN, merchant)


@pytest.fixture
def api_customer(db):
    return _client_for(Role.CUSTOMER)


@pytest.fixture
def today():
    return date(2026, 11, 23)


def login_verified(client, user):
    """Sign `user` in with a verified second factor (finance and admin pages need one)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="test authenticator", confirmed=True
    )
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


# --- customers ---------------------------------------------------------------------------
@pytest.fixture
def customer_user(db):
    return user_create(username="lin", password="x-lin-pass-1", role=Role.CUSTOMER, email="lin@example.com")


@pytest.fixture
def other_customer_user(db):
    return user_create(username="wang", password="x-wang-pass-1", role=Role.CUSTOMER)


@pytest.fixture
def customer(customer_user):
    """Lin's customer profile."""
    from clearhouse.customers.services import customer_profile_ensure

    return customer_profile_ensure(user=customer_user)


@pytest.fixture
def other_customer(other_customer_user):
    from clearhouse.customers.services import customer_profile_ensure

    return customer_profile_ensure(user=other_customer_user)


@pytest.fixture
def member_levels(db):
    """Silver from 1,000.00 CNY of spend, gold from 5,000.00."""
    from clearhouse.customers.models import MemberLevel

    return {
        "silver": MemberLevel.objects.create(code="silver", name="Silver", name_zh_hans="白银会员", rank=1,
                                             min_cumulative_spend_minor=100000, currency="CNY"),
        "gold": MemberLevel.objects.create(code="gold", name="Gold", name_zh_hans="黄金会员", rank=2,
                                           min_cumulative_spend_minor=500000, currency="CNY"),
    }


class FullApiClient(ApiClient):
    """ApiClient with PATCH, PUT and DELETE too."""

    def _send(self, method, path, body, idempotency_key):
        return getattr(self.client, method)(f"/api/v1{path}", data=json.dumps(body or {}, default=str),
                                             content_type="application/json", headers=self._headers(idempotency_key))

    def patch(self, path, body=None, *, idempotency_key=None):
        return self._send("patch", path, body, idempotency_key)

    def put(self, path, body=None, *, idempotency_key=None):
        return self._send("put", path, body, idempotency_key)

    def delete(self, path, *, idempotency_key=None):
        return self._send("delete", path, None, idempotency_key)


def _session_client(user) -> FullApiClient:
    """Calls /api/v1 as a signed-in browser user (customers have no API keys)."""
    client = FullApiClient(None)
    client.client.force_login(user)
    return client


def _full_client_for(role, merchant=None) -> FullApiClient:
    _, token = api_key_create(name=f"{role} key", role=role, merchant=merchant)
    return FullApiClient(token)


@pytest.fixture
def api_lin(customer_user):
    return _session_client(customer_user)


@pytest.fixture
def api_wang(other_customer_user):
    return _session_client(other_customer_user)
