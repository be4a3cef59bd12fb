"""Exact money: integer minor units plus an ISO 4217 currency.

`Money` never holds a float. Rates are `Decimal`s applied through
`Money.apply_rate`, which rounds once, through `round_minor`, with an explicit
mode. Splits use `allocate`, whose parts always sum to the whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from babel import Locale
from babel.numbers import (
    NumberFormatError,
    format_currency,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
    get_plus_sign_symbol,
    parse_decimal,
)

from clearhouse.core.currencies import EXPONENTS
from clearhouse.core.errors import (
    CurrencyMismatch,
    FloatNotAllowed,
    InvalidAmount,
    TooManyDecimals,
    UnknownCurrency,
)

DEFAULT_ROUNDING = ROUND_HALF_UP
# ASCII digits only: `\d` would also accept full-width or Arabic-Indic digits.
_PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
# Amounts are stored in a BigIntegerField: larger ones cannot be kept exactly.
MAX_MINOR = 2**63 - 1


def currency_exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (CNY 2, JPY 0, KWD 3)."""
    try:
        return EXPONENTS[currency]
    except (KeyError, TypeError):
        raise UnknownCurrency(f"{currency!r} is not an ISO 4217 currency code.", param="currency") from None


def normalise_currency(currency: object) -> str:
    if not isinstance(currency, str):
        raise UnknownCurrency("The currency must be a three-letter ISO 4217 code.", param="currency")
    code = currency.strip().upper()
    currency_exponent(code)
    return code


