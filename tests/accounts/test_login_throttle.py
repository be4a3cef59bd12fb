"""Login throttling: repeated wrong passwords lock a username out from that address."""

from __future__ import annotations

from clearhouse.core.models import AuditEvent


def test_five_failures_lock_the_account_out_even_for_the_right_password(client, clerk, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        r = client.post("/accounts/login/", {"username": "clerk", "password": "wrong"})
        assert r.status_code in {200, 429}
    locked = client.post("/accounts/login/", {"username": "clerk", "password": "x-clerk-pass-1"})
    assert locked.status_code == 429
    assert "Too many attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.login_failed").count() >= settings.AXES_FAILURE_LIMIT


def test_a_success_before_the_limit_resets_the_count(client, clerk, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/accounts/login/", {"username": "clerk", "password": "wrong"})
    ok = client.post("/accounts/login/", {"username": "clerk", "password": "x-clerk-pass-1"})
    assert ok.status_code == 302
    client.post("/accounts/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/accounts/login/", {"username": "clerk", "password": "wrong"})
    assert client.post("/accounts/login/", {"username": "clerk", "password": "x-clerk-pass-1"}).status_code == 302
