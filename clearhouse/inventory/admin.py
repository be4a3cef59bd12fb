"""Read-only admin views of stock: counters change only through `inventory.services`."""

from django.contrib import admin

from clearhouse.inventory.models import LowStockAlert, Reservation, StockItem, StockMovement


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StockItem)
class StockItemAdmin(ReadOnlyAdmin):
    list_display = ("variant", "merchant", "on_hand", "reserved", "low_stock_threshold", "low_stock", "updated_at")
    list_filter = ("low_stock", "merchant")
    search_fields = ("variant__sku",)


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ("id", "variant", "kind", "quantity", "reference_type", "reference_id", "actor", "created_at")
    list_filter = ("kind",)
    search_fields = ("variant__sku", "reference_id")


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ("reference", "variant", "quantity", "status", "expires_at", "created_at", "resolved_at")
    list_filter = ("status",)
    search_fields = ("reference", "variant__sku")


@admin.register(LowStockAlert)
class LowStockAlertAdmin(ReadOnlyAdmin):
    list_display = ("variant", "merchant", "available", "threshold", "created_at", "resolved_at")
    list_filter = ("merchant",)
