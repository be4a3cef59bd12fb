"""Catalog fixtures: pictures are written to a per-test media folder."""

import pytest

from tests.catalog.support import make_category


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def tea(db):
    return make_category("Tea", name_zh_hans="茶")
