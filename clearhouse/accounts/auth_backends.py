"""Login throttling: django-axes' lockout check in front of the password check."""

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend


class AccountBackend(ModelBackend):
    """Passwords as Django checks them; a signed-in user is loaded with their customer profile (and member
    level) in the same query, since nearly every customer request needs it."""

    def get_user(self, user_id):
        from clearhouse.accounts.models import User

        try:
            user = User._default_manager.select_related("customer_profile__member_level").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if getattr(user, "is_active", True) else None  # as ModelBackend.user_can_authenticate


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses logins for a username+IP locked out after repeated failures.

    Only HTTP logins carry a request; programmatic ones (management commands,
    test clients) have none to throttle by and pass through to the next backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    # Sessions signed in through this backend (tests' force_login does) load the user as AccountBackend does.
    get_user = AccountBackend.get_user


def client_ip(request) -> str:
    """The peer address only: X-Forwarded-For is trivially forged unless a proxy we run sets it."""
    return request.META.get("REMOTE_ADDR", "")
