"""Writes of the cart: add a SKU, change its quantity, remove it.

Every change is checked against the stock available now (the checkout
checks again, for real, when it reserves). Quantities are whole numbers of
at least 1; a SKU that is not on sale is an unknown SKU.
"""

from __future__ import annotations

from django.db import transaction

from clearhouse.catalog.models import Variant
from clearhouse.catalog.selectors import variant_get, variant_get_by_sku
from clearhouse.core.errors import NotFound, ValidationFailed
from clearhouse.customers.models import CustomerProfile
from clearhouse.inventory.domain import MAX_QUANTITY, InsufficientStock
from clearhouse.inventory.selectors import available_of
from clearhouse.orders.domain import InvalidQuantity
from clearhouse.orders.locks import cart_select_for_update
from clearhouse.orders.models import Cart, CartLine

MAX_CART_LINES = 100


def check_cart_quantity(quantity: object, *, param: str = "quantity") -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidQuantity(f"Quantities are whole numbers from 1 to {MAX_QUANTITY}.", param=param)
    return quantity


def _on_sale(*, variant_id: int | None, sku: str | None) -> Variant:
    if variant_id is not None:
        return variant_get(variant_id=variant_id, published_only=True)
    if sku:
        return variant_get_by_sku(sku=sku, published_only=True)
    raise ValidationFailed("Name the SKU (sku or variant_id).", param="sku")


def _check_stock(variant: Variant, quantity: int) -> None:
    available = available_of(variant_ids=[variant.pk])[variant.pk]
    if quantity > available:
        raise InsufficientStock(f"Only {available} unit(s) of {variant.sku} are available; {quantity} wanted.",
                                param="quantity")


def _own_line(cart: Cart, line_id: int) -> CartLine:
    line = CartLine.objects.select_related("variant").filter(cart=cart, pk=line_id).first()
    if line is None:
        raise NotFound(f"No cart line {line_id}.", param="line_id")
    return line


@transaction.atomic
def cart_line_add(*, customer: CustomerProfile, quantity: int, variant_id: int | None = None,
                  sku: str | None = None) -> CartLine:
    """Put `quantity` units of a SKU in the cart (added to what is there already), if that many are available."""
    quantity = check_cart_quantity(quantity)
    variant = _on_sale(variant_id=variant_id, sku=sku)
    cart = cart_select_for_update(customer_id=customer.pk)
    line = CartLine.objects.filter(cart=cart, variant=variant).first()
    wanted = quantity + (line.quantity if line else 0)
    check_cart_quantity(wanted)
    _check_stock(variant, wanted)
    if line is None:
        if cart.lines.count() >= MAX_CART_LINES:
            raise ValidationFailed(f"A cart holds at most {MAX_CART_LINES} SKUs.", param="sku")
        return CartLine.objects.create(cart=cart, variant=variant, quantity=wanted)
    line.quantity = wanted
    line.save(update_fields=["quantity"])
    return line


@transaction.atomic
def cart_line_set_quantity(*, customer: CustomerProfile, line_id: int, quantity: int) -> CartLine:
    """Change a line's quantity (zero or less is refused: remove the line instead)."""
    quantity = check_cart_quantity(quantity)
    cart = cart_select_for_update(customer_id=customer.pk)
    line = _own_line(cart, line_id)
    _check_stock(line.variant, quantity)
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    return line


@transaction.atomic
def cart_line_remove(*, customer: CustomerProfile, line_id: int) -> None:
    cart = cart_select_for_update(customer_id=customer.pk)
    _own_line(cart, line_id).delete()


@transaction.atomic
def cart_clear(*, customer: CustomerProfile) -> None:
    cart = cart_select_for_update(customer_id=customer.pk)
    cart.lines.all().delete()
