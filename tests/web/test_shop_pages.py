"""Storefront and merchant pages: filters, published-only reads, member prices, merchant isolation."""

from __future__ import annotations

import pytest

from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import user_create
from clearhouse.core.money import Money
from clearhouse.customers.services import customer_profile_ensure, customer_spend_record
from clearhouse.inventory.selectors import stock_get
from tests.web.support import small_shop


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def shop(merchant, other_merchant):
    return small_shop(merchant, other_merchant)


def _names(response) -> list[str]:
    return sorted(card.product.name for card in response.context["cards"])


def _staff(merchant, username="staff"):
    return user_create(username=username, password="x-staff-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant)


def test_the_catalog_lists_published_products_only(client, shop):
    r = client.get("/shop/")
    assert r.status_code == 200
    assert _names(r) == ["Keemun Black", "West Lake Longjing", "West Lake Silk Scarf"]
    assert b"Secret Spring Tea" not in r.content


def test_search_matches_english_and_chinese_names(client, shop):
    assert _names(client.get("/shop/", {"q": "longjing"})) == ["West Lake Longjing"]
    assert _names(client.get("/shop/", {"q": "祁门"})) == ["Keemun Black"]


def test_a_category_filter_includes_its_descendants(client, shop):
    assert _names(client.get("/shop/", {"category": shop.tea.pk})) == ["Keemun Black", "West Lake Longjing"]
    assert _names(client.get("/shop/", {"category": shop.black.pk})) == ["Keemun Black"]


def test_price_range_in_stock_and_merchant_filters(client, shop, other_merchant):
    assert _names(client.get("/shop/", {"price_min": "100", "price_max": "180"})) == ["West Lake Longjing"]
    assert "West Lake Silk Scarf" not in _names(client.get("/shop/", {"in_stock": "on"}))
    assert _names(client.get("/shop/", {"merchant": other_merchant.pk})) == ["West Lake Silk Scarf"]


def test_sorting_by_price(client, shop):
    r = client.get("/shop/", {"sort": "price_desc"})
    assert [c.product.name for c in r.context["cards"]] == ["West Lake Silk Scarf", "West Lake Longjing",
                                                            "Keemun Black"]


def test_bad_filter_input_is_a_form_error_not_a_500(client, shop):
    r = client.get("/shop/", {"price_min": "abc", "category": "999999", "sort": "nonsense", "page": "x"})
    assert r.status_code == 200
    assert r.context["form"].errors


def test_the_product_page_shows_pictures_specs_prices_and_stock(client, shop):
    r = client.get(f"/shop/p/{shop.longjing.pk}/")
    assert r.status_code == 200
    text = r.content.decode()
    assert text.count('class="thumbs"') == 1 and "/media/catalog/" in text
    assert "¥168.00" in text and "50 g" in text and "100 g" in text
    assert 'action="/shop/cart/add/"' in text
    picture = r.context["picture"]
    assert client.get(picture.image.url).status_code == 200  # media really served


def test_sold_out_and_few_left_are_shown(client, shop):
    assert "Sold out" in client.get(f"/shop/p/{shop.scarf.pk}/").content.decode()
    assert "Only 2 left" in client.get(f"/shop/p/{shop.keemun.pk}/").content.decode()


def test_a_signed_in_gold_member_sees_the_member_price(client, shop, customer_user, member_levels):
    customer_spend_record(customer=customer_profile_ensure(user=customer_user), amount=Money(600000, "CNY"),
                          order_reference="T-1")
    client.force_login(customer_user)
    text = client.get(f"/shop/p/{shop.longjing.pk}/").content.decode()
    assert "¥151.20" in text and "Member price" in text


def test_an_unpublished_product_is_a_404_for_shoppers_and_other_merchants(client, shop, other_merchant):
    assert client.get(f"/shop/p/{shop.draft.pk}/").status_code == 404
    client.force_login(_staff(other_merchant))
    assert client.get(f"/shop/p/{shop.draft.pk}/").status_code == 404
    assert client.get(f"/shop/p/{shop.longjing.pk}/").status_code == 200  # another's published product is public


def test_merchant_staff_preview_their_own_draft(client, shop, merchant):
    client.force_login(_staff(merchant))
    r = client.get(f"/shop/p/{shop.draft.pk}/")
    assert r.status_code == 200 and "Not published" in r.content.decode()


def test_the_shop_is_in_simplified_chinese(client, shop):
    text = client.get(f"/shop/p/{shop.longjing.pk}/", headers={"Accept-Language": "zh-Hans"}).content.decode()
    assert "西湖龙井" in text and "加入购物车" in text and "重量" in text


def test_add_to_cart_asks_an_anonymous_shopper_to_sign_in(client, shop):
    variant = shop.longjing.variants.first()
    r = client.post("/shop/cart/add/", {"variant_id": variant.pk, "quantity": 1,
                                        "next": f"/shop/p/{shop.longjing.pk}/"})
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


def test_a_customer_adds_a_variant_to_the_cart(client, shop, customer_user):
    variant = shop.longjing.variants.first()
    client.force_login(customer_user)
    r = client.post("/shop/cart/add/", {"variant_id": variant.pk, "quantity": 2,
                                        "next": f"/shop/p/{shop.longjing.pk}/"}, follow=True)
    assert r.redirect_chain[-1][0] == f"/shop/p/{shop.longjing.pk}/"
    assert "Added to your cart." in r.content.decode()


def test_adding_more_than_is_in_stock_is_refused_with_a_message(client, shop, customer_user):
    variant = shop.keemun.variants.get()
    client.force_login(customer_user)
    r = client.post("/shop/cart/add/", {"variant_id": variant.pk, "quantity": 3}, follow=True)
    assert "Added to your cart." not in r.content.decode()
    assert r.context["messages"]


def test_add_to_cart_never_redirects_off_site(client, shop):
    r = client.post("/shop/cart/add/", {"variant_id": 1, "quantity": 1, "next": "https://evil.example/"})
    assert "evil" not in r["Location"]


# --- merchant pages ------------------------------------------------------------------------
def test_merchant_pages_need_a_signed_in_merchant_user(client, shop, customer_user):
    assert client.get("/merchant/stock/").status_code == 302
    client.force_login(customer_user)
    assert client.get("/merchant/stock/").status_code == 403
    assert client.get("/merchant/low-stock/").status_code == 403


def test_merchant_staff_see_only_their_own_stock(client, shop, merchant):
    client.force_login(_staff(merchant))
    r = client.get("/merchant/stock/")
    assert r.status_code == 200
    skus = {level.sku for _, level in r.context["rows"]}
    assert skus == {v.sku for p in (shop.longjing, shop.keemun, shop.draft) for v in p.variants.all()}


def test_merchant_staff_see_only_their_own_low_stock_alerts(client, shop, merchant, other_merchant):
    client.force_login(_staff(merchant))
    alerts = client.get("/merchant/low-stock/").context["alerts"]
    assert [a.variant.product.name for a, _ in alerts] == ["Keemun Black"]
    client.force_login(_staff(other_merchant, "other"))
    alerts = client.get("/merchant/low-stock/").context["alerts"]
    assert [a.variant.product.name for a, _ in alerts] == ["West Lake Silk Scarf"]


def test_receiving_stock_adds_units_and_clears_the_alert(client, shop, merchant):
    client.force_login(_staff(merchant))
    variant = shop.keemun.variants.get()
    r = client.post("/merchant/stock/", {"variant_id": variant.pk, "quantity": 10, "note": "delivery"}, follow=True)
    assert "Received 10 units" in r.content.decode()
    level = stock_get(variant_id=variant.pk)
    assert (level.on_hand, level.low_stock) == (12, False)
    assert client.get("/merchant/low-stock/").context["alerts"] == []


def test_a_merchant_cannot_receive_stock_for_another_merchants_sku(client, shop, merchant):
    client.force_login(_staff(merchant))
    scarf = shop.scarf.variants.get()
    r = client.post("/merchant/stock/", {"variant_id": scarf.pk, "quantity": 5}, follow=True)
    assert r.status_code == 200
    assert stock_get(variant_id=scarf.pk).on_hand == 0


def test_a_zero_quantity_is_refused(client, shop, merchant):
    client.force_login(_staff(merchant))
    variant = shop.keemun.variants.get()
    r = client.post("/merchant/stock/", {"variant_id": variant.pk, "quantity": 0}, follow=True)
    assert "whole number" in r.content.decode()
    assert stock_get(variant_id=variant.pk).on_hand == 2
