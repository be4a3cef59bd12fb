"""Request and response shapes of the catalog and inventory endpoints, and the mapping to them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Field, Path, Query, Schema
from pydantic import WithJsonSchema

from clearhouse.api.schemas import RequestBody
from clearhouse.catalog.description import MAX_DESCRIPTION_LENGTH, render_description
from clearhouse.core.money import Money

MAX_ID = 2**63 - 1  # ids are 64-bit; anything larger is a 400, not a database error
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=200)]
# Checked by the domain (code `invalid_quantity`), not by the schema, so callers get one stable code.
QuantityValue = Annotated[Any, WithJsonSchema({"type": "integer", "example": 5})]
PriceString = Annotated[
    Any,
    WithJsonSchema({"type": "string", "example": "19.90",
                    "description": "Decimal string in major units of `currency`. Never a float."}),
]
Specs = Annotated[
    Any,
    WithJsonSchema({"type": "object", "additionalProperties": {"type": "string"},
                    "example": {"size": "M", "colour": "red", "material": "cotton"}}),
]


# --- categories ----------------------------------------------------------------------
class CategoryIn(RequestBody):
    name: str = Field(..., max_length=200)
    name_zh_hans: str = Field("", max_length=200)
    slug: str = Field(..., max_length=100, pattern=r"^[-a-zA-Z0-9_]+$")
    parent_id: Id | None = None
    position: int = Field(0, ge=0, le=1_000_000)


class CategoryPatch(RequestBody):
    name: str | None = Field(None, max_length=200)
    name_zh_hans: str | None = Field(None, max_length=200)
    slug: str | None = Field(None, max_length=100, pattern=r"^[-a-zA-Z0-9_]+$")
    parent_id: Id | None = Field(None, description="Send null to make it a top-level category")
    position: int | None = Field(None, ge=0, le=1_000_000)


class CategoryOut(Schema):
    id: int
    parent_id: int | None
    name: str
    name_zh_hans: str
    slug: str
    position: int


# --- products ----------------------------------------------------------------------------
class ProductIn(RequestBody):
    merchant: str | None = Field(None, description="Merchant code; platform callers only (merchant keys: own)")
    category_id: Id
    name: str = Field(..., max_length=200)
    name_zh_hans: str = Field("", max_length=200)
    description: str = Field("", max_length=MAX_DESCRIPTION_LENGTH)


class ProductPatch(RequestBody):
    category_id: Id | None = None
    name: str | None = Field(None, max_length=200)
    name_zh_hans: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=MAX_DESCRIPTION_LENGTH)


class ImageOut(Schema):
    id: int
    url: str
    thumbnail_url: str
    width: int
    height: int
    alt_text: str
    position: int


class VariantOut(Schema):
    id: int
    product_id: int
    sku: str
    specs: dict[str, str]
    price: str
    price_minor: int
    currency: str
    level_prices: dict[str, str]
    is_active: bool
    available: int
    in_stock: bool


class ProductOut(Schema):
    id: int
    merchant: str
    category_id: int
    name: str
    name_zh_hans: str
    status: str
    is_published: bool
    price_from: str | None = Field(None, description="Price of the cheapest active variant")
    currency: str | None
    sales_volume: int
    thumbnail_url: str | None
    created_at: datetime
    published_at: datetime | None


class ProductDetailOut(ProductOut):
    description: str
    description_html: str = Field(..., description="The description rendered as safe HTML")
    images: list[ImageOut]
    variants: list[VariantOut]


# --- variants ------------------------------------------------------------------------------
class VariantIn(RequestBody):
    product_id: Id
    sku: str = Field(..., max_length=64)
    price: PriceString
    currency: str = Field(..., min_length=3, max_length=3)
    specs: Specs = None
    is_active: bool = True
    level_prices: dict[str, PriceString] = Field(default_factory=dict,
                                                 description="Member level code -> price, e.g. {\"gold\": \"17.90\"}")


class VariantPatch(RequestBody):
    price: PriceString = None
    specs: Specs = None
    is_active: bool | None = None
    level_prices: dict[str, PriceString] = Field(default_factory=dict, description="A null price removes it")


# --- mapping -------------------------------------------------------------------------------
def money_text(minor: int | None, currency: str | None) -> str | None:
    return None if minor is None or not currency else Money(minor, currency).to_string()


def category_out(c) -> dict:
    return dict(id=c.pk, parent_id=c.parent_id, name=c.name, name_zh_hans=c.name_zh_hans, slug=c.slug,
                position=c.position)


def image_out(picture) -> dict:
    return dict(id=picture.pk, url=picture.image.url, thumbnail_url=picture.thumbnail.url, width=picture.width,
                height=picture.height, alt_text=picture.alt_text, position=picture.position)


def variant_out(v, *, level_prices: dict[str, int], available: int) -> dict:
    return dict(id=v.pk, product_id=v.product_id, sku=v.sku, specs=v.specs,
                price=money_text(v.price_minor, v.currency), price_minor=v.price_minor, currency=v.currency,
                level_prices={code: money_text(m, v.currency) for code, m in level_prices.items()},
                is_active=v.is_active, available=max(available, 0), in_stock=available > 0)


def product_out(p, *, thumbnail_url: str | None) -> dict:
    return dict(id=p.pk, merchant=p.merchant.code, category_id=p.category_id, name=p.name,
                name_zh_hans=p.name_zh_hans, status=p.status, is_published=p.is_published,
                price_from=money_text(p.price_from_minor, p.price_from_currency), currency=p.price_from_currency,
                sales_volume=p.sales_volume, thumbnail_url=thumbnail_url, created_at=p.created_at,
                published_at=p.published_at)


def product_detail_out(p, *, images: list, variants: list[dict]) -> dict:
    return {**product_out(p, thumbnail_url=images[0].thumbnail.url if images else None),
            "description": p.description, "description_html": render_description(p.description),
            "images": [image_out(i) for i in images], "variants": variants}
