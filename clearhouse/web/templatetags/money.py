"""`{{ money|amount }}`: a Money as a grouped number in the page's language (no symbol)."""

from babel.numbers import format_decimal
from django import template
from django.utils.translation import get_language, to_locale

register = template.Library()


@register.filter
def amount(money) -> str:
    if money is None:
        return ""
    digits = money.exponent
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(money.amount, format=pattern, locale=to_locale(get_language() or "en"))
