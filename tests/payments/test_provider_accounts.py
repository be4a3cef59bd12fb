"""Provider accounts: credentials entered in the admin, encrypted at rest, never shown again; a method is offered
only while an enabled account serves it; "Test connection" asks the provider."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client

from clearhouse.core.models import AuditEvent
from clearhouse.payments.models import ProviderAccount
from clearhouse.payments.providers import methods_available, reset_cache
from tests.conftest import login_verified

SECRET = "sk_test_never_to_be_seen_again_123"


@pytest.fixture
def admin(admin_user):
    client = Client()
    login_verified(client, admin_user)
    return client


def _add(admin, **fields):
    data = {"provider": "sandbox", "merchant": "", "enabled": "on", "settings": json.dumps({"api_base": ""}),
            "new_secrets": json.dumps({"secret_key": SECRET, "webhook_secret": "whsec_x"}), **fields}
    return admin.post("/admin/payments/provideraccount/add/", data)


def test_secrets_are_stored_encrypted_and_never_displayed(admin, db):
    assert _add(admin).status_code == 302
    account = ProviderAccount.objects.get()
    assert json.loads(account.secrets)["secret_key"] == SECRET  # the application reads them ...
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM payments_provideraccount")
        raw = cursor.fetchone()[0]
    assert SECRET not in raw and raw  # ... the database holds ciphertext
    page = admin.get(f"/admin/payments/provideraccount/{account.pk}/change/").content.decode()
    assert SECRET not in page and "whsec_x" not in page


def test_saving_without_new_secrets_keeps_the_stored_ones_and_every_change_is_audited(admin, db):
    _add(admin)
    account = ProviderAccount.objects.get()
    r = admin.post(f"/admin/payments/provideraccount/{account.pk}/change/",
                   {"provider": "sandbox", "merchant": "", "enabled": "", "settings": "{}", "new_secrets": ""})
    assert r.status_code == 302
    account.refresh_from_db()
    assert json.loads(account.secrets)["secret_key"] == SECRET and not account.enabled
    events = AuditEvent.objects.filter(action="payments.provider_account_saved").order_by("seq")
    assert [e.payload["secrets_changed"] for e in events] == [True, False]
    assert all(SECRET not in json.dumps(e.payload) for e in events)


def test_invalid_secrets_are_refused_with_a_message(admin, db):
    r = _add(admin, new_secrets="{not json")
    assert r.status_code == 200 and "Not valid JSON" in r.content.decode()
    assert not ProviderAccount.objects.exists()


def test_a_method_is_offered_only_while_an_enabled_account_serves_it(db, settings):
    settings.CLEARHOUSE_SANDBOX_ENABLED = False
    reset_cache()
    assert "card" not in methods_available() and "paypal" not in methods_available()
    ProviderAccount.objects.create(provider="sandbox", settings={}, secrets=json.dumps({"secret_key": "k"}))
    assert "card" in methods_available()
    account = ProviderAccount.objects.get()
    account.enabled = False
    account.save()
    assert "card" not in methods_available()
    assert {"bank_transfer", "cash"} <= set(methods_available())


def test_a_merchants_own_account_wins_for_its_orders(db, merchant, other_merchant, settings):
    from clearhouse.payments.providers import provider_for

    settings.CLEARHOUSE_SANDBOX_ENABLED = False
    platform = ProviderAccount.objects.create(provider="sandbox", settings={"api_base": "http://platform"},
                                              secrets="{}")
    own = ProviderAccount.objects.create(provider="sandbox", merchant=merchant, settings={"api_base": "http://own"},
                                         secrets="{}")
    assert provider_for("sandbox", merchant_id=merchant.pk).account_id == own.pk
    assert provider_for("sandbox", merchant_id=other_merchant.pk).account_id == platform.pk


def test_test_connection_records_what_the_provider_said(admin, sandbox_provider, db):
    ProviderAccount.objects.create(provider="sandbox", settings={"api_base": "http://testserver/sandbox/v1"},
                                   secrets=json.dumps({"secret_key": "sk_test_for_tests", "webhook_secret": "w"}))
    account = ProviderAccount.objects.get()
    r = admin.post("/admin/payments/provideraccount/",
                   {"action": "test_connection", "_selected_action": [account.pk]})
    assert r.status_code == 302
    account.refresh_from_db()
    assert account.last_test_result == "ok" and account.last_test_at is not None
