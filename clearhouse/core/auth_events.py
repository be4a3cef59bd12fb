"""Security events from Django's auth framework into the audit chain.

Django announces logins only through signals, so this is the one place we
listen to them; the handlers only append to the trail.
"""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from clearhouse.core.audit import audit_record


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    audit_record(action="auth.login", actor=user, object_type="user", object_id=user.pk,
                 payload={"ip": _client_ip(request)})


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action="auth.logout", actor=user, object_type="user", object_id=user.pk)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    audit_record(action="auth.login_failed", actor=f"anonymous ({username})",
                 object_type="user", object_id=username, payload={"ip": _client_ip(request)})
