"""Demo shop: a category tree, 50+ products of the three demo merchants, stock, member levels, customers.

Everything goes through the catalog, inventory and customers services, so the
demo exercises the same rules the API does. Product pictures are generated
with Pillow (a coloured tile with the product's initials and names) and stored
through `product_image_add`, which makes the thumbnails. Each part checks its
own marker, so running the seed again changes nothing.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.apps import apps
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont

from clearhouse.accounts.models import Merchant, User
from clearhouse.catalog import services as catalog
from clearhouse.catalog.models import Category
from clearhouse.core.money import Money
from clearhouse.customers import services as customers
from clearhouse.customers.models import MemberLevel
from clearhouse.inventory.services import stock_receive, stock_threshold_set

# (slug, English, 简体中文, parent slug)
DEMO_CATEGORIES = [
    ("tea", "Tea", "茶叶", None),
    ("green-tea", "Green tea", "绿茶", "tea"),
    ("black-tea", "Black tea", "红茶", "tea"),
    ("oolong", "Oolong", "乌龙茶", "tea"),
    ("noodles", "Noodles", "面条", None),
    ("wheat-noodles", "Wheat noodles", "面食", "noodles"),
    ("rice-noodles", "Rice noodles", "米粉米线", "noodles"),
    ("condiments", "Condiments", "调味料", None),
    ("apparel", "Apparel", "服饰", None),
    ("shirts", "Shirts", "衬衫", "apparel"),
    ("scarves", "Scarves", "围巾", "apparel"),
]

# (code, English, 简体中文, rank, spend from (CNY minor units))
DEMO_LEVELS = [
    ("regular", "Regular", "普通会员", 0, 0),
    ("silver", "Silver", "白银会员", 1, 100_000),
    ("gold", "Gold", "黄金会员", 2, 500_000),
]

# (username, display name, phone, spend that sets the level (CNY), points, address)
DEMO_CUSTOMERS = [
    ("customer", "Li Na 李娜", "13800138000", "120.00", 80,
     ("Li Na", "Zhejiang 浙江省", "Hangzhou 杭州市", "18 Longjing Road, Xihu District", "310013")),
    ("mei", "Chen Mei 陈梅", "13900139000", "1800.00", 450,
     ("Chen Mei", "Shanghai 上海市", "Shanghai 上海市", "200 Nanjing West Road, Jing'an", "200041")),
    ("jun", "Zhao Jun 赵军", "13700137000", "6800.00", 2300,
     ("Zhao Jun", "Beijing 北京市", "Beijing 北京市", "5 Wangfujing Street, Dongcheng", "100006")),
]


@dataclass(frozen=True)
class DemoProduct:
    """One demo product: names, category, and how its variants differ."""

    merchant: str
    category: str
    name: str
    name_zh_hans: str
    base_price: int  # CNY minor units of the first variant
    specs: list[dict[str, str]] = field(default_factory=list)


_TEA_WEIGHTS = [{"weight": "50 g"}, {"weight": "100 g"}, {"weight": "250 g"}]
_NOODLE_PACKS = [{"pack": "1 bowl", "spice": "mild"}, {"pack": "5 bowls", "spice": "mild"},
                 {"pack": "5 bowls", "spice": "hot"}]
_SHIRT_SIZES = [{"size": s, "colour": c, "material": m} for s, c, m in
                [("S", "white", "linen"), ("M", "white", "linen"), ("L", "indigo", "linen"), ("XL", "indigo", "linen")]]
_SCARF_COLOURS = [{"colour": c, "material": m, "size": "180 x 60 cm"} for c, m in
                  [("jade", "silk"), ("crimson", "silk"), ("ink", "cashmere")]]

_TEA = [
    ("green-tea", "West Lake Longjing", "西湖龙井", 16800), ("green-tea", "Biluochun", "碧螺春", 12800),
    ("green-tea", "Huangshan Maofeng", "黄山毛峰", 9800), ("green-tea", "Lu'an Guapian", "六安瓜片", 11800),
    ("green-tea", "Anji White Tea", "安吉白茶", 13800), ("green-tea", "Xinyang Maojian", "信阳毛尖", 8800),
    ("green-tea", "Taiping Houkui", "太平猴魁", 19800), ("green-tea", "Jasmine Pearls", "茉莉龙珠", 7800),
    ("black-tea", "Keemun Black", "祁门红茶", 8800), ("black-tea", "Yunnan Dianhong", "云南滇红", 6800),
    ("black-tea", "Lapsang Souchong", "正山小种", 9800), ("black-tea", "Jin Jun Mei", "金骏眉", 25800),
    ("black-tea", "Yingde Black", "英德红茶", 5800), ("black-tea", "Tanyang Gongfu", "坦洋工夫", 7200),
    ("oolong", "Tieguanyin", "铁观音", 10800), ("oolong", "Da Hong Pao", "大红袍", 22800),
    ("oolong", "Dancong Honey Orchid", "凤凰单丛蜜兰香", 15800), ("oolong", "Dong Ding Oolong", "冻顶乌龙", 12800),
    ("oolong", "Oriental Beauty", "东方美人", 17800), ("oolong", "Shui Xian", "水仙", 6800),
]
_NOODLES = [
    ("wheat-noodles", "Lanzhou Beef Noodle Kit", "兰州牛肉拉面", 3800),
    ("wheat-noodles", "Biangbiang Noodles", "biangbiang面", 3200),
    ("wheat-noodles", "Dandan Noodles", "担担面", 2800), ("wheat-noodles", "Zhajiang Noodles", "炸酱面", 2600),
    ("wheat-noodles", "Knife-cut Noodles", "山西刀削面", 2400),
    ("wheat-noodles", "Wuhan Hot Dry Noodles", "热干面", 2200),
    ("wheat-noodles", "Chongqing Xiaomian", "重庆小面", 2500), ("wheat-noodles", "Yi Mein", "伊府面", 2900),
    ("rice-noodles", "Guilin Rice Noodles", "桂林米粉", 2600),
    ("rice-noodles", "Liuzhou Luosifen", "柳州螺蛳粉", 3300),
    ("rice-noodles", "Crossing-the-Bridge Noodles", "过桥米线", 3900),
    ("rice-noodles", "Changde Rice Noodles", "常德米粉", 2400),
    ("condiments", "Chilli Crisp Oil", "红油辣子", 1800), ("condiments", "Zhenjiang Black Vinegar", "镇江香醋", 1500),
    ("condiments", "Sichuan Peppercorn", "四川花椒", 2100), ("condiments", "Pixian Bean Paste", "郫县豆瓣酱", 1900),
]
_APPAREL = [
    ("shirts", "Mandarin-collar Linen Shirt", "立领亚麻衬衫", 29900),
    ("shirts", "Silk Tang Shirt", "真丝唐装衬衫", 49900),
    ("shirts", "Frog-button Cotton Shirt", "盘扣棉衬衫", 25900),
    ("shirts", "Indigo Batik Shirt", "蓝染蜡染衬衫", 32900),
    ("shirts", "Ramie Summer Shirt", "苎麻夏衫", 27900), ("shirts", "Brocade Cuff Shirt", "织锦袖口衬衫", 35900),
    ("shirts", "Hanfu-style Wrap Shirt", "汉服交领上衣", 39900),
    ("shirts", "Tea-dyed Work Shirt", "茶染工装衬衫", 28900),
    ("shirts", "Xiang Cloud Silk Shirt", "香云纱衬衫", 69900),
    ("scarves", "West Lake Silk Scarf", "西湖真丝围巾", 19900),
    ("scarves", "Cashmere Ink Scarf", "水墨羊绒围巾", 45900),
    ("scarves", "Suzhou Embroidered Scarf", "苏绣围巾", 39900), ("scarves", "Yunjin Brocade Scarf", "云锦围巾", 52900),
    ("scarves", "Crane Print Scarf", "仙鹤印花围巾", 16900), ("scarves", "Peony Silk Square", "牡丹真丝方巾", 15900),
    ("scarves", "Tie-dye Cotton Scarf", "扎染棉围巾", 9900), ("scarves", "Yak Wool Scarf", "牦牛绒围巾", 38900),
    ("scarves", "Bamboo Fibre Scarf", "竹纤维围巾", 8900),
]


def demo_products() -> list[DemoProduct]:
    """The demo assortment: 54 products, 1-4 variants each (deterministic, so reruns agree)."""
    out = []
    for i, (cat, name, zh, price) in enumerate(_TEA):
        out.append(DemoProduct("teahouse", cat, name, zh, price, _TEA_WEIGHTS[: 1 + i % 3]))
    for i, (cat, name, zh, price) in enumerate(_NOODLES):
        specs = [{"size": "500 ml"}, {"size": "1 l"}] if cat == "condiments" else _NOODLE_PACKS[: 1 + i % 3]
        out.append(DemoProduct("noodlebar", cat, name, zh, price, specs[: 1 + i % 2] if cat == "condiments" else specs))
    for i, (cat, name, zh, price) in enumerate(_APPAREL):
        specs = _SHIRT_SIZES[: 2 + i % 3] if cat == "shirts" else _SCARF_COLOURS[: 1 + i % 3]
        out.append(DemoProduct("silkroad", cat, name, zh, price, specs))
    return out


_STORIES = {
    "tea": ("Picked and finished by hand in small batches, then sealed the same week.",
            ["**Brew** at 80-95 °C for 1-3 minutes", "*Re-steep* three or four times", "Keep cool, dry and dark"]),
    "noodles": ("Made the traditional way and dried slowly, so the noodles keep their bite.",
                ["**Cook** 3-6 minutes in plenty of boiling water", "Seasoning packet included",
                 "*Best before*: 12 months from packing"]),
    "condiments": ("Small-batch seasoning from the family kitchen that supplies our noodle bar.",
                   ["**Use** a spoonful with noodles, dumplings or rice", "Refrigerate after opening"]),
    "apparel": ("Cut and sewn in our Hangzhou workshop from natural fibres.",
                ["**Care**: hand wash cold, dry flat", "*Fit*: true to size", "Ships folded in a cloth bag"]),
}


def _description(product: DemoProduct, root: str) -> str:
    story, bullets = _STORIES[root]
    return (f"**{product.name}** ({product.name_zh_hans}). {story}\n\n"
            + "\n".join(f"- {line}" for line in bullets)
            + f"\n\n{product.name_zh_hans}：精选好物，产地直发。")  # noqa: RUF001  Chinese punctuation on purpose


# --- pictures ---------------------------------------------------------------------------
_CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
_LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@cache
def _font(size: int, cjk: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = _CJK_FONT if cjk and _CJK_FONT.exists() else _LATIN_FONT
    try:
        return ImageFont.truetype(str(path), size, index=2 if path == _CJK_FONT else 0)  # index 2: the SC face
    except OSError:
        return ImageFont.load_default(size=size)


def _initials(name: str) -> str:
    words = [w for w in name.replace("-", " ").split() if w[:1].isalpha()]
    return "".join(w[0].upper() for w in words[:2]) or name[:2].upper()


def demo_picture(name: str, name_zh_hans: str, *, variant: int = 0, size: int = 480) -> bytes:
    """A JPEG tile unique to the product: colour from a hash of its name, initials and names drawn on it."""
    digest = hashlib.sha256(f"{name}|{variant}".encode()).digest()
    r, g, b = colorsys.hls_to_rgb(digest[0] / 255, 0.42 + 0.1 * variant, 0.45 + digest[1] / 1275)
    image = Image.new("RGB", (size, size), (int(r * 255), int(g * 255), int(b * 255)))
    draw = ImageDraw.Draw(image)
    if variant:  # the second picture of the gallery: a ring and the Chinese name large
        draw.ellipse((size * 0.12, size * 0.12, size * 0.88, size * 0.88), outline="white", width=10)
        draw.text((size / 2, size / 2), name_zh_hans[:4], fill="white", anchor="mm", font=_font(size // 7, True))
    else:
        draw.text((size / 2, size * 0.42), _initials(name), fill="white", anchor="mm", font=_font(size // 3, False))
        draw.text((size / 2, size * 0.72), name[:28], fill="white", anchor="mm", font=_font(size // 18, False))
        draw.text((size / 2, size * 0.82), name_zh_hans[:14], fill="white", anchor="mm", font=_font(size // 16, True))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


# --- seeding ----------------------------------------------------------------------------
def seed_demo_levels() -> dict[str, MemberLevel]:
    """Member levels are master data kept by admins (no service writes them): create them directly."""
    levels = {}
    for code, name, zh, rank, spend in DEMO_LEVELS:
        levels[code], _ = MemberLevel.objects.get_or_create(
            code=code, defaults={"name": name, "name_zh_hans": zh, "rank": rank,
                                 "min_cumulative_spend_minor": spend, "currency": "CNY"})
    return levels


def _seed_categories() -> dict[str, Category]:
    made: dict[str, Category] = {}
    for position, (slug, name, zh, parent) in enumerate(DEMO_CATEGORIES):
        made[slug] = catalog.category_create(name=name, name_zh_hans=zh, slug=slug, position=position,
                                             parent=made[parent] if parent else None)
    return made


def _root_of(slug: str) -> str:
    parent = {s: p for s, _, _, p in DEMO_CATEGORIES}
    while parent.get(slug):
        slug = parent[slug]
    return slug


def _stock_plan(index: int, variant_index: int) -> tuple[int, int]:
    """(units to receive, low-stock threshold): mostly plenty, some low, two products sold out."""
    if index in (7, 29):
        return 0, 3  # sold out: the threshold makes an alert too
    if index % 6 == 2 and variant_index == 0:
        return 2 + index % 3, 5  # low: at or under the threshold
    return 20 + (index * 37 + variant_index * 11) % 180, 5


def _seed_product(index: int, spec: DemoProduct, merchant: Merchant, category: Category) -> None:
    product = catalog.product_create(merchant=merchant, category=category, name=spec.name,
                                     name_zh_hans=spec.name_zh_hans,
                                     description=_description(spec, _root_of(spec.category)))
    for v, specs in enumerate(spec.specs):
        price = spec.base_price + v * (spec.base_price // 2 if "weight" in specs else 500 if "pack" in specs else 0)
        level_prices = ({"silver": Money(price * 95 // 100, "CNY"), "gold": Money(price * 90 // 100, "CNY")}
                        if index % 3 == 0 else None)
        variant = catalog.variant_create(product=product, sku=f"{merchant.code.upper()}-{index:03d}-{v + 1}",
                                         price=Money(price, "CNY"), specs=specs, level_prices=level_prices)
        receive, threshold = _stock_plan(index, v)
        if receive:
            stock_receive(variant_id=variant.pk, quantity=receive, reference_type="demo", note="opening stock")
        stock_threshold_set(variant_id=variant.pk, threshold=threshold)
    for picture in range(1 + index % 2):
        catalog.product_image_add(product=product, data=demo_picture(spec.name, spec.name_zh_hans, variant=picture),
                                  alt_text=spec.name)
    catalog.product_publish(product=product)
    if index % 4:
        catalog.product_sales_record(product_id=product.pk, quantity=(index * 53) % 400 + 1)


@transaction.atomic
def seed_demo_catalog() -> bool:
    """Categories, 54 published products with pictures and stock, plus one draft; False if present."""
    if Category.objects.filter(slug="tea").exists():
        return False
    categories = _seed_categories()
    merchants = {m.code: m for m in Merchant.objects.filter(code__in={p.merchant for p in demo_products()})}
    for index, spec in enumerate(demo_products()):
        _seed_product(index, spec, merchants[spec.merchant], categories[spec.category])
    draft = catalog.product_create(merchant=merchants["teahouse"], category=categories["green-tea"],
                                   name="Spring 2027 Longjing (coming soon)", name_zh_hans="2027 明前龙井（即将上架）")  # noqa: RUF001  Chinese punctuation on purpose
    catalog.variant_create(product=draft, sku="TEAHOUSE-DRAFT-1", price=Money(29800, "CNY"), specs={"weight": "50 g"})
    return True


@transaction.atomic
def seed_demo_customers() -> bool:
    """Member levels and customers at each level with addresses and points; False if present."""
    levels = seed_demo_levels()
    created = False
    for username, display_name, phone, spend, points, address in DEMO_CUSTOMERS:
        user = User.objects.get(username=username)
        profile = customers.customer_profile_ensure(user=user)
        if profile.addresses.exists():
            continue
        created = True
        customers.customer_profile_update(customer=profile, display_name=display_name, phone=phone)
        recipient, region, city, line, postal_code = address
        customers.address_create(customer=profile, recipient=recipient, phone=phone, region=region, city=city,
                                 line=line, postal_code=postal_code, is_default=True)
        customers.customer_spend_record(customer=profile, amount=Money.parse(spend, "CNY"),
                                        order_reference=f"DEMO-SPEND-{username}")
        customers.points_adjust(customer=profile, delta=points, note="Welcome points (demo)")
    assert {lvl.code for lvl in levels.values()} == {code for code, *_ in DEMO_LEVELS}
    return created


def seed_demo_coupons() -> bool:
    """One merchant-funded and one platform-funded demo coupon, through the orders services.

    The orders app was built in parallel with the shop: this does nothing
    unless it is installed with a Coupon model and `coupon_create`.
    """
    if not apps.is_installed("clearhouse.orders"):
        return False
    from clearhouse.orders import models as order_models

    if not hasattr(order_models, "Coupon"):
        return False
    from clearhouse.orders import services as order_services

    coupon_create = getattr(order_services, "coupon_create", None)
    if coupon_create is None or order_models.Coupon.objects.filter(code__startswith="DEMO").exists():
        return False
    teahouse = Merchant.objects.get(code="teahouse")
    coupon_create(code="DEMOTEA10", merchant=teahouse, percent_off=Decimal("10"), min_spend=Money(10000, "CNY"))
    coupon_create(code="DEMOWELCOME20", amount_off=Money(2000, "CNY"), min_spend=Money(15000, "CNY"))
    return True
