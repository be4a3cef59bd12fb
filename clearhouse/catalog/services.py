"""Writes to the catalog: categories, products and their states, variants and prices, pictures.

Callers resolve what they act on through `catalog.selectors` (which applies
merchant scoping); these functions then enforce the catalog's rules. Each is
one transaction; master-data changes go to the audit chain.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from clearhouse.accounts.models import Merchant
from clearhouse.catalog.description import MAX_DESCRIPTION_LENGTH
from clearhouse.catalog.domain import (
    DuplicateSku,
    DuplicateSlug,
    ProductNotPublishable,
    ProductStatus,
    check_category_parent,
    check_member_level,
    check_price,
    check_publishable,
    check_sku,
    check_transition,
    normalise_specs,
)
from clearhouse.catalog.images import image_check
from clearhouse.catalog.locks import product_select_for_update
from clearhouse.catalog.models import Category, Product, ProductImage, ProductStatusChange, Variant, VariantLevelPrice
from clearhouse.core.audit import actor_label, audit_record
from clearhouse.core.errors import CurrencyMismatch, ValidationFailed
from clearhouse.core.money import Money


class _Unset:
    """Marks an argument the caller did not pass (None is a value: "no parent")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


def _text(value: str, *, param: str, max_length: int = 200, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"{param} cannot be empty.", param=param)
    if len(value) > max_length:
        raise ValidationFailed(f"{param} is longer than {max_length} characters.", param=param)
    return value


# --- categories ------------------------------------------------------------------------
def _category_parents() -> dict[int, int | None]:
    return dict(Category.objects.values_list("id", "parent_id"))


def _save_category(category: Category) -> Category:
    try:
        with transaction.atomic():
            category.save()
    except IntegrityError:
        raise DuplicateSlug(f"A category with slug {category.slug!r} already exists.", param="slug") from None
    return category


@transaction.atomic
def category_create(*, name: str, slug: str, parent: Category | None = None, name_zh_hans: str = "",
                    position: int = 0, actor=None) -> Category:
    """Add a node to the category tree (slugs are unique across the tree)."""
    category = _save_category(Category(
        name=_text(name, param="name"), name_zh_hans=_text(name_zh_hans, param="name_zh_hans", required=False),
        slug=_text(slug, param="slug", max_length=100), parent=parent, position=position,
    ))
    audit_record(action="catalog.category_created", actor=actor, object_type="category", object_id=category.pk,
                 payload={"slug": category.slug, "parent": parent.pk if parent else None})
    return category


@transaction.atomic
def category_update(*, category: Category, name: str | None = None, name_zh_hans: str | None = None,
                    slug: str | None = None, parent: Category | _Unset | None = UNSET,
                    position: int | None = None, actor=None) -> Category:
    """Rename or move a category; it can never be moved below itself."""
    if not isinstance(parent, _Unset):
        check_category_parent(category.pk, parent.pk if parent else None, _category_parents())
        category.parent = parent
    if name is not None:
        category.name = _text(name, param="name")
    if name_zh_hans is not None:
        category.name_zh_hans = _text(name_zh_hans, param="name_zh_hans", required=False)
    if slug is not None:
        category.slug = _text(slug, param="slug", max_length=100)
    if position is not None:
        category.position = position
    _save_category(category)
    audit_record(action="catalog.category_updated", actor=actor, object_type="category", object_id=category.pk,
                 payload={"slug": category.slug, "parent": category.parent_id})
    return category


# --- products ----------------------------------------------------------------------------
@transaction.atomic
def product_create(*, merchant: Merchant, category: Category, name: str, name_zh_hans: str = "",
                   description: str = "", actor=None) -> Product:
    """A new product starts as a draft: invisible to shoppers until published."""
    product = Product.objects.create(
        merchant=merchant, category=category, name=_text(name, param="name"),
        name_zh_hans=_text(name_zh_hans, param="name_zh_hans", required=False),
        description=_text(description, param="description", max_length=MAX_DESCRIPTION_LENGTH, required=False),
    )
    audit_record(action="catalog.product_created", actor=actor, object_type="product", object_id=product.pk,
                 payload={"merchant": merchant.pk, "name": product.name})
    return product


@transaction.atomic
def product_update(*, product: Product, category: Category | None = None, name: str | None = None,
                   name_zh_hans: str | None = None, description: str | None = None, actor=None) -> Product:
    changed = []
    if category is not None:
        product.category = category
        changed.append("category")
    if name is not None:
        product.name = _text(name, param="name")
        changed.append("name")
    if name_zh_hans is not None:
        product.name_zh_hans = _text(name_zh_hans, param="name_zh_hans", required=False)
        changed.append("name_zh_hans")
    if description is not None:
        product.description = _text(description, param="description", max_length=MAX_DESCRIPTION_LENGTH,
                                    required=False)
        changed.append("description")
    if changed:
        product.save(update_fields=[*changed, "updated_at"])
        audit_record(action="catalog.product_updated", actor=actor, object_type="product", object_id=product.pk,
                     payload={"fields": changed})
    return product


