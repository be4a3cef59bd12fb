"""API keys: the token is shown once, stored only as a SHA-256, and proves one active key."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from clearhouse.accounts.models import ApiKey
from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import api_key_authenticate, api_key_create, api_key_revoke
from clearhouse.core.errors import ValidationFailed


@pytest.fixture
def issued(admin_user):
    return api_key_create(name="ERP sync", role=Role.FINANCE_CLERK, actor=admin_user)


def test_create_returns_the_key_and_its_token_once(issued, admin_user):
    key, token = issued
    assert token.startswith(f"chk_{key.prefix}_")
    assert len(key.prefix) == 12
    assert len(token.split("_", 2)[2]) >= 43  # 32 random bytes, url-safe base64
    assert key.role == "finance_clerk"
    assert key.merchant is None
    assert key.created_by == admin_user
    assert key.is_active
    assert str(key) == f"ERP sync (chk_{key.prefix}_…)"


def test_token_is_stored_only_as_its_sha256(issued):
    key, token = issued
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.secret_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(list(ApiKey.objects.values_list()))


def test_token_secret_appears_in_no_database_column(issued):
    _, token = issued
    secret = token.split("_", 2)[2]
    for model in apps.get_models():
        for row in model.objects.values_list():
            text = str(row)
            assert token not in text, model
            assert secret not in text, model


def test_two_keys_get_different_tokens_and_prefixes(db):
    (a, token_a), (b, token_b) = (api_key_create(name=n, role=Role.AUDITOR) for n in ("a", "b"))
    assert a.prefix != b.prefix
    assert token_a != token_b
    assert a.secret_hash != b.secret_hash


def test_the_token_authenticates_its_key(issued):
    key, token = issued
    found = api_key_authenticate(token)
    assert found is not None
    assert found.pk == key.pk


def test_authentication_records_last_use(issued):
    key, token = issued
    assert key.last_used_at is None
    before = timezone.now()
    api_key_authenticate(token)
    used = ApiKey.objects.get(pk=key.pk).last_used_at
    assert used is not None
    assert used >= before


def test_last_use_is_written_once_per_window_not_per_request(issued, settings):
    key, token = issued
    api_key_authenticate(token)
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    api_key_authenticate(token)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first
    stale = timezone.now() - timedelta(seconds=settings.API_KEY_LAST_USED_RESOLUTION_S + 5)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=stale)
    api_key_authenticate(token)
    assert ApiKey.objects.get(pk=key.pk).last_used_at > stale + timedelta(seconds=5)


def test_a_revoked_key_no_longer_authenticates(issued, admin_user):
    key, token = issued
    api_key_revoke(key=key, actor=admin_user)
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert not key.is_active
    assert api_key_authenticate(token) is None


def test_revoking_twice_keeps_the_first_revocation_time(issued):
    key, _ = issued
    first = api_key_revoke(key=key).revoked_at
    assert api_key_revoke(key=key).revoked_at == first


def test_a_wrong_secret_with_a_real_prefix_fails(issued):
    key, token = issued
    forged = f"chk_{key.prefix}_{'A' * 43}"
    assert api_key_authenticate(forged) is None
    assert api_key_authenticate(token[:-1]) is None
    assert api_key_authenticate(token + "x") is None
    assert ApiKey.objects.get(pk=key.pk).last_used_at is None  # failures are not "use"


@pytest.mark.parametrize(
    "token", ["", "chk_", "chk_abc", "chk__", "nope_abc_def", "Bearer chk_abc_def", "chk_000000000000_secret"],
)
def test_malformed_or_unknown_tokens_fail(issued, token):
    assert api_key_authenticate(token) is None


def test_a_merchant_key_is_scoped_to_its_merchant(merchant):
    _, token = api_key_create(name="POS", role=Role.MERCHANT_STAFF, merchant=merchant)
    assert api_key_authenticate(token).merchant == merchant


def test_merchant_roles_need_a_merchant(db):
    with pytest.raises(ValidationFailed) as exc:
        api_key_create(name="POS", role=Role.MERCHANT_ADMIN)
    assert exc.value.param == "merchant"
    assert ApiKey.objects.count() == 0


def test_platform_roles_refuse_a_merchant(merchant):
    with pytest.raises(ValidationFailed) as exc:
        api_key_create(name="ERP", role=Role.FINANCE_MANAGER, merchant=merchant)
    assert exc.value.param == "merchant"
    assert ApiKey.objects.count() == 0


def test_unknown_role_is_refused(db):
    with pytest.raises(ValidationFailed) as exc:
        api_key_create(name="ERP", role="superhero")
    assert exc.value.param == "role"
