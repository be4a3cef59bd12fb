"""Second factor (TOTP with backup codes) for finance and admin roles.

Built on django-otp: a confirmed TOTP device per user plus a static device
holding ten one-time backup codes. A session of a user whose role requires
MFA counts as signed in only once a token was verified in it.
"""

from __future__ import annotations

import secrets

from django.db import transaction
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clearhouse.accounts.models import User
from clearhouse.accounts.roles import MFA_ROLES
from clearhouse.core.audit import audit_record
from clearhouse.core.errors import DomainError

BACKUP_CODES = 10


class InvalidOtpToken(DomainError):
    code = "invalid_otp_token"
    default_message = "The code is wrong or expired; try the current code from your authenticator."


def user_requires_mfa(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or user.groups.filter(name__in=[r.value for r in MFA_ROLES]).exists()


def user_has_mfa(user) -> bool:
    return any(isinstance(d, TOTPDevice) for d in devices_for_user(user, confirmed=True))


def mfa_totp_begin(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator device to enrol (the same one until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@transaction.atomic
def mfa_totp_confirm(*, user: User, token: str, request=None) -> list[str]:
    """Confirm enrolment with a first code; returns backup codes, shown this once."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None or not device.verify_token(token.strip()):
        audit_record(action="mfa.enrol_failed", actor=user, object_type="user", object_id=user.pk)
        raise InvalidOtpToken(param="token")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = _backup_codes_reset(user)
    if request is not None:
        otp_login(request, device)
    audit_record(action="mfa.enabled", actor=user, object_type="user", object_id=user.pk)
    return codes


def _backup_codes_reset(user: User) -> list[str]:
    static, _ = StaticDevice.objects.get_or_create(user=user, name="backup codes", defaults={"confirmed": True})
    static.token_set.all().delete()
    codes = [secrets.token_hex(4) for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=code) for code in codes)
    return codes


def mfa_verify(*, request, token: str) -> None:
    """Verify a TOTP or backup code for the signed-in user and mark the session verified."""
    user = request.user
    device = match_token(user, token.strip())
    if device is None:
        audit_record(action="mfa.failed", actor=user, object_type="user", object_id=user.pk)
        raise InvalidOtpToken(param="token")
    otp_login(request, device)
    audit_record(action="mfa.verified", actor=user, object_type="user", object_id=user.pk,
                 payload={"device": type(device).__name__})


def session_is_verified(request) -> bool:
    verified = getattr(request.user, "is_verified", None)
    return bool(verified and verified())
