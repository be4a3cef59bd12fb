from django.contrib import admin

from clearhouse.ledger.models import Account, AccountingPeriod, JournalEntry, Posting


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "type", "currency", "merchant", "customer", "is_active")
    list_filter = ("type", "currency", "is_active")
    search_fields = ("code", "name")


class PostingInline(admin.TabularInline):
    model = Posting
    fields = ("account", "amount_minor", "currency")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(admin.ModelAdmin):
    """Read-only: entries are posted by services and corrected by reversal."""

    list_display = ("id", "effective_date", "memo", "source_type", "source_id", "posted_at", "posted_by")
    list_filter = ("source_type",)
    search_fields = ("memo", "source_id", "idempotency_key")
    inlines = [PostingInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccountingPeriod)
class AccountingPeriodAdmin(admin.ModelAdmin):
    list_display = ("name", "start_date", "end_date", "status", "closed_at", "closed_by")
    readonly_fields = ("status", "closed_at", "closed_by")
