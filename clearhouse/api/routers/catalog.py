"""Catalog endpoints: categories, products (search, publish, pictures) and variants.

Reads are public (`auth=PUBLIC`): anonymous visitors and customers see the
storefront, i.e. published products and their active variants; callers with
`catalog.view_catalog` also see drafts. A merchant-scoped caller sees and
changes only its own merchant's products: another merchant's is a 404.
"""

from __future__ import annotations

from ninja import File, Form, Router, Status, UploadedFile

from clearhouse.accounts.models import Merchant
from clearhouse.accounts.principal import Principal
from clearhouse.accounts.roles import MANAGE_CATALOG, MANAGE_CATEGORIES, VIEW_CATALOG
from clearhouse.api.pagination import Page, paginate
from clearhouse.api.public import PUBLIC, PUBLIC_OPENAPI
from clearhouse.api.routers.catalog_schemas import (
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    ImageOut,
    PageNumber,
    PageSize,
    PathId,
    ProductDetailOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    QueryId,
    VariantIn,
    VariantOut,
    VariantPatch,
    category_out,
    image_out,
    product_detail_out,
    product_out,
    variant_out,
)
from clearhouse.catalog import selectors, services
from clearhouse.catalog.domain import ImageTooLarge, ProductSort
from clearhouse.catalog.images import MAX_IMAGE_BYTES
from clearhouse.core.errors import NotFound, ValidationFailed
from clearhouse.core.money import Money
from clearhouse.inventory import selectors as stock

router = Router(tags=["catalog"])
PUBLIC_READ = {"auth": PUBLIC, "openapi_extra": PUBLIC_OPENAPI}


# --- who sees what -------------------------------------------------------------------------
def _reader(principal: Principal) -> tuple[int | None, bool]:
    """(merchant scope, published only): staff see their drafts too, shoppers only the storefront."""
    return principal.merchant_id, not principal.has_perm(VIEW_CATALOG)


def _writer(request) -> Principal:
    request.auth.require(MANAGE_CATALOG)
    return request.auth


def _own_product(request, product_id: int):
    return selectors.product_get(product_id=product_id, merchant_id=_writer(request).merchant_id)


def _category(category_id: int, *, param: str):
    try:
        return selectors.category_get(category_id=category_id)
    except NotFound:
        raise NotFound(f"No category {category_id}.", param=param) from None


def _merchant_for_new_product(principal: Principal, code: str | None) -> Merchant:
    if principal.merchant_id is not None:
        merchant = Merchant.objects.get(pk=principal.merchant_id)
        if code and code != merchant.code:
            raise NotFound(f"No merchant {code!r}.", param="merchant")  # another merchant is out of sight
        return merchant
    if not code:
        raise ValidationFailed("Name the merchant (its code) that sells this product.", param="merchant")
    merchant = Merchant.objects.filter(code=code).first()
    if merchant is None:
        raise NotFound(f"No merchant {code!r}.", param="merchant")
    return merchant


def _variants_out(variants: list) -> list[dict]:
    ids = [v.pk for v in variants]
    levels = selectors.level_prices_of(variant_ids=ids)
    available = stock.available_of(variant_ids=ids)
    return [variant_out(v, level_prices=levels[v.pk], available=available[v.pk]) for v in variants]


def _detail(product, *, published_only: bool) -> dict:
    images = selectors.product_images(product_ids=[product.pk])[product.pk]
    variants = selectors.variants_of(product_ids=[product.pk], published_only=published_only)[product.pk]
    return product_detail_out(product, images=images, variants=_variants_out(variants))


def _products_out(products: list) -> list[dict]:
    images = selectors.product_images(product_ids=[p.pk for p in products])
    return [product_out(p, thumbnail_url=images[p.pk][0].thumbnail.url if images[p.pk] else None)
            for p in products]


# --- categories ------------------------------------------------------------------------------
@router.get("/categories", response=list[CategoryOut], **PUBLIC_READ, summary="The category tree (flat)")
def list_categories(request, parent_id: QueryId = None, roots_only: bool = False):
    return [category_out(c) for c in selectors.category_list(parent_id=parent_id, roots_only=roots_only)]


