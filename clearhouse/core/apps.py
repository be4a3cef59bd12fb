from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "clearhouse.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from clearhouse.core import auth_events  # noqa: F401  (login audit hooks)
