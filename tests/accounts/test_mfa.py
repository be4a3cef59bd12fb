"""Finance and admin roles need a second factor; customers and merchants do not."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import user_create
from clearhouse.core.models import AuditEvent


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, t0=device.t0, step=device.step, digits=device.digits):06d}"


def _sign_in(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_a_finance_user_must_enrol_before_reaching_any_page(client, manager):
    _sign_in(client, "manager", "x-manager-pass-1")
    r = client.get("/ledger/trial-balance/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/mfa/setup/")
    page = client.get(r["Location"])
    assert b"<svg" in page.content  # the QR code to scan
    device = TOTPDevice.objects.get(user=manager, confirmed=False)
    wrong = client.post("/accounts/mfa/setup/", {"token": "000000", "next": "/ledger/trial-balance/"})
    assert wrong.status_code == 200 and "did not match" in wrong.content.decode()
    done = client.post("/accounts/mfa/setup/", {"token": _code(device), "next": "/ledger/trial-balance/"})
    codes = re.findall(r"<li><code>([0-9a-f]{8})</code></li>", done.content.decode())
    assert len(codes) == 10
    assert client.get("/ledger/trial-balance/").status_code == 200
    assert AuditEvent.objects.filter(action="mfa.enabled", object_id=str(manager.pk)).exists()


def test_an_enrolled_user_verifies_each_new_session_and_backup_codes_work_once(manager, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # this test is about the flow; throttling has its own test
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    device = TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    from clearhouse.accounts.mfa import _backup_codes_reset

    backup = _backup_codes_reset(manager)[0]
    client = Client()
    _sign_in(client, "manager", "x-manager-pass-1")
    r = client.get("/ledger/trial-balance/")
    assert r["Location"].startswith("/accounts/mfa/verify/")
    bad = client.post("/accounts/mfa/verify/", {"token": "123456"})
    assert "did not match" in bad.content.decode()
    ok = client.post("/accounts/mfa/verify/", {"token": _code(device), "next": "/ledger/trial-balance/"})
    assert ok.status_code == 302 and ok["Location"] == "/ledger/trial-balance/"
    assert client.get("/ledger/trial-balance/").status_code == 200

    other = Client()
    _sign_in(other, "manager", "x-manager-pass-1")
    assert other.post("/accounts/mfa/verify/", {"token": backup}).status_code == 302
    again = Client()
    _sign_in(again, "manager", "x-manager-pass-1")
    assert "did not match" in again.post("/accounts/mfa/verify/", {"token": backup}).content.decode()
    assert AuditEvent.objects.filter(action="mfa.failed", object_id=str(manager.pk)).count() >= 2


def test_a_next_url_off_site_is_ignored(manager):
    device = TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    client = Client()
    _sign_in(client, "manager", "x-manager-pass-1")
    r = client.post("/accounts/mfa/verify/", {"token": _code(device), "next": "https://evil.example/"})
    assert r["Location"] == "/"


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.MERCHANT_STAFF])
def test_customers_and_merchant_staff_need_no_second_factor(client, merchant, role):
    user_create(username="u", password="x-plain-pass-1", role=role,
                merchant=merchant if role == Role.MERCHANT_STAFF else None)
    _sign_in(client, "u", "x-plain-pass-1")
    assert client.get("/").status_code == 200


def test_admin_pages_need_the_second_factor_too(client, admin_user):
    _sign_in(client, "admin", "x-admin-pass-1")
    r = client.get("/admin/")
    assert r.status_code == 302 and "/accounts/mfa/" in r["Location"]


def test_guessing_codes_is_throttled(manager):
    device = TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    client = Client()
    _sign_in(client, "manager", "x-manager-pass-1")
    client.post("/accounts/mfa/verify/", {"token": "000000"})
    right_but_too_soon = client.post("/accounts/mfa/verify/", {"token": _code(device)})
    assert right_but_too_soon.status_code == 200  # refused: each failure doubles the wait
    device.refresh_from_db()
    assert device.throttling_failure_count >= 1