@router.get("/categories/{category_id}", response=CategoryOut, **PUBLIC_READ, summary="Get a category")
def get_category(request, category_id: PathId):
    return category_out(selectors.category_get(category_id=category_id))


@router.post("/categories", response={201: CategoryOut}, summary="Create a category")
def create_category(request, payload: CategoryIn):
    request.auth.require(MANAGE_CATEGORIES)
    parent = _category(payload.parent_id, param="parent_id") if payload.parent_id else None
    category = services.category_create(name=payload.name, name_zh_hans=payload.name_zh_hans, slug=payload.slug,
                                        parent=parent, position=payload.position, actor=request.auth)
    return Status(201, category_out(category))


@router.patch("/categories/{category_id}", response=CategoryOut, summary="Rename or move a category")
def update_category(request, category_id: PathId, payload: CategoryPatch):
    request.auth.require(MANAGE_CATEGORIES)
    category = selectors.category_get(category_id=category_id)
    parent = services.UNSET
    if "parent_id" in payload.model_fields_set:
        parent = _category(payload.parent_id, param="parent_id") if payload.parent_id else None
    category = services.category_update(category=category, name=payload.name, name_zh_hans=payload.name_zh_hans,
                                        slug=payload.slug, parent=parent, position=payload.position,
                                        actor=request.auth)
    return category_out(category)


# --- products ------------------------------------------------------------------------------
def _price_bound(text: str | None, currency: str | None, param: str) -> Money | None:
    if text is None or text == "":
        return None
    if not currency:
        raise ValidationFailed("A price filter needs its currency.", param="currency")
    return Money.parse(text, currency, param=param)


def _merchant_filter(principal: Principal, code: str | None) -> int | None:
    if principal.merchant_id is not None or not code:
        return principal.merchant_id  # a merchant-scoped caller never widens its scope
    merchant = Merchant.objects.filter(code=code).values_list("pk", flat=True).first()
    if merchant is None:
        raise NotFound(f"No merchant {code!r}.", param="merchant")
    return merchant


@router.get("/products", response=Page[ProductOut], **PUBLIC_READ, summary="Search and browse products")
def list_products(request, q: str = "", category_id: QueryId = None, price_min: str | None = None,
                  price_max: str | None = None, currency: str | None = None, in_stock: bool = False,
                  merchant: str | None = None, sort: ProductSort = ProductSort.RELEVANCE,
                  page: PageNumber = 1, page_size: PageSize = 24):
    principal = request.auth
    _, published_only = _reader(principal)
    if category_id is not None:
        _category(category_id, param="category_id")
    qs = selectors.product_list(
        text=q, category_id=category_id, price_min=_price_bound(price_min, currency, "price_min"),
        price_max=_price_bound(price_max, currency, "price_max"),
        in_stock_variants=stock.in_stock_variant_ids() if in_stock else None,
        merchant_id=_merchant_filter(principal, merchant), published_only=published_only, sort=sort,
    )
    return paginate(qs.select_related("merchant"), page, page_size, _products_out, batch=True)


@router.get("/products/{product_id}", response=ProductDetailOut, **PUBLIC_READ, summary="Get a product")
def get_product(request, product_id: PathId):
    merchant_id, published_only = _reader(request.auth)
    product = selectors.product_get(product_id=product_id, merchant_id=merchant_id, published_only=published_only)
    return _detail(product, published_only=published_only)


@router.post("/products", response={201: ProductDetailOut}, summary="Create a product (as a draft)")
def create_product(request, payload: ProductIn):
    principal = _writer(request)
    product = services.product_create(
        merchant=_merchant_for_new_product(principal, payload.merchant),
        category=_category(payload.category_id, param="category_id"), name=payload.name,
        name_zh_hans=payload.name_zh_hans, description=payload.description, actor=principal,
    )
    product = selectors.product_get(product_id=product.pk)
    return Status(201, _detail(product, published_only=False))


