"""MFA enrolment and verification pages, and the login lockout page."""

from __future__ import annotations

import base64

import segno
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from clearhouse.accounts.mfa import InvalidOtpToken, mfa_totp_begin, mfa_totp_confirm, mfa_verify, user_has_mfa


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/"


@login_required
def mfa_setup(request):
    if user_has_mfa(request.user):
        return redirect("accounts:mfa_verify")
    device = mfa_totp_begin(user=request.user)
    error = None
    if request.method == "POST":
        try:
            codes = mfa_totp_confirm(user=request.user, token=request.POST.get("token", ""), request=request)
        except InvalidOtpToken:
            error = _("That code did not match. Check the time on your phone and try the current code.")
        else:
            return render(request, "accounts/mfa_backup_codes.html", {"codes": codes, "next": _next_url(request)})
    uri = device.config_url
    return render(request, "accounts/mfa_setup.html", {
        "qr_svg": segno.make(uri, error="m").svg_inline(scale=4),
        "secret": device.key and _base32(device.bin_key), "error": error, "next": _next_url(request),
    })


def _base32(key: bytes) -> str:
    return base64.b32encode(key).decode().rstrip("=")


@login_required
def mfa_verify_page(request):
    if not user_has_mfa(request.user):
        return redirect("accounts:mfa_setup")
    error = None
    if request.method == "POST":
        try:
            mfa_verify(request=request, token=request.POST.get("token", ""))
        except InvalidOtpToken:
            error = _("That code did not match. Try the current code, or one of your backup codes.")
        else:
            return redirect(_next_url(request))
    return render(request, "accounts/mfa_verify.html", {"error": error, "next": _next_url(request)})


def locked_out(request, credentials=None, *args, **kwargs):
    """Shown by django-axes after too many failed logins (HTTP 429)."""
    return render(request, "accounts/locked_out.html", status=429)
