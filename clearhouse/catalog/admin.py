"""Django admin for catalog master data: categories, products with their variants and pictures.

State changes and pictures go through the services (publish rules, thumbnails);
the forms check SKUs and specs with the domain's own rules.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from clearhouse.catalog import services
from clearhouse.catalog.domain import check_sku, normalise_specs
from clearhouse.catalog.models import Category, Product, ProductImage, Variant
from clearhouse.core.errors import DomainError
from clearhouse.core.money import normalise_currency


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "name_zh_hans", "slug", "parent", "position")
    list_filter = ("parent",)
    search_fields = ("name", "name_zh_hans", "slug")
    prepopulated_fields = {"slug": ("name",)}


class VariantForm(forms.ModelForm):
    class Meta:
        model = Variant
        fields = ("sku", "specs", "price_minor", "currency", "is_active")

    def clean_sku(self):
        return self._domain(check_sku, self.cleaned_data["sku"])

    def clean_specs(self):
        return self._domain(normalise_specs, self.cleaned_data["specs"])

    def clean_currency(self):
        return self._domain(normalise_currency, self.cleaned_data["currency"])

    @staticmethod
    def _domain(rule, value):
        try:
            return rule(value)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None


class VariantInline(admin.TabularInline):
    model = Variant
    form = VariantForm
    extra = 0
    can_delete = False  # stock and orders point at variants: deactivate instead


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    fields = ("preview", "image", "alt_text", "position")
    readonly_fields = ("preview",)
    extra = 0

    @admin.display(description="thumbnail")
    def preview(self, obj):
        return format_html('<img src="{}" height="60">', obj.thumbnail.url) if obj.pk and obj.thumbnail else "-"


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "merchant", "category", "status", "sales_volume", "created_at")
    list_filter = ("status", "merchant", "category")
    search_fields = ("name", "name_zh_hans", "variants__sku")
    readonly_fields = ("status", "published_at", "sales_volume", "created_at", "updated_at")
    inlines = [VariantInline, ProductImageInline]
    actions = ["publish", "unpublish"]

    def save_formset(self, request, form, formset, change):
        product = form.instance
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for obj in instances:
            if isinstance(obj, ProductImage) and obj.pk is None:
                # New pictures go through the service: it checks them and makes the thumbnail.
                services.product_image_add(product=product, data=obj.image.read(), alt_text=obj.alt_text,
                                           position=obj.position, actor=request.user)
                continue
            obj.merchant_id = product.merchant_id  # the merchant key every merchant-owned row carries
            obj.save()

    def _transition(self, request, queryset, service):
        for product in queryset:
            try:
                service(product=product, actor=request.user)
            except DomainError as exc:
                self.message_user(request, f"{product}: {exc.message}", level=messages.ERROR)

    @admin.action(description="Publish selected products")
    def publish(self, request, queryset):
        self._transition(request, queryset, services.product_publish)

    @admin.action(description="Unpublish selected products")
    def unpublish(self, request, queryset):
        self._transition(request, queryset, services.product_unpublish)
