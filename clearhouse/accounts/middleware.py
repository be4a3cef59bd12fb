"""Finance and admin users reach nothing but the MFA pages until their session is verified."""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from clearhouse.accounts.mfa import session_is_verified, user_has_mfa, user_requires_mfa

# Paths an unverified session may still use: the MFA pages themselves, sign-out,
# assets, language switch, health. The API answers 401 by itself (see api/auth.py).
# Webhooks are signed by providers; the sandbox is a provider of its own, not our back office.
OPEN_PREFIXES = ("/accounts/mfa/", "/accounts/logout/", "/static/", "/i18n/", "/healthz", "/api/", "/webhooks/",
                 "/sandbox/")


class MfaRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The path first: an open path (the API with its bearer keys, webhooks) never loads the session.
        if (
            not request.path.startswith(OPEN_PREFIXES)
            and (user := request.user).is_authenticated
            and user_requires_mfa(user)
            and not session_is_verified(request)
        ):
            target = "accounts:mfa_verify" if user_has_mfa(user) else "accounts:mfa_setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
