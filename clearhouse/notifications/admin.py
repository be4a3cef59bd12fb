from django.contrib import admin

from clearhouse.notifications.models import Delivery


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log, read-only: a message that went out cannot be edited afterwards."""

    list_display = ("created_at", "channel", "template", "language", "recipient", "status", "attempts",
                    "related_type", "related_id")
    list_filter = ("status", "channel", "template", "language")
    search_fields = ("recipient", "related_id", "dedupe_key", "subject")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