@transaction.atomic
def product_transition(*, product: Product, to: ProductStatus, actor=None) -> Product:
    """Move a product through TRANSITIONS; publishing needs an active variant."""
    locked = product_select_for_update(product_id=product.pk)
    previous = locked.status
    check_transition(previous, to)
    if to == ProductStatus.PUBLISHED:
        check_publishable(active_variant_count=locked.variants.filter(is_active=True).count())
        locked.published_at = timezone.now()
    locked.status = to
    locked.save(update_fields=["status", "published_at", "updated_at"])
    ProductStatusChange.objects.create(product=locked, merchant_id=locked.merchant_id, from_status=previous,
                                       to_status=to, actor=actor_label(actor))
    audit_record(action=f"catalog.product_{to}", actor=actor, object_type="product", object_id=locked.pk,
                 payload={"from": previous, "to": str(to)})
    return locked


def product_publish(*, product: Product, actor=None) -> Product:
    return product_transition(product=product, to=ProductStatus.PUBLISHED, actor=actor)


def product_unpublish(*, product: Product, actor=None) -> Product:
    return product_transition(product=product, to=ProductStatus.UNPUBLISHED, actor=actor)


def product_sales_record(*, product_id: int, quantity: int) -> None:
    """Count units sold (the orders context calls this); one atomic increment, no read."""
    if not isinstance(quantity, int) or quantity <= 0:
        raise ValidationFailed("Sold quantities are positive integers.", param="quantity")
    Product.objects.filter(pk=product_id).update(sales_volume=F("sales_volume") + quantity)


# --- pictures ------------------------------------------------------------------------------
@transaction.atomic
def product_image_add(*, product: Product, data: bytes, alt_text: str = "", position: int | None = None,
                      actor=None) -> ProductImage:
    """Store a checked picture and its WebP thumbnail; new pictures go last unless placed."""
    checked = image_check(data)
    if position is None:
        last = product.images.aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
    stem = uuid.uuid4().hex  # never the uploader's file name: it may be a path or clash
    picture = ProductImage(product=product, merchant_id=product.merchant_id, position=position,
                           width=checked.width, height=checked.height,
                           alt_text=_text(alt_text, param="alt_text", required=False))
    picture.image.save(f"{stem}.{checked.extension}", ContentFile(data), save=False)
    picture.thumbnail.save(f"{stem}.thumb.webp", ContentFile(checked.thumbnail), save=False)
    # Files are written before the row; if the row fails, remove them again.
    try:
        with transaction.atomic():
            picture.save()
    except Exception:
        picture.image.delete(save=False)
        picture.thumbnail.delete(save=False)
        raise
    return picture


# --- variants and prices -------------------------------------------------------------------
def _level_price_set(variant: Variant, member_level_code: str, price: Money | None) -> None:
    code = check_member_level(member_level_code)
    if price is None:
        VariantLevelPrice.objects.filter(variant=variant, member_level_code=code).delete()
        return
    check_price(price, param=f"level_prices.{code}")
    if price.currency != variant.currency:
        raise CurrencyMismatch(f"Level prices are in the variant's currency, {variant.currency}.",
                               param=f"level_prices.{code}")
    VariantLevelPrice.objects.update_or_create(
        variant=variant, member_level_code=code,
        defaults={"price_minor": price.minor, "merchant_id": variant.merchant_id},
    )


@transaction.atomic
def variant_create(*, product: Product, sku: str, price: Money, specs: Mapping[str, str] | None = None,
                   is_active: bool = True, level_prices: Mapping[str, Money] | None = None,
                   actor=None) -> Variant:
    """Add a SKU to a product. SKU codes are unique across the platform."""
    variant = Variant(product=product, merchant_id=product.merchant_id, sku=check_sku(sku),
                      specs=normalise_specs(specs), price_minor=check_price(price).minor,
                      currency=price.currency, is_active=is_active)
    try:
        with transaction.atomic():
            variant.save()
    except IntegrityError:
        raise DuplicateSku(f"SKU {variant.sku!r} already exists.", param="sku") from None
    for code, level_price in (level_prices or {}).items():
        _level_price_set(variant, code, level_price)
    audit_record(action="catalog.variant_created", actor=actor, object_type="variant", object_id=variant.pk,
                 payload={"sku": variant.sku, "product": product.pk, "price": str(price)})
    return variant


def _check_deactivation(variant: Variant) -> None:
    """The last active variant of a published product stays: unpublish the product first."""
    product = product_select_for_update(product_id=variant.product_id)
    if product.is_published and not product.variants.filter(is_active=True).exclude(pk=variant.pk).exists():
        raise ProductNotPublishable("This is the published product's last active variant; unpublish it first.",
                                    param="is_active")


@transaction.atomic
def variant_update(*, variant: Variant, price: Money | None = None, specs: Mapping[str, str] | None = None,
                   is_active: bool | None = None, level_prices: Mapping[str, Money | None] | None = None,
                   actor=None) -> Variant:
    """Change a variant's price (same currency), specs or availability; a level price of None removes it."""
    if price is not None:
        check_price(price)
        if price.currency != variant.currency:
            raise CurrencyMismatch(f"This variant is priced in {variant.currency}.", param="price")
        variant.price_minor = price.minor
    if specs is not None:
        variant.specs = normalise_specs(specs)
    if is_active is False and variant.is_active:
        _check_deactivation(variant)
    if is_active is not None:
        variant.is_active = is_active
    variant.save(update_fields=["price_minor", "specs", "is_active"])
    for code, level_price in (level_prices or {}).items():
        _level_price_set(variant, code, level_price)
    audit_record(action="catalog.variant_updated", actor=actor, object_type="variant", object_id=variant.pk,
                 payload={"sku": variant.sku, "price_minor": variant.price_minor, "is_active": variant.is_active})
    return variant
