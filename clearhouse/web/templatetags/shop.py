"""Storefront display helpers: names in the page's language, prices with their symbol, spec labels."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from clearhouse.web.templatetags.money import amount

register = template.Library()

SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}
SPEC_LABELS = {
    "size": _("Size"), "colour": _("Colour"), "color": _("Colour"), "material": _("Material"),
    "weight": _("Weight"), "pack": _("Pack"), "spice": _("Spice level"),
}


@register.filter
def local_name(obj) -> str:
    """`name_zh_hans` on a Chinese page when the object has one, else `name`."""
    if (get_language() or "").lower().startswith("zh") and getattr(obj, "name_zh_hans", ""):
        return obj.name_zh_hans
    return obj.name


@register.filter
def price(money) -> str:
    """A Money with its currency symbol, e.g. ¥168.00 (the code when there is no symbol)."""
    if money is None:
        return ""
    symbol = SYMBOLS.get(money.currency)
    return f"{symbol}{amount(money)}" if symbol else f"{amount(money)} {money.currency}"


@register.filter
def spec_label(key: str) -> str:
    return str(SPEC_LABELS.get(key.lower(), key.replace("_", " ").capitalize()))


STATUS_LABELS = {
    "submitted": _("Submitted"), "approved": _("Approved"), "paid": _("Paid"), "shipped": _("Shipped"),
    "delivered": _("Delivered"), "completed": _("Completed"), "cancelled": _("Cancelled"), "refunded": _("Refunded"),
}


@register.filter
def order_status(value: str) -> str:
    """An order status in the page's language."""
    return str(STATUS_LABELS.get(value, value))
