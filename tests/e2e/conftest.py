"""Browser tests: Playwright for Python driving Debian's chromium (never `playwright install`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.support import CHROMIUM


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run does)")
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
