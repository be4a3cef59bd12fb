"""Order fixtures: two merchants' SKUs in stock, a customer with points, coupons of both kinds."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from clearhouse.core.money import Money
from clearhouse.customers.services import points_adjust
from clearhouse.orders.services import coupon_create
from tests.catalog.support import make_category, make_product, only_variant


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def tea(db):
    return make_category("Tea", name_zh_hans="茶")


@pytest.fixture
def longjing(merchant, tea):
    """The tea house's SKU at 100.00, 10 in stock."""
    return only_variant(make_product(merchant, tea, "Longjing", sku="TEA-1", price="100.00", stock=10))


@pytest.fixture
def sencha(merchant, tea):
    """The tea house's SKU at 33.33, 10 in stock."""
    return only_variant(make_product(merchant, tea, "Sencha", sku="TEA-2", price="33.33", stock=10))


@pytest.fixture
def noodles(other_merchant, tea):
    """The noodle bar's SKU at 19.99, 10 in stock."""
    return only_variant(make_product(other_merchant, tea, "Noodles", sku="NOODLE-1", price="19.99", stock=10))


@pytest.fixture
def rich_customer(customer):
    """Lin with 5,000 points (worth 50.00)."""
    points_adjust(customer=customer, delta=5000, note="welcome gift")
    return customer


@pytest.fixture
def platform_10pct(db):
    """10% off the whole cart, from 50.00 of spend."""
    return coupon_create(code="PLAT10", percent_off=Decimal("10"), currency="CNY", min_spend=Money(5000, "CNY"))


@pytest.fixture
def teahouse_fixed(merchant):
    """7.77 off the tea house's lines, from 100.00 of them; two uses in all, one per customer."""
    return coupon_create(code="TEA777", merchant=merchant, amount_off=Money(777, "CNY"),
                         min_spend=Money(10000, "CNY"), total_limit=2, per_customer_limit=1)


@pytest.fixture
def expired_coupon(db):
    now = timezone.now()
    return coupon_create(code="OLD", percent_off=Decimal("5"), currency="CNY", valid_from=now - timedelta(days=10),
                         valid_to=now - timedelta(days=1))
