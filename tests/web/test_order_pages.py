"""Cart, checkout, my orders and the merchant's order desk: status codes, isolation, refusals that change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import user_create
from clearhouse.core.money import Money
from clearhouse.customers.services import customer_profile_ensure
from clearhouse.inventory.selectors import stock_get
from clearhouse.orders import services as order_services
from clearhouse.orders.models import Coupon, Order
from clearhouse.orders.selectors import cart_view
from clearhouse.orders.services import (
    ShippingAddress,
    cart_line_add,
    checkout_submit,
    coupon_create,
    order_mark_paid,
)
from tests.web.support import small_shop

ADDRESS = {"address": "new", "recipient": "Lin Mei", "phone": "13800138000", "region": "Zhejiang",
           "city": "Hangzhou", "line": "1 Longjing Road", "postal_code": "310000"}


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def shop(merchant, other_merchant):
    return small_shop(merchant, other_merchant)


@pytest.fixture
def coupons(merchant):
    coupon_create(code="TEA10", merchant=merchant, percent_off=Decimal("10"), min_spend=Money(10000, "CNY"))
    coupon_create(code="WELCOME20", amount_off=Money(2000, "CNY"), min_spend=Money(15000, "CNY"))


def _variant(product):
    return product.variants.order_by("id").first()


def _order_for(user, product, quantity=1) -> Order:
    customer = customer_profile_ensure(user=user)
    cart_line_add(customer=customer, variant_id=_variant(product).pk, quantity=quantity)
    group = checkout_submit(customer=customer, address=ShippingAddress(
        recipient="Lin Mei", phone="13800138000", region="Zhejiang", city="Hangzhou", line="1 Longjing Road"))
    return group.orders.get()


def _staff(merchant, username="desk"):
    return user_create(username=username, password="x-staff-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant)


def test_customer_pages_ask_for_sign_in(client):
    for url in ("/cart/", "/checkout/", "/orders/", "/orders/SO-1/"):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), url


def test_an_empty_cart_says_so(client, customer_user):
    client.force_login(customer_user)
    r = client.get("/cart/")
    assert r.status_code == 200 and "Your cart is empty." in r.content.decode()
    assert 'href="/cart/"' in r.content.decode() and 'href="/orders/"' in r.content.decode()  # header links


def test_the_cart_changes_quantity_and_removes_lines(client, shop, customer_user):
    client.force_login(customer_user)
    customer = customer_profile_ensure(user=customer_user)
    line = cart_line_add(customer=customer, variant_id=_variant(shop.longjing).pk, quantity=1)
    r = client.get("/cart/")
    assert r.status_code == 200 and "¥168.00" in r.content.decode()
    r = client.post(f"/cart/{line.pk}/quantity/", {"quantity": 2}, follow=True)
    assert "¥336.00" in r.content.decode()
    r = client.post(f"/cart/{line.pk}/quantity/", {"quantity": 50}, follow=True)  # 20 in stock
    assert "Not enough stock" in r.content.decode()
    assert cart_view(customer=customer).lines[0].quantity == 2  # unchanged
    r = client.post(f"/cart/{line.pk}/remove/", follow=True)
    assert "Your cart is empty." in r.content.decode()


def test_another_customers_cart_line_is_not_found(client, shop, customer_user, other_customer_user):
    other = customer_profile_ensure(user=other_customer_user)
    line = cart_line_add(customer=other, variant_id=_variant(shop.longjing).pk, quantity=1)
    client.force_login(customer_user)
    r = client.post(f"/cart/{line.pk}/remove/", follow=True)
    assert r.status_code == 200 and "Removed" not in r.content.decode()
    assert len(cart_view(customer=other).lines) == 1


def test_checkout_previews_then_places_the_order_with_coupons(client, shop, customer_user, coupons):
    client.force_login(customer_user)
    customer = customer_profile_ensure(user=customer_user)
    cart_line_add(customer=customer, variant_id=_variant(shop.longjing).pk, quantity=1)
    assert client.get("/checkout/").status_code == 200
    form = {**ADDRESS, "merchant_coupons": "tea10", "platform_coupon": "WELCOME20", "points": "0"}
    r = client.post("/checkout/", {**form, "action": "preview"})
    summary = r.context["summary"]
    assert summary.merchant_coupon == Money(1680, "CNY") and summary.platform_coupon == Money(2000, "CNY")
    assert Order.objects.count() == 0 and len(cart_view(customer=customer).lines) == 1  # a preview writes nothing
    assert stock_get(variant_id=_variant(shop.longjing).pk).reserved == 0
    r = client.post("/checkout/", {**form, "action": "submit"}, follow=True)
    order = Order.objects.get()
    assert r.redirect_chain[-1][0] == f"/pay/{order.number}/"  # on to paying
    assert "¥16.80" in r.content.decode() and "¥20.00" in r.content.decode()
    text = client.get(f"/orders/{order.number}/").content.decode()
    assert "¥16.80" in text and "¥20.00" in text and "Status timeline" in text and "Submitted" in text
    assert order.merchant_coupon_amount_minor == 1680 and order.platform_coupon_amount_minor == 2000
    assert cart_view(customer=customer).lines == []
    r = client.get("/orders/")
    assert order.number in r.content.decode()


def test_a_coupon_below_its_minimum_spend_is_refused_and_nothing_changes(client, shop, customer_user, coupons):
    client.force_login(customer_user)
    customer = customer_profile_ensure(user=customer_user)
    cart_line_add(customer=customer, variant_id=_variant(shop.keemun).pk, quantity=1)  # ¥88 < ¥100
    r = client.post("/checkout/", {**ADDRESS, "merchant_coupons": "TEA10", "action": "submit"})
    assert r.status_code == 200
    assert "minimum spend" in r.content.decode()
    assert Order.objects.count() == 0 and len(cart_view(customer=customer).lines) == 1
    assert Coupon.objects.get(code="TEA10").used_count == 0
    r = client.post("/checkout/", {**ADDRESS, "merchant_coupons": "NOPE", "action": "submit"})
    assert "There is no coupon with that code." in r.content.decode()


def test_not_enough_stock_at_checkout_is_refused_and_nothing_changes(client, shop, customer_user,
                                                                      other_customer_user):
    client.force_login(customer_user)
    customer = customer_profile_ensure(user=customer_user)
    variant = _variant(shop.keemun)  # 2 in stock
    cart_line_add(customer=customer, variant_id=variant.pk, quantity=2)
    _order_for(other_customer_user, shop.keemun)  # someone else takes one
    assert "Only 1 available" in client.get("/cart/").content.decode()
    r = client.post("/checkout/", {**ADDRESS, "action": "submit"})
    assert "Not enough stock" in r.content.decode()
    assert Order.objects.filter(customer=customer).count() == 0
    assert len(cart_view(customer=customer).lines) == 1
    assert stock_get(variant_id=variant.pk).reserved == 1


def test_a_new_address_needs_its_fields(client, shop, customer_user):
    client.force_login(customer_user)
    cart_line_add(customer=customer_profile_ensure(user=customer_user), variant_id=_variant(shop.longjing).pk,
                  quantity=1)
    r = client.post("/checkout/", {**ADDRESS, "recipient": "", "action": "submit"})
    assert r.status_code == 200 and Order.objects.count() == 0
    assert "recipient" in r.content.decode()


def test_another_customers_order_is_a_404(client, shop, customer_user, other_customer_user):
    order = _order_for(other_customer_user, shop.longjing)
    client.force_login(customer_user)
    assert client.get(f"/orders/{order.number}/").status_code == 404
    assert order.number not in client.get("/orders/").content.decode()
    client.force_login(other_customer_user)
    r = client.get(f"/orders/{order.number}/")
    assert r.status_code == 200 and "West Lake Longjing" in r.content.decode()


def test_merchant_staff_approve_ship_and_deliver_their_orders(client, shop, merchant, customer_user):
    order = _order_for(customer_user, shop.longjing)
    client.force_login(_staff(merchant))
    r = client.get("/merchant/orders/")
    assert r.status_code == 200 and order.number in r.content.decode()
    r = client.post(f"/merchant/orders/{order.number}/action/", {"action": "approve"}, follow=True)
    assert f"Order {order.number} approved." in r.content.decode()
    order_mark_paid(order=Order.objects.get(pk=order.pk))
    r = client.post(f"/merchant/orders/{order.number}/action/", {"action": "ship", "carrier": "SF Express"},
                    follow=True)
    assert "Enter the carrier and the tracking number." in r.content.decode()
    client.post(f"/merchant/orders/{order.number}/action/",
                {"action": "ship", "carrier": "SF Express", "tracking_number": "SF123"})
    client.post(f"/merchant/orders/{order.number}/action/", {"action": "deliver", "signed_by": "Lin Mei",
                                                              "back": "order"})
    order.refresh_from_db()
    assert order.status == "delivered" and order.tracking_number == "SF123"
    r = client.get(f"/merchant/orders/{order.number}/")
    assert r.status_code == 200 and "SF123" in r.content.decode()
    assert [c.to_status for c in r.context["timeline"]] == ["submitted", "approved", "paid", "shipped", "delivered"]


def test_an_order_step_out_of_turn_is_refused(client, shop, merchant, customer_user):
    order = _order_for(customer_user, shop.longjing)
    client.force_login(_staff(merchant))
    r = client.post(f"/merchant/orders/{order.number}/action/",
                    {"action": "ship", "carrier": "SF", "tracking_number": "1"}, follow=True)
    assert "The order is not in a state that allows this." in r.content.decode()
    order.refresh_from_db()
    assert order.status == "submitted"


def test_another_merchants_order_is_a_404(client, shop, merchant, other_merchant, customer_user):
    order = _order_for(customer_user, shop.longjing)
    client.force_login(_staff(other_merchant, "other"))
    assert client.get(f"/merchant/orders/{order.number}/").status_code == 404
    assert client.post(f"/merchant/orders/{order.number}/action/", {"action": "approve"}).status_code == 404
    assert order.number not in client.get("/merchant/orders/").content.decode()
    order.refresh_from_db()
    assert order.status == "submitted"


def test_customers_cannot_open_the_order_desk_and_staff_have_no_cart(client, merchant, customer_user):
    client.force_login(customer_user)
    assert client.get("/merchant/orders/").status_code == 403
    client.force_login(_staff(merchant))
    assert client.get("/cart/").status_code == 403


def test_a_customer_cancels_their_order_and_its_stock_comes_back(client, shop, customer_user, other_customer_user):
    order = _order_for(customer_user, shop.longjing, quantity=2)
    variant = _variant(shop.longjing)
    held = stock_get(variant_id=variant.pk).reserved
    client.force_login(other_customer_user)
    assert client.post(f"/orders/{order.number}/cancel/").status_code == 404
    client.force_login(customer_user)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "Cancel order" in page
    r = client.post(f"/orders/{order.number}/cancel/", follow=True)
    assert f"Order {order.number} cancelled." in r.content.decode()
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert stock_get(variant_id=variant.pk).reserved == held - 2
    assert "Cancel order" not in client.get(f"/orders/{order.number}/").content.decode()


def test_merchant_staff_cancel_from_the_order_page_but_not_after_shipping(client, shop, merchant, customer_user):
    order = _order_for(customer_user, shop.longjing)
    client.force_login(_staff(merchant))
    assert "Cancel order" in client.get(f"/merchant/orders/{order.number}/").content.decode()
    r = client.post(f"/merchant/orders/{order.number}/action/", {"action": "cancel", "back": "order"}, follow=True)
    assert f"Order {order.number} cancelled" in r.content.decode()
    order.refresh_from_db()
    assert order.status == "cancelled"
    shipped = _order_for(customer_user, shop.longjing)
    order_services.order_approve(order=shipped)
    order_mark_paid(order=Order.objects.get(pk=shipped.pk))
    order_services.order_ship(order=Order.objects.get(pk=shipped.pk), carrier="SF", tracking_number="1")
    r = client.post(f"/merchant/orders/{shipped.number}/action/", {"action": "cancel", "back": "order"}, follow=True)
    shipped.refresh_from_db()
    assert shipped.status == "shipped"
    assert "Cancel order" not in r.content.decode()
