"""Security events from Django's auth framework into the audit chain.

Django announces logins and group/permission changes only through signals,
so this is the one place we listen to them; the handlers only append to the
trail (a role granted in the admin is recorded like one granted by a service).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed
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
    # Whatever was typed, cut to the audit row's object_id (100 characters):
    # a longer attempt must still be recorded, not fail the login page.
    username = str(credentials.get("username", ""))[:100]
    audit_record(action="auth.login_failed", actor=f"anonymous ({username})",
                 object_type="user", object_id=username, payload={"ip": _client_ip(request)})


def _audit_membership_change(action_prefix: str, instance, action: str, model, pk_set, actor_field: str):
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    names = sorted(str(x) for x in model.objects.filter(pk__in=pk_set or [])) if pk_set else []
    audit_record(action=f"{action_prefix}.{action.removeprefix('post_')}", actor="system (model change)",
                 object_type=actor_field, object_id=instance.pk, payload={"changed": names})


@receiver(m2m_changed, sender=Group.permissions.through)
def _group_permissions_changed(sender, instance, action, model, pk_set, **kwargs):
    """Any change of what a role may do, however it was made (admin, shell, migration)."""
    _audit_membership_change("role.permissions", instance, action, model, pk_set, "group")


def _user_groups_changed(sender, instance, action, model, pk_set, **kwargs):
    """Any change of who holds a role, however it was made."""
    _audit_membership_change("user.groups", instance, action, model, pk_set, "user")


m2m_changed.connect(_user_groups_changed, sender=get_user_model().groups.through)
