"""Reads of the catalog: the category tree, product search and filters, variants and their prices.

Scoping happens here and only here. Two arguments say what a caller may see:
`merchant_id` (a merchant-scoped caller sees only its own rows) and
`published_only` (shoppers and anonymous visitors see published products and
their active variants, nothing else). What is out of sight is "not found".

Search uses PostgreSQL full-text search where the database is PostgreSQL
and a portable substring match elsewhere (SQLite). Chinese has no spaces
between words, which the full-text parser needs, so Chinese names are also
matched as substrings on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When

from clearhouse.catalog.domain import ProductSort, ProductStatus, UnknownSku, descendant_ids
from clearhouse.catalog.models import Category, Product, ProductImage, Variant, VariantLevelPrice
from clearhouse.core.errors import NotFound, ValidationFailed
from clearhouse.core.money import Money

MAX_SEARCH_LENGTH = 200


# --- categories ----------------------------------------------------------------------------
def category_list(*, parent_id: int | None = None, roots_only: bool = False) -> QuerySet[Category]:
    qs = Category.objects.all()
    if roots_only:
        qs = qs.filter(parent__isnull=True)
    elif parent_id is not None:
        qs = qs.filter(parent_id=parent_id)
    return qs.order_by("position", "name", "id")


def category_get(*, category_id: int) -> Category:
    category = Category.objects.filter(pk=category_id).first()
    if category is None:
        raise NotFound(f"No category {category_id}.", param="category_id")
    return category


def category_descendant_ids(*, category_id: int) -> set[int]:
    """The category and all below it (the tree is small master data: one query for all of it)."""
    return descendant_ids(category_id, dict(Category.objects.values_list("id", "parent_id")))


# --- products ------------------------------------------------------------------------------
def _active_variants():
    return Variant.objects.filter(product=OuterRef("pk"), is_active=True)


def product_visible(*, merchant_id: int | None = None, published_only: bool = True) -> QuerySet[Product]:
    """Every product this caller may see, with `price_from_minor` (cheapest active variant)."""
    qs = Product.objects.all()
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    if published_only:
        qs = qs.filter(status=ProductStatus.PUBLISHED)
    # A subquery, not MIN() over a join: no GROUP BY, so search annotations stay cheap.
    cheapest = _active_variants().order_by("price_minor", "id")
    return qs.annotate(price_from_minor=Subquery(cheapest.values("price_minor")[:1], output_field=IntegerField()),
                       price_from_currency=Subquery(cheapest.values("currency")[:1]))


def _search_text(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > MAX_SEARCH_LENGTH:
        raise ValidationFailed(f"Search text is at most {MAX_SEARCH_LENGTH} characters.", param="q")
    return text


def _search_postgresql(qs: QuerySet[Product], text: str) -> QuerySet[Product]:
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    vector = (SearchVector("name", weight="A", config="english")
              + SearchVector("name_zh_hans", weight="A", config="english")
              + SearchVector("description", weight="B", config="english"))
    query = SearchQuery(text, search_type="websearch", config="english")  # any user text is a valid query
    sku = Exists(Variant.objects.filter(product=OuterRef("pk"), sku__iexact=text))
    return qs.annotate(search=vector, rank=SearchRank(vector, query)).filter(
        Q(search=query) | Q(name_zh_hans__icontains=text) | Q(sku)
    )


def _search_portable(qs: QuerySet[Product], text: str) -> QuerySet[Product]:
    """Every word must appear in the name, Chinese name or description (or the text is a SKU); name hits first."""
    words = Q()
    for word in text.split():
        words &= Q(name__icontains=word) | Q(name_zh_hans__icontains=word) | Q(description__icontains=word)
    sku = Exists(Variant.objects.filter(product=OuterRef("pk"), sku__iexact=text))
    in_name = Q(name__icontains=text) | Q(name_zh_hans__icontains=text)
    rank = Case(When(in_name, then=Value(1)), default=Value(0), output_field=IntegerField())
    return qs.filter(words | Q(sku)).annotate(rank=rank)


def product_search(qs: QuerySet[Product], text: str) -> QuerySet[Product]:
    """Products matching `text`, annotated with `rank` (higher is better)."""
    text = _search_text(text)
    if not text:
        return qs
    if connection.vendor == "postgresql":
        return _search_postgresql(qs, text)
    return _search_portable(qs, text)


def _price_filter(qs: QuerySet[Product], price_min: Money | None, price_max: Money | None) -> QuerySet[Product]:
    """Products with an active variant priced within [min, max] (in that currency)."""
    if price_min is None and price_max is None:
        return qs
    currency = (price_min or price_max).currency
    if price_min is not None and price_max is not None and price_min.currency != price_max.currency:
        raise ValidationFailed("price_min and price_max must be in one currency.", param="price_max")
    variants = _active_variants().filter(currency=currency)
    if price_min is not None:
        variants = variants.filter(price_minor__gte=price_min.minor)
    if price_max is not None:
        variants = variants.filter(price_minor__lte=price_max.minor)
    return qs.filter(Exists(variants))


_ORDER = {
    ProductSort.NEWEST: ["-created_at", "-id"],
    ProductSort.PRICE_ASC: [F("price_from_minor").asc(nulls_last=True), "id"],
    ProductSort.PRICE_DESC: [F("price_from_minor").desc(nulls_last=True), "-id"],
    ProductSort.SALES: ["-sales_volume", "-id"],
}


def product_list(*, text: str = "", category_id: int | None = None, price_min: Money | None = None,
                 price_max: Money | None = None, in_stock_variants: QuerySet | None = None,
                 merchant_id: int | None = None, published_only: bool = True,
                 sort: ProductSort = ProductSort.RELEVANCE) -> QuerySet[Product]:
    """Search, filter and sort the products a caller may see.

    `in_stock_variants` is a subquery of variant ids that have stock
    (`inventory.selectors.in_stock_variant_ids()`): stock is the inventory
    context's, which depends on the catalog, not the other way round.
    """
    qs = product_visible(merchant_id=merchant_id, published_only=published_only)
    if category_id is not None:
        qs = qs.filter(category_id__in=category_descendant_ids(category_id=category_id))
    qs = _price_filter(qs, price_min, price_max)
    if in_stock_variants is not None:
        qs = qs.filter(Exists(_active_variants().filter(pk__in=in_stock_variants)))
    searching = bool(text and text.strip())
    if searching:
        qs = product_search(qs, text)
    if sort == ProductSort.RELEVANCE:
        return qs.order_by("-rank", "-created_at", "-id") if searching else qs.order_by(*_ORDER[ProductSort.NEWEST])
    return qs.order_by(*_ORDER[ProductSort(sort)])


def product_get(*, product_id: int, merchant_id: int | None = None, published_only: bool = False) -> Product:
    """A product the caller may see (another merchant's looks like no product at all)."""
    product = (product_visible(merchant_id=merchant_id, published_only=published_only)
               .select_related("category", "merchant").filter(pk=product_id).first())
    if product is None:
        raise NotFound(f"No product {product_id}.", param="product_id")
    return product


def product_images(*, product_ids: list[int]) -> dict[int, list[ProductImage]]:
    out: dict[int, list[ProductImage]] = {pk: [] for pk in product_ids}
    for picture in ProductImage.objects.filter(product_id__in=product_ids).order_by("product_id", "position", "id"):
        out[picture.product_id].append(picture)
    return out


# --- variants and prices ---------------------------------------------------------------------
def variant_list(*, merchant_id: int | None = None, published_only: bool = False, product_id: int | None = None,
                 sku: str | None = None) -> QuerySet[Variant]:
    qs = Variant.objects.all()
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    if published_only:
        qs = qs.filter(is_active=True, product__status=ProductStatus.PUBLISHED)
    if product_id is not None:
        qs = qs.filter(product_id=product_id)
    if sku:
        qs = qs.filter(sku=sku)
    return qs.order_by("product_id", "id")


def variant_get(*, variant_id: int, merchant_id: int | None = None, published_only: bool = False) -> Variant:
    variant = variant_list(merchant_id=merchant_id, published_only=published_only).filter(pk=variant_id).first()
    if variant is None:
        raise UnknownSku(f"No SKU with variant id {variant_id}.", param="variant_id")
    return variant


def variant_get_by_sku(*, sku: str, merchant_id: int | None = None, published_only: bool = False) -> Variant:
    variant = variant_list(merchant_id=merchant_id, published_only=published_only, sku=sku).first()
    if variant is None:
        raise UnknownSku(f"No SKU {sku!r}.", param="sku")
    return variant


def variant_merchant_ids(variant_ids: list[int]) -> dict[int, int]:
    """variant id -> merchant id, for the ids that exist (one query)."""
    return dict(Variant.objects.filter(pk__in=variant_ids).values_list("id", "merchant_id"))


def variants_of(*, product_ids: list[int], published_only: bool = False) -> dict[int, list[Variant]]:
    qs = Variant.objects.filter(product_id__in=product_ids)
    if published_only:
        qs = qs.filter(is_active=True)
    out: dict[int, list[Variant]] = {pk: [] for pk in product_ids}
    for variant in qs.order_by("product_id", "id"):
        out[variant.product_id].append(variant)
    return out


def level_prices_of(*, variant_ids: list[int]) -> dict[int, dict[str, int]]:
    """variant id -> {member level code: price in minor units}."""
    out: dict[int, dict[str, int]] = {pk: {} for pk in variant_ids}
    rows = VariantLevelPrice.objects.filter(variant_id__in=variant_ids).values_list(
        "variant_id", "member_level_code", "price_minor")
    for variant_id, code, price_minor in rows:
        out[variant_id][code] = price_minor
    return out


@dataclass(frozen=True, slots=True)
class VariantPrice:
    """What a shopper of a member level pays for one unit, and whether a level price applied."""

    price: Money
    member_level_code: str | None


def variant_price(*, variant: Variant, member_level_code: str | None = None) -> VariantPrice:
    """The unit price for a member level (its own price if set, else the variant's price)."""
    if member_level_code:
        level = variant.level_prices.filter(member_level_code=member_level_code).values_list(
            "price_minor", flat=True).first()
        if level is not None:
            return VariantPrice(Money(level, variant.currency), member_level_code)
    return VariantPrice(Money(variant.price_minor, variant.currency), None)


# --- merchants -------------------------------------------------------------------------------
def merchants_with_products(*, published_only: bool = True) -> list[tuple[int, str]]:
    """(id, name) of the merchants with products a shopper can see: the storefront's merchant filter."""
    from clearhouse.accounts.models import Merchant

    products = Product.objects.all()
    if published_only:
        products = products.filter(status=ProductStatus.PUBLISHED)
    return list(Merchant.objects.filter(pk__in=products.values("merchant_id"), is_active=True)
                .order_by("name", "id").values_list("id", "name"))
