"""Admin views of orders. Orders change only through `orders.services` (read-only here);
merchants' order settings and coupons' terms are master data admins may edit."""

from django.contrib import admin

from clearhouse.orders.models import (
    CheckoutGroup,
    Coupon,
    CouponRedemption,
    Order,
    OrderEvent,
    OrderLine,
    OrderSettings,
    OrderStatusChange,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
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


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("sku", "name", "unit_price_minor", "quantity", "subtotal_minor", "merchant_discount_minor",
              "platform_discount_minor", "points_discount_minor", "line_total_minor")


class OrderStatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    fields = ("from_status", "to_status", "actor", "note", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "merchant", "customer", "status", "total_minor", "currency", "created_at")
    list_filter = ("status", "merchant")
    search_fields = ("number", "group__number", "tracking_number")
    inlines = [OrderLineInline, OrderStatusChangeInline]


@admin.register(CheckoutGroup)
class CheckoutGroupAdmin(ReadOnlyAdmin):
    list_display = ("number", "customer", "total_minor", "currency", "points_redeemed", "created_at")
    search_fields = ("number",)


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = ("order", "type", "actor", "created_at")
    list_filter = ("type",)


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(ReadOnlyAdmin):
    list_display = ("coupon", "customer", "group", "order", "created_at", "released_at")


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = ("code", "funded_by", "merchant", "kind", "percent_off", "value_minor", "currency",
                    "valid_from", "valid_to", "used_count", "total_limit", "is_active")
    list_filter = ("funded_by", "kind", "is_active")
    search_fields = ("code",)
    readonly_fields = ("used_count",)  # moves only by checkout and cancel


@admin.register(OrderSettings)
class OrderSettingsAdmin(admin.ModelAdmin):
    list_display = ("merchant", "auto_approve", "shipping_fee_minor")