@router.patch("/products/{product_id}", response=ProductDetailOut, summary="Change a product")
def update_product(request, product_id: PathId, payload: ProductPatch):
    product = _own_product(request, product_id)
    category = _category(payload.category_id, param="category_id") if payload.category_id else None
    services.product_update(product=product, category=category, name=payload.name,
                            name_zh_hans=payload.name_zh_hans, description=payload.description, actor=request.auth)
    return _detail(selectors.product_get(product_id=product.pk), published_only=False)


@router.post("/products/{product_id}/publish", response=ProductDetailOut, summary="Show a product to shoppers")
def publish_product(request, product_id: PathId):
    product = _own_product(request, product_id)
    services.product_publish(product=product, actor=request.auth)
    return _detail(selectors.product_get(product_id=product.pk), published_only=False)


@router.post("/products/{product_id}/unpublish", response=ProductDetailOut, summary="Withdraw a product")
def unpublish_product(request, product_id: PathId):
    product = _own_product(request, product_id)
    services.product_unpublish(product=product, actor=request.auth)
    return _detail(selectors.product_get(product_id=product.pk), published_only=False)


@router.post("/products/{product_id}/images", response={201: ImageOut},
             summary="Upload a picture (multipart/form-data, field `image`)")
def upload_image(request, product_id: PathId, image: File[UploadedFile], alt_text: Form[str] = "",
                 position: Form[int | None] = None):
    product = _own_product(request, product_id)
    if image.size > MAX_IMAGE_BYTES:
        raise ImageTooLarge(f"Images are at most {MAX_IMAGE_BYTES // 1000} kB.", param="image")
    if position is not None and not 0 <= position <= 1_000_000:
        raise ValidationFailed("position is 0 to 1000000.", param="position")
    picture = services.product_image_add(product=product, data=image.read(), alt_text=alt_text[:200],
                                         position=position, actor=request.auth)
    return Status(201, image_out(picture))


# --- variants --------------------------------------------------------------------------------
def _prices(level_prices: dict, currency: str) -> dict[str, Money | None]:
    return {code: None if text is None else Money.parse(text, currency, param=f"level_prices.{code}")
            for code, text in level_prices.items()}


@router.get("/variants", response=Page[VariantOut], **PUBLIC_READ, summary="List variants (SKUs)")
def list_variants(request, product_id: QueryId = None, sku: str | None = None, page: PageNumber = 1,
                  page_size: PageSize = 50):
    merchant_id, published_only = _reader(request.auth)
    qs = selectors.variant_list(merchant_id=merchant_id, published_only=published_only, product_id=product_id,
                                sku=sku)
    return paginate(qs, page, page_size, _variants_out, batch=True)


@router.get("/variants/{variant_id}", response=VariantOut, **PUBLIC_READ, summary="Get a variant")
def get_variant(request, variant_id: PathId):
    merchant_id, published_only = _reader(request.auth)
    variant = selectors.variant_get(variant_id=variant_id, merchant_id=merchant_id, published_only=published_only)
    return _variants_out([variant])[0]


@router.post("/variants", response={201: VariantOut}, summary="Add a variant (SKU) to a product")
def create_variant(request, payload: VariantIn):
    product = _own_product(request, payload.product_id)
    price = Money.parse(payload.price, payload.currency, param="price")
    variant = services.variant_create(product=product, sku=payload.sku, price=price, specs=payload.specs,
                                      is_active=payload.is_active,
                                      level_prices=_prices(payload.level_prices, price.currency), actor=request.auth)
    return Status(201, _variants_out([variant])[0])


@router.patch("/variants/{variant_id}", response=VariantOut, summary="Change a variant's price, specs or status")
def update_variant(request, variant_id: PathId, payload: VariantPatch):
    principal = _writer(request)
    variant = selectors.variant_get(variant_id=variant_id, merchant_id=principal.merchant_id)
    price = None if payload.price is None else Money.parse(payload.price, variant.currency, param="price")
    variant = services.variant_update(variant=variant, price=price, specs=payload.specs, is_active=payload.is_active,
                                      level_prices=_prices(payload.level_prices, variant.currency), actor=principal)
    return _variants_out([variant])[0]
