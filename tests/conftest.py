"""Shared fixtures: merchants, users per role, API keys, and an API client.

The suite runs on SQLite by default and on PostgreSQL when DATABASE_URL
points at one (`.ci/run` does both). Tests marked `postgres_only` need real
row locks and concurrent connections and are skipped on SQLite.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from django.db import connection
from django.test import Client

from clearhouse.accounts.models import BusinessType
from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import api_key_create, merchant_create, user_create
from clearhouse.ledger.services import account_create


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL; .ci/run does)")
    for item in items:
        if "postgres_only" in item.keywords and not on_postgres:
            item.add_marker(skip)


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
