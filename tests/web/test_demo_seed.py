"""The demo shop: enough catalog, stock alerts, levels and customers to show off; seeding twice is a no-op."""

from __future__ import annotations

import pytest

from clearhouse.catalog.models import Category, Product, ProductImage
from clearhouse.customers.models import CustomerProfile
from clearhouse.inventory.models import LowStockAlert
from clearhouse.inventory.selectors import available_of
from clearhouse.web.demo import seed_demo


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_the_demo_seeds_a_shop_once(db):
    assert seed_demo() is True
    published = Product.objects.filter(status="published")
    assert published.count() >= 50
    assert published.values("merchant").distinct().count() == 3
    assert Category.objects.filter(parent__isnull=False).exists()
    assert all(p.name_zh_hans and p.description for p in published)
    assert ProductImage.objects.exclude(thumbnail="").values("product").distinct().count() == published.count()
    assert LowStockAlert.objects.filter(resolved_at__isnull=True).values("merchant").distinct().count() >= 2
    variant_ids = [v for p in published for v in p.variants.values_list("pk", flat=True)]
    sold_out = [pk for pk, available in available_of(variant_ids=variant_ids).items() if available == 0]
    assert sold_out
    levels = set(CustomerProfile.objects.values_list("member_level__code", flat=True))
    assert {"regular", "silver", "gold"} <= levels
    from clearhouse.orders.models import Coupon

    assert Coupon.objects.filter(merchant__isnull=False).exists()  # merchant-funded
    assert Coupon.objects.filter(merchant__isnull=True).exists()  # platform-funded

    assert seed_demo() is False
    assert Product.objects.filter(status="published").count() == published.count()
