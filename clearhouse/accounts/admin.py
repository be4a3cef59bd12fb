from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from clearhouse.accounts.models import ApiKey, BusinessType, Merchant, User


@admin.register(User)
class ClearhouseUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Clearhouse", {"fields": ("merchant", "preferred_language")}))
    list_display = ("username", "email", "merchant", "is_staff", "is_active")


@admin.register(BusinessType)
class BusinessTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "business_type", "is_active")
    list_filter = ("business_type", "is_active")
    search_fields = ("code", "name")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are issued through the API or `clearhouse manage`; admin only views and revokes."""

    list_display = ("name", "prefix", "role", "merchant", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("name", "prefix", "secret_hash", "role", "merchant", "created_by", "created_at",
                       "last_used_at", "revoked_at")

    def has_add_permission(self, request):
        return False
