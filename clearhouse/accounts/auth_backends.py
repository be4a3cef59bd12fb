"""Login throttling: django-axes' lockout check in front of the password check."""

from axes.backends import AxesStandaloneBackend


class LoginThrottleBackend(AxesStandaloneBackend):
    """Refuses logins for a username+IP locked out after repeated failures.

    Only HTTP logins carry a request; programmatic ones (management commands,
    test clients) have none to throttle by and pass through to the next backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request) -> str:
    """The peer address only: X-Forwarded-For is trivially forged unless a proxy we run sets it."""
    return request.META.get("REMOTE_ADDR", "")
