from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "clearhouse.notifications"
    label = "notifications"
    verbose_name = "Notifications"
