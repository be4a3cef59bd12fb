"""The catalog: a category tree, merchants' products, their variants (SKUs), prices and pictures.

Every merchant-owned row carries its `merchant` key, even where the product
would imply it, so merchant scoping is one filter and the tables can be
sharded by merchant (DESIGN §13). Prices are integer minor units plus an
ISO 4217 currency; services hand them out as `Money`.
"""

from django.db import models
from django.db.models import Q

from clearhouse.catalog.domain import ProductStatus
from clearhouse.core.append_only import AppendOnlyModel


class Category(models.Model):
    """A node of the platform-wide category tree (master data kept by admins)."""

    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    name = models.CharField(max_length=200)
    name_zh_hans = models.CharField("name (简体中文)", max_length=200, blank=True)
    slug = models.SlugField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name", "id"]
        verbose_name_plural = "categories"
        permissions = [("manage_categories", "Create and change catalog categories")]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """A thing a merchant sells; shoppers pick one of its variants (size, colour...).

    Hidden from the storefront until published; `sales_volume` counts units
    sold (kept by the orders context) so lists can sort by popularity.
    """

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="products")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=200)
    name_zh_hans = models.CharField("name (简体中文)", max_length=200, blank=True)
    description = models.TextField(blank=True, help_text="Plain text; **bold**, *italic* and '- ' lists")
    status = models.CharField(max_length=12, choices=[(s.value, s.name.title()) for s in ProductStatus],
                              default=ProductStatus.DRAFT.value)
    sales_volume = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["merchant", "status"], name="product_merchant_status_idx"),
            models.Index(fields=["category", "status"], name="product_category_status_idx"),
        ]
        permissions = [
            ("manage_catalog", "Create and change products, variants, prices and images"),
            ("view_catalog", "See unpublished products of the catalog"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_published(self) -> bool:
        return self.status == ProductStatus.PUBLISHED


class ProductStatusChange(AppendOnlyModel):
    """One row per change of a product's state: who published or withdrew it, and when."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="status_changes")
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="+")
    from_status = models.CharField(max_length=12)
    to_status = models.CharField(max_length=12)
    actor = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


def _image_path(instance, filename: str) -> str:
    return f"catalog/{instance.merchant_id}/{instance.product_id}/{filename}"


class ProductImage(models.Model):
    """A picture of a product, with the thumbnail lists show; lowest position first."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="+")
    image = models.ImageField(upload_to=_image_path)
    thumbnail = models.ImageField(upload_to=_image_path)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    alt_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"image {self.position} of {self.product_id}"


class Variant(models.Model):
    """A sellable unit (SKU): one combination of specs of a product, with its price."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="variants")
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField("SKU", max_length=64, unique=True)
    specs = models.JSONField(default=dict, blank=True)
    price_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product_id", "id"]
        constraints = [models.CheckConstraint(condition=Q(price_minor__gte=0), name="variant_price_not_negative")]
        indexes = [models.Index(fields=["product", "is_active"], name="variant_product_active_idx")]

    def __str__(self) -> str:
        return self.sku


class VariantLevelPrice(models.Model):
    """The price of a variant for members of one level (levels live in the customers context)."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="level_prices")
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="+")
    member_level_code = models.CharField(max_length=50)
    price_minor = models.BigIntegerField()

    class Meta:
        ordering = ["variant_id", "member_level_code"]
        constraints = [
            models.UniqueConstraint(fields=["variant", "member_level_code"], name="variant_level_price_unique"),
            models.CheckConstraint(condition=Q(price_minor__gte=0), name="level_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id} @ {self.member_level_code}: {self.price_minor}"
