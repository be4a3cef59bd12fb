from django.contrib import admin

from clearhouse.customers.models import (
    Address,
    CustomerProfile,
    CustomerSpend,
    CustomerTag,
    FeedbackMessage,
    FeedbackStatusChange,
    FeedbackTicket,
    MemberLevel,
    PointsEntry,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only logs: written by services, viewed here, never edited."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MemberLevel)
class MemberLevelAdmin(admin.ModelAdmin):
    """Levels are master data; after changing them, run the member-levels recalculation task."""

    list_display = ("code", "name", "name_zh_hans", "rank", "currency", "min_cumulative_spend_minor")
    list_filter = ("currency",)


@admin.register(CustomerTag)
class CustomerTagAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_zh_hans")
    search_fields = ("code", "name")


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0
    fields = ("recipient", "phone", "region", "city", "line", "postal_code", "is_default")


@admin.register(CustomerProfile)
class CustomerProfileAdmin(admin.ModelAdmin):
    """Contact details and tags here; level and points move only through services."""

    list_display = ("id", "display_name", "user", "email", "phone", "member_level")
    list_filter = ("member_level", "tags")
    search_fields = ("display_name", "email", "phone", "user__username")
    filter_horizontal = ("tags",)
    readonly_fields = ("user", "member_level", "created_at", "updated_at")
    inlines = [AddressInline]


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer", "delta", "reason", "order_reference", "lot", "expires_at", "created_at")
    list_filter = ("reason",)
    search_fields = ("order_reference", "customer__display_name")
    raw_id_fields = ("customer", "lot")


@admin.register(CustomerSpend)
class CustomerSpendAdmin(ReadOnlyAdmin):
    list_display = ("order_reference", "customer", "amount_minor", "currency", "created_at")
    search_fields = ("order_reference",)


class FeedbackMessageInline(ReadOnlyInline):
    model = FeedbackMessage
    fields = ("created_at", "author_label", "by_staff", "body")
    readonly_fields = fields


class FeedbackStatusChangeInline(ReadOnlyInline):
    model = FeedbackStatusChange
    fields = ("created_at", "from_status", "to_status", "actor")
    readonly_fields = fields


@admin.register(FeedbackTicket)
class FeedbackTicketAdmin(ReadOnlyAdmin):
    """Tickets are answered through the API or the back office, so each reply moves the status."""

    list_display = ("id", "subject", "customer", "status", "order_reference", "created_at")
    list_filter = ("status",)
    search_fields = ("subject", "order_reference", "customer__display_name")
    inlines = [FeedbackMessageInline, FeedbackStatusChangeInline]
