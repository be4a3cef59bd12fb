"""The shopper's journey in a real browser on a phone-sized screen.

Search, filter by category, open a product (picture and specs), switch to
简体中文. The cart, coupon, checkout and "my orders" steps of issue 3 join
`test_a_shopper_finds_a_product_on_a_phone` as further steps once the orders
app lands (see the TODO at its end).
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.support import phone_page, screenshot
from tests.web.support import small_shop

pytestmark = pytest.mark.django_db(transaction=True)


def _search(page, base: str, text: str) -> None:
    page.goto(f"{base}/shop/")
    page.fill("input[name=q]", text)
    page.click("form[role=search] button[type=submit] >> nth=0")
    page.wait_for_load_state()


def test_a_shopper_finds_a_product_on_a_phone(live_server, merchant, other_merchant):
    shop = small_shop(merchant, other_merchant)
    base = live_server.url
    with phone_page() as page:
        page.goto(f"{base}/shop/")
        assert page.locator(".tile").count() == 3  # published only: the draft is not listed
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        screenshot(page, "storefront-grid.png")

        _search(page, base, "west lake")
        names = page.locator(".tile .name").all_inner_texts()
        assert sorted(names) == ["West Lake Longjing", "West Lake Silk Scarf"]

        filters = page.locator("details.filters")
        if not filters.evaluate("d => d.open"):
            page.click("details.filters summary")
        page.select_option("select[name=category]", str(shop.tea.pk))  # Tea includes Green tea below it
        page.click("details.filters button[type=submit]")
        page.wait_for_load_state()
        assert page.locator(".tile .name").all_inner_texts() == ["West Lake Longjing"]
        screenshot(page, "storefront-filtered.png")

        page.click(".tile")
        page.wait_for_url(re.compile(rf"/shop/p/{shop.longjing.pk}/"))
        image = page.locator("#main-image")
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")  # the picture really loaded
        assert page.locator(".thumbs img").count() == 2
        assert page.locator(".specs dd").all_inner_texts() == ["50 g", "100 g"]
        assert "¥168.00" in page.inner_text(".offer >> nth=0")
        screenshot(page, "storefront-product.png")

        page.select_option("select[name=language]", "zh-hans")
        page.wait_for_load_state()
        page.wait_for_selector("h1:has-text('西湖龙井')")
        body = page.inner_text("body")
        assert "加入购物车" in body and "重量" in body and "有货" in body
        screenshot(page, "storefront.png")
        # TODO(orders): add to cart, apply a coupon, check out with an address, see the order in "my orders".
