"""A small storefront for web and browser tests: a category tree, products with pictures, specs and stock."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from clearhouse.catalog import services as catalog
from clearhouse.catalog.models import Category, Product
from clearhouse.core.money import Money
from clearhouse.inventory.services import stock_receive, stock_threshold_set
from clearhouse.web.demo_catalog import demo_picture


@dataclass
class SmallShop:
    tea: Category
    green: Category
    black: Category
    apparel: Category
    longjing: Product
    keemun: Product
    scarf: Product
    draft: Product


def _product(merchant, category, name, zh, price, specs, *, stock=10, threshold=0, publish=True,
             description="") -> Product:
    product = catalog.product_create(merchant=merchant, category=category, name=name, name_zh_hans=zh,
                                     description=description or f"**{name}**, fine and fresh.\n\n- Gift box")
    for i, spec in enumerate(specs):
        variant = catalog.variant_create(product=product, sku=f"T{product.pk}-{i}",
                                         price=Money.parse(price, "CNY"), specs=spec,
                                         level_prices={"gold": Money.parse(price, "CNY").apply_rate(Decimal("0.9"))})
        if stock:
            stock_receive(variant_id=variant.pk, quantity=stock)
        if threshold:
            stock_threshold_set(variant_id=variant.pk, threshold=threshold)
    catalog.product_image_add(product=product, data=demo_picture(name, zh), alt_text=name)
    catalog.product_image_add(product=product, data=demo_picture(name, zh, variant=1), alt_text=name)
    if publish:
        catalog.product_publish(product=product)
    return product


def small_shop(merchant, other_merchant) -> SmallShop:
    """Tea > Green tea / Black tea for `merchant`; Apparel for `other_merchant`; one draft."""
    tea = catalog.category_create(name="Tea", name_zh_hans="茶叶", slug="tea")
    green = catalog.category_create(name="Green tea", name_zh_hans="绿茶", slug="green-tea", parent=tea)
    black = catalog.category_create(name="Black tea", name_zh_hans="红茶", slug="black-tea", parent=tea)
    apparel = catalog.category_create(name="Apparel", name_zh_hans="服饰", slug="apparel")
    longjing = _product(merchant, green, "West Lake Longjing", "西湖龙井", "168.00",
                        [{"weight": "50 g"}, {"weight": "100 g"}], stock=20)
    keemun = _product(merchant, black, "Keemun Black", "祁门红茶", "88.00", [{"weight": "100 g"}], stock=2,
                      threshold=5)
    scarf = _product(other_merchant, apparel, "West Lake Silk Scarf", "西湖真丝围巾", "199.00",
                     [{"colour": "jade", "material": "silk"}], stock=0, threshold=1)
    draft = _product(merchant, green, "Secret Spring Tea", "秘密春茶", "300.00", [{"weight": "50 g"}],
                     publish=False)
    return SmallShop(tea, green, black, apparel, longjing, keemun, scarf, draft)
