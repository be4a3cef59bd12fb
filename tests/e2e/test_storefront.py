"""The shopper's journey in a real browser on a phone-sized screen.

Search, filter by category, open a product (picture and specs), switch to
简体中文; then sign in, add to cart, apply a shop coupon, check out with an
address and find the order with its status timeline in "my orders".
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import user_create
from clearhouse.core.money import Money
from clearhouse.orders.services import coupon_create
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
    user_create(username="meili", password="x-meili-pass-1", role=Role.CUSTOMER)
    coupon_create(code="TEA10", merchant=merchant, percent_off=Decimal("10"), min_spend=Money(10000, "CNY"))
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

        _checkout_and_find_the_order(page, base)


def _checkout_and_find_the_order(page, base: str) -> None:
    """Signed in (the page is in 简体中文 now): cart, coupon, checkout, my orders."""
    page.goto(f"{base}/accounts/login/?next=/shop/")
    page.fill("input[name=username]", "meili")
    page.fill("input[name=password]", "x-meili-pass-1")
    page.click("form button[type=submit] >> nth=-1")
    page.wait_for_url(re.compile(r"/shop/$"))

    _search(page, base, "龙井")
    page.click(".tile")
    page.wait_for_url(re.compile(r"/shop/p/\d+/"))
    page.click(".offer >> nth=0 >> button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".messages li.success").count() == 1

    page.click("#nav-cart")
    page.wait_for_url(re.compile(r"/cart/$"))
    assert page.locator(".cart-line").count() == 1
    assert page.inner_text("#cart-subtotal") == "¥168.00"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "cart.png")

    page.click("#to-checkout")
    page.wait_for_url(re.compile(r"/checkout/$"))
    for name, value in (("recipient", "林美"), ("phone", "13800138000"), ("region", "浙江省"), ("city", "杭州市"),
                        ("line", "西湖区龙井路 1 号"), ("merchant_coupons", "tea10")):
        page.fill(f"input[name={name}]", value)
    page.click("#preview")
    page.wait_for_selector("#summary")
    summary = page.inner_text("#summary")
    assert "\u2212¥16.80" in summary and "¥151.20" in summary  # 10% off ¥168, no shipping fee set
    screenshot(page, "checkout.png")

    page.click("#place-order")
    page.wait_for_url(re.compile(r"/pay/SO[\w-]+/$"))  # on to paying; the order page is one link away
    assert page.locator(".messages li.success").count() == 1
    page.click("a[href^='/orders/SO']")
    page.wait_for_url(re.compile(r"/orders/SO[\w-]+/$"))
    timeline = page.locator(".timeline li").all_inner_texts()
    assert len(timeline) == 1 and "已提交" in timeline[0]
    assert "\u2212¥16.80" in page.inner_text(".totals")
    screenshot(page, "order.png")

    page.click("#nav-orders")
    page.wait_for_url(re.compile(r"/orders/$"))
    rows = page.locator(".order-row")
    assert rows.count() == 1 and "已提交" in rows.inner_text() and "¥151.20" in rows.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "my-orders.png")
