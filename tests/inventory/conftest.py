"""Inventory fixtures: SKUs of the merchant's tea shop, with or without stock."""

import pytest

from tests.catalog.support import make_category, make_product, only_variant


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def tea(db):
    return make_category("Tea", name_zh_hans="茶")


@pytest.fixture
def sku(merchant, tea):
    """A published SKU with no stock yet."""
    return only_variant(make_product(merchant, tea, "Longjing", sku="TEA-1"))


@pytest.fixture
def sku2(merchant, tea):
    return only_variant(make_product(merchant, tea, "Sencha", sku="TEA-2"))


@pytest.fixture
def their_sku(other_merchant, tea):
    return only_variant(make_product(other_merchant, tea, "Noodles", sku="NOODLE-1"))