def round_minor(value: Decimal, rounding: str = DEFAULT_ROUNDING) -> int:
    """The one rounding function: a Decimal number of minor units to an int.

    Every rate, percentage or conversion that can produce a fraction of a
    minor unit goes through here, with its rounding mode stated.
    """
    if isinstance(value, float):
        raise FloatNotAllowed()
    if not isinstance(value, Decimal):
        value = Decimal(value)
    return int(value.quantize(Decimal(1), rounding=rounding))


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency, as an integer count of its minor unit."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, float):
            raise FloatNotAllowed()
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise InvalidAmount("Money holds an integer number of minor units.")
        object.__setattr__(self, "currency", normalise_currency(self.currency))

    # --- construction --------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: object, currency: str, *, locale: str | None = None, param: str | None = None) -> Money:
        """Parse a decimal string in major units ("12.34") into Money.

        Refuses floats, anything but plain digits with an optional sign and
        point (or, with `locale`, that locale's grouping and decimal marks),
        and digits beyond the currency's exponent: "12.345" CNY is an error,
        never silently rounded.
        """
        currency = normalise_currency(currency)
        if isinstance(text, float):
            raise FloatNotAllowed(param=param)
        if not isinstance(text, str):
            raise InvalidAmount("Amounts must be given as decimal strings, e.g. \"12.34\".", param=param)
        value = _parse_decimal_text(text.strip(), locale, param)
        exponent = currency_exponent(currency)
        if value.adjusted() + exponent > len(str(MAX_MINOR)):
            raise InvalidAmount(f"{text!r} is too large an amount.", param=param)
        with localcontext() as ctx:
            # Scale exactly: the default 28-digit context would round long inputs.
            ctx.prec = max(ctx.prec, len(value.as_tuple().digits))
            scaled = value.scaleb(exponent)
            if scaled != scaled.to_integral_value():
                raise TooManyDecimals(
                    f"{currency} amounts have at most {exponent} decimal places; got {text!r}.", param=param
                )
        if abs(int(scaled)) > MAX_MINOR:
            raise InvalidAmount(f"{text!r} is too large an amount.", param=param)
        return cls(int(scaled), currency)

    # --- arithmetic ----------------------------------------------------------
    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"Cannot combine {self.currency} with {other.currency}.")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._same_currency(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._same_currency(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.minor), self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same_currency(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same_currency(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._same_currency(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._same_currency(other).minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def __mul__(self, other: object):
        raise TypeError("multiply Money by a Decimal rate with Money.apply_rate(rate, rounding)")

    __rmul__ = __mul__

    def apply_rate(self, rate: Decimal, rounding: str = DEFAULT_ROUNDING) -> Money:
        """This amount times a Decimal rate (a fee of 0.0060), rounded once."""
        if isinstance(rate, float):
            raise FloatNotAllowed("Rates must be Decimal, never float.")
        if not isinstance(rate, Decimal | int) or isinstance(rate, bool):
            raise InvalidAmount("Rates must be Decimal.")
        rate = Decimal(rate)
        if not rate.is_finite():
            raise InvalidAmount("Rates must be finite numbers.")
        # Exact product (enough digits for both factors), so the one rounding is the only one.
        digits = len(str(abs(self.minor))) + len(rate.as_tuple().digits) + 2
        with localcontext(prec=digits):
            product = Decimal(self.minor) * rate
        return Money(round_minor(product, rounding), self.currency)

    def allocate(self, weights: Sequence[int | Decimal]) -> list[Money]:
        return allocate(self, weights)

    # --- presentation ----------------------------------------------------------
    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    @property
    def amount(self) -> Decimal:
        """The amount in major units as an exact Decimal (for display and APIs)."""
        return Decimal(self.minor).scaleb(-self.exponent).quantize(Decimal(1).scaleb(-self.exponent))

    def to_string(self) -> str:
        """Plain decimal string in major units, e.g. "-12.30" (what the API shows)."""
        return format(self.amount, "f")

    def format(self, locale: str = "en") -> str:
        """Localised display with currency symbol, e.g. "¥1,234.50" or "CN¥1,234.50"."""
        return format_currency(
            self.amount, self.currency, locale=locale.replace("-", "_"), currency_digits=False,
            format=_currency_pattern(self.exponent, locale),
        )

    def __str__(self) -> str:
        return f"{self.to_string()} {self.currency}"


def _currency_pattern(exponent: int, locale: str) -> str:
    # CLDR's currency patterns carry 2 decimals; keep the locale's layout
    # (symbol position, grouping) but show exactly ISO 4217's exponent.
    pattern = Locale.parse(locale.replace("-", "_")).currency_formats["standard"].pattern
    fraction = ("." + "0" * exponent) if exponent else ""
    return re.sub(r"0\.0+", "0" + fraction, pattern)


def _localised_number_chars(locale: str) -> frozenset[str]:
    """ASCII digits and the locale's own grouping, decimal and sign marks (and spaces, for grouping)."""
    symbols = [get_group_symbol(locale), get_decimal_symbol(locale), get_plus_sign_symbol(locale),
               get_minus_sign_symbol(locale)]
    return frozenset("0123456789 \u00a0\u202f").union(*symbols)


def _parse_decimal_text(text: str, locale: str | None, param: str | None) -> Decimal:
    try:
        if locale:
            locale = locale.replace("-", "_")
            if not set(text) <= _localised_number_chars(locale):
                # babel alone would also read "1e5" (100000), "1_000" or "Infinity"
                raise InvalidAmount(f"{text!r} is not a decimal amount.", param=param)
            value = parse_decimal(text, locale=locale, strict=True)
        elif _PLAIN_DECIMAL.fullmatch(text):
            value = Decimal(text)
        else:
            raise InvalidAmount(f"{text!r} is not a decimal amount like \"12.34\".", param=param)
    except (InvalidOperation, NumberFormatError, ValueError):
        raise InvalidAmount(f"{text!r} is not a decimal amount.", param=param) from None
    return value


def _integer_weights(weights: Sequence[int | Decimal]) -> list[int]:
    """Scale Decimal weights by a common power of ten to integers (same proportions)."""
    exact = [Decimal(w) for w in weights]
    if not all(w.is_finite() for w in exact):
        raise InvalidAmount("Allocation weights must be finite numbers.")
    scale = max(0, *(-w.as_tuple().exponent for w in exact))
    digits = max(len(w.as_tuple().digits) for w in exact) + scale + abs(min(0, *(w.as_tuple().exponent for w in exact)))
    with localcontext(prec=digits + 2):
        return [int(w.scaleb(scale)) for w in exact]


def allocate(total: Money, weights: Sequence[int | Decimal]) -> list[Money]:
    """Split `total` in proportion to `weights` by largest remainder.

    Each part gets the floor of its exact share; the minor units left over go
    one each to the parts with the largest remainders (earlier parts first on
    a tie). The parts always sum exactly to `total`. Negative totals are split
    as their absolute value and negated, so rounding is symmetric.
    """
    if not weights:
        raise InvalidAmount("Allocation needs at least one weight.")
    if any(isinstance(w, float) for w in weights):
        raise FloatNotAllowed("Allocation weights must be int or Decimal.")
    int_weights = _integer_weights(weights)
    if any(w < 0 for w in int_weights):
        raise InvalidAmount("Allocation weights cannot be negative.")
    weight_sum = sum(int_weights)
    if weight_sum == 0:
        raise InvalidAmount("Allocation weights cannot all be zero.")
    sign = -1 if total.minor < 0 else 1
    whole = abs(total.minor)
    # Integer arithmetic throughout: floors and remainders are exact at any size.
    parts = [whole * w // weight_sum for w in int_weights]
    remainders = [whole * w % weight_sum for w in int_weights]
    leftover = whole - sum(parts)
    by_remainder = sorted(range(len(parts)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[:leftover]:
        parts[i] += 1
    result = [Money(sign * p, total.currency) for p in parts]
    assert sum(p.minor for p in result) == total.minor
    return result
