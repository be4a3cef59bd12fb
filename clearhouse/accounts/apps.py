from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "clearhouse.accounts"
    label = "accounts"
    verbose_name = "Users, roles and merchants"

    def ready(self) -> None:
        from clearhouse.accounts.roles import roles_sync_after_migrate

        post_migrate.connect(roles_sync_after_migrate, sender=self)
