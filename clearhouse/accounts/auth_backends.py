"""Login throttling: django-axes' lockout check in front of the password check."""

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend


class AccountBackend(ModelBackend):
    """Passwords as Django checks them; a signed-in user is loaded with their customer profile (and member
    level) and their roles' permissions in the same query, since nearly every request needs them (the
    API's principal reads the permissions from there instead of asking again, see `principal_for_user`)."""

    def get_user(self, user_id):
        from clearhouse.accounts.models import User

        try:
            user = (User._default_manager.select_related("customer_profile__member_level")
                    .annotate(**{PERMISSION_ROWS_ATTR: _permission_rows_sql()}).get(pk=user_id))
        except User.DoesNotExist:
            return None
        return user if getattr(user, "is_active", True) else None  # as ModelBackend.user_can_authenticate


# The user's (app label, codename, role name) rows, as JSON text (SQLite) or a decoded list (PostgreSQL);
# read once by `principal_for_user`, which pops it.
PERMISSION_ROWS_ATTR = "clearhouse_permission_rows"


def _permission_rows_sql():
    """A correlated subquery: the same rows `principal_for_user` would read (roles' permissions, inner joins)."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.db.models.expressions import RawSQL

    from clearhouse.accounts.models import User

    user_groups = User.groups.through._meta.db_table
    group_perms = Group.permissions.through._meta.db_table
    if connection.vendor == "postgresql":
        agg = "COALESCE(json_agg(json_build_array(ct.app_label, p.codename, g.name)), '[]'::json)"
    else:
        agg = "json_group_array(json_array(ct.app_label, p.codename, g.name))"
    return RawSQL(  # noqa: S611 - no value from outside: table names from the models, no parameters
        f"SELECT {agg} FROM {user_groups} ug "  # noqa: S608 - table names from the models
        f"JOIN {Group._meta.db_table} g ON g.id = ug.group_id "
        f"JOIN {group_perms} gp ON gp.group_id = g.id "
        f"JOIN {Permission._meta.db_table} p ON p.id = gp.permission_id "
        f"JOIN {ContentType._meta.db_table} ct ON ct.id = p.content_type_id "
        f"WHERE ug.user_id = {User._meta.db_table}.id", [])


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
