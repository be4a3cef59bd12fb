"""The cart: add, change quantity, remove, each checked against the stock available now."""

from __future__ import annotations

import pytest

from clearhouse.catalog.services import product_unpublish
from clearhouse.core.errors import DomainError
from clearhouse.orders.selectors import cart_view
from clearhouse.orders.services import cart_clear, cart_line_add, cart_line_remove, cart_line_set_quantity
from tests.orders.support import world


def _lines(customer):
    return [(ln.variant.sku, ln.quantity) for ln in cart_view(customer=customer).lines]


def test_adding_a_sku_twice_adds_to_its_quantity(customer, longjing, noodles):
    cart_line_add(customer=customer, variant_id=longjing.pk, quantity=2)
    cart_line_add(customer=customer, sku="TEA-1", quantity=3)
    cart_line_add(customer=customer, sku="NOODLE-1", quantity=1)
    assert _lines(customer) == [("TEA-1", 5), ("NOODLE-1", 1)]


def test_changing_and_removing_lines(customer, longjing, noodles):
    line = cart_line_add(customer=customer, variant_id=longjing.pk, quantity=2)
    other = cart_line_add(customer=customer, variant_id=noodles.pk, quantity=1)
    cart_line_set_quantity(customer=customer, line_id=line.pk, quantity=7)
    cart_line_remove(customer=customer, line_id=other.pk)
    assert _lines(customer) == [("TEA-1", 7)]
    cart_clear(customer=customer)
    assert _lines(customer) == []


def test_the_cart_shows_the_price_and_what_is_available(customer, longjing):
    cart_line_add(customer=customer, variant_id=longjing.pk, quantity=2)
    view = cart_view(customer=customer)
    line = view.lines[0]
    assert view.unit_prices[line.pk].minor == 10000 and view.available[longjing.pk] == 10


@pytest.mark.parametrize("quantity", [0, -1, -100, True, 2.5])
def test_zero_negative_or_fractional_quantities_are_refused(customer, longjing, quantity):
    line = cart_line_add(customer=customer, variant_id=longjing.pk, quantity=1)
    before = world(customer)
    for call in (lambda: cart_line_add(customer=customer, variant_id=longjing.pk, quantity=quantity),
                 lambda: cart_line_set_quantity(customer=customer, line_id=line.pk, quantity=quantity)):
        with pytest.raises(DomainError) as caught:
            call()
        assert caught.value.code == "invalid_quantity"
    assert world(customer) == before


def test_an_unknown_or_unpublished_sku_is_refused(customer, longjing):
    with pytest.raises(DomainError) as caught:
        cart_line_add(customer=customer, sku="NO-SUCH", quantity=1)
    assert caught.value.code == "unknown_sku"
    product_unpublish(product=longjing.product)
    with pytest.raises(DomainError) as caught:
        cart_line_add(customer=customer, variant_id=longjing.pk, quantity=1)
    assert caught.value.code == "unknown_sku"
    assert _lines(customer) == []


def test_more_than_is_available_is_refused(customer, longjing):
    line = cart_line_add(customer=customer, variant_id=longjing.pk, quantity=8)
    for call in (lambda: cart_line_add(customer=customer, variant_id=longjing.pk, quantity=3),
                 lambda: cart_line_set_quantity(customer=customer, line_id=line.pk, quantity=11)):
        with pytest.raises(DomainError) as caught:
            call()
        assert caught.value.code == "insufficient_stock"
    assert _lines(customer) == [("TEA-1", 8)]


def test_another_customers_cart_line_is_not_found(customer, other_customer, longjing):
    line = cart_line_add(customer=customer, variant_id=longjing.pk, quantity=1)
    with pytest.raises(DomainError) as caught:
        cart_line_remove(customer=other_customer, line_id=line.pk)
    assert caught.value.code == "not_found"
    assert _lines(customer) == [("TEA-1", 1)]
