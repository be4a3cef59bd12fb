"""Who may call the API: bearer keys, sessions with CSRF, roles."""

from __future__ import annotations

import json

from django.test import Client

from clearhouse.accounts.models import ApiKey
from clearhouse.accounts.services import api_key_revoke
from tests.api.test_ledger_entries import entry
from tests.conftest import ApiClient, login_verified


def test_no_credentials_is_a_401_in_the_error_envelope(db):
    r = ApiClient(None).get("/ledger/accounts")
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"


def test_a_wrong_or_revoked_key_is_a_401(api_clerk):
    assert ApiClient("chk_nope_nope").get("/ledger/accounts").status_code == 401
    prefix = api_clerk.token.split("_")[1]
    assert ApiClient(api_clerk.token[:-2] + "xx").get("/ledger/accounts").status_code == 401
    api_key_revoke(key=ApiKey.objects.get(prefix=prefix))
    assert api_clerk.get("/ledger/accounts").status_code == 401


def test_a_customer_key_cannot_read_the_ledger(api_customer):
    r = api_customer.get("/ledger/accounts")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "permission_denied"


def test_an_auditor_reads_but_cannot_post(api_auditor, accounts_cny):
    assert api_auditor.get("/ledger/trial-balance").status_code == 200
    r = api_auditor.post("/ledger/entries", entry(accounts_cny))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "permission_denied"


def test_a_session_post_needs_the_csrf_token(clerk, accounts_cny):
    client = Client(enforce_csrf_checks=True)
    login_verified(client, clerk)
    data = json.dumps(entry(accounts_cny))
    r = client.post("/api/v1/ledger/entries", data, content_type="application/json",
                    headers={"Idempotency-Key": "s1"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "csrf_failed"
    client.get("/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    r = client.post("/api/v1/ledger/entries", data, content_type="application/json",
                    headers={"Idempotency-Key": "s2", "X-CSRFToken": token})
    assert r.status_code == 201, r.content
    assert r.json()["posted_by"] == f"user:{clerk.pk} clerk"


def test_admins_issue_keys_that_are_shown_once(api_admin, merchant):
    r = api_admin.post("/api-keys", {"name": "ERP sync", "role": "merchant_admin", "merchant": "teahouse"})
    assert r.status_code == 201, r.content
    token = r.json()["token"]
    assert token.startswith("chk_")
    listed = api_admin.get("/api-keys").json()
    assert all("token" not in k for k in listed)
    assert ApiClient(token).get("/ledger/accounts").status_code == 200
    revoked = api_admin.post(f"/api-keys/{r.json()['id']}/revoke")
    assert revoked.json()["revoked_at"] is not None
    assert ApiClient(token).get("/ledger/accounts").status_code == 401


def test_a_merchant_role_key_needs_a_merchant(api_admin):
    r = api_admin.post("/api-keys", {"name": "x", "role": "merchant_staff"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "validation_failed"


def test_only_admins_manage_keys(api_manager):
    assert api_manager.get("/api-keys").status_code == 403


def test_a_finance_session_without_its_second_factor_cannot_use_the_api(clerk, accounts_cny):
    client = Client()
    client.force_login(clerk)
    r = client.get("/api/v1/ledger/accounts")
    assert r.status_code == 401
    login_verified(client, clerk)
    assert client.get("/api/v1/ledger/accounts").status_code == 200
