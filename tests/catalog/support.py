"""Builders for catalog and stock tests: categories, products with variants, pictures, API calls."""

from __future__ import annotations

import io
import uuid

from PIL import Image

from clearhouse.catalog import services
from clearhouse.catalog.models import Category, Product, Variant
from clearhouse.core.money import Money
from clearhouse.inventory.services import stock_receive


def make_category(name: str = "Tea", *, slug: str | None = None, parent: Category | None = None,
                  name_zh_hans: str = "") -> Category:
    return services.category_create(name=name, slug=slug or name.lower().replace(" ", "-"), parent=parent,
                                    name_zh_hans=name_zh_hans)


def make_product(merchant, category, name: str = "Green tea", *, price: str = "10.00", sku: str | None = None,
                 publish: bool = True, stock: int = 0, description: str = "", name_zh_hans: str = "",
                 currency: str = "CNY", specs: dict | None = None) -> Product:
    """A product with one variant (priced `price`), published and stocked as asked."""
    product = services.product_create(merchant=merchant, category=category, name=name, description=description,
                                      name_zh_hans=name_zh_hans)
    variant = services.variant_create(product=product, sku=sku or f"SKU-{uuid.uuid4().hex[:10]}",
                                      price=Money.parse(price, currency), specs=specs)
    if publish:
        services.product_publish(product=product)
    if stock:
        stock_receive(variant_id=variant.pk, quantity=stock)
    product.refresh_from_db()
    return product


def only_variant(product: Product) -> Variant:
    return product.variants.get()


def picture(size: tuple[int, int] = (800, 600), *, fmt: str = "PNG", colour=(200, 30, 30), mode: str = "RGB") -> bytes:
    """A small real image made with Pillow."""
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, format=fmt)
    return out.getvalue()


def api_patch(api, path: str, body: dict):
    """PATCH through the test ApiClient (it sends GET and POST only), with a fresh Idempotency-Key."""
    import json

    return api.client.patch(f"/api/v1{path}", data=json.dumps(body), content_type="application/json",
                            headers=api._headers(None))


def api_upload(api, path: str, data: bytes, *, filename: str = "photo.png", **fields):
    """A multipart upload of `data` as the `image` field."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(filename, data, content_type="application/octet-stream")
    return api.client.post(f"/api/v1{path}", {"image": upload, **fields}, headers=api._headers(None))
