"""Money: exact minor units, one rounding function, allocation that always adds up.

Pure tests: no database.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal

import pytest
from babel.numbers import format_decimal
from hypothesis import example, given
from hypothesis import strategies as st

from clearhouse.core.errors import (
    CurrencyMismatch,
    FloatNotAllowed,
    InvalidAmount,
    TooManyDecimals,
    UnknownCurrency,
)
from clearhouse.core.money import MAX_MINOR, Money, allocate, currency_exponent, round_minor

CURRENCIES = ["CNY", "USD", "EUR", "JPY", "KRW", "KWD", "BHD", "CLF"]
minor_units = st.integers(min_value=-(10**15), max_value=10**15)
currencies = st.sampled_from(CURRENCIES)


# --- exponents ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("CNY", 2), ("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4)],
)
def test_each_currency_has_its_iso_4217_exponent(currency, exponent):
    assert currency_exponent(currency) == exponent
    assert Money(1, currency).exponent == exponent


def test_amount_shows_exactly_the_currency_exponent():
    assert Money(1234, "CNY").amount == Decimal("12.34")
    assert str(Money(1234, "CNY").amount) == "12.34"
    assert str(Money(1234, "JPY").amount) == "1234"
    assert str(Money(1234, "KWD").amount) == "1.234"
    assert str(Money(-5, "USD").amount) == "-0.05"


def test_to_string_is_a_plain_decimal_in_major_units():
    assert Money(-1230, "CNY").to_string() == "-12.30"
    assert Money(0, "KWD").to_string() == "0.000"
    assert Money(7, "JPY").to_string() == "7"
    assert str(Money(1050, "USD")) == "10.50 USD"


# --- construction --------------------------------------------------------------
def test_currency_codes_are_normalised_to_upper_case():
    assert Money(1, " cny ").currency == "CNY"
    assert Money(1, "cny") == Money(1, "CNY")


@pytest.mark.parametrize("currency", ["XXX", "CN", "", "RMB", None, 156])
def test_unknown_currency_is_refused(currency):
    with pytest.raises(UnknownCurrency) as exc:
        Money(1, currency)
    assert exc.value.code == "unknown_currency"


def test_parse_with_unknown_currency_is_refused():
    with pytest.raises(UnknownCurrency):
        Money.parse("1.00", "ABC")


def test_money_refuses_a_float_number_of_minor_units():
    with pytest.raises(FloatNotAllowed) as exc:
        Money(1.5, "CNY")
    assert exc.value.code == "float_not_allowed"


@pytest.mark.parametrize("minor", [True, Decimal("1"), "100", None])
def test_money_holds_only_an_integer_number_of_minor_units(minor):
    with pytest.raises(InvalidAmount):
        Money(minor, "CNY")


def test_money_is_frozen():
    m = Money(100, "CNY")
    with pytest.raises(AttributeError):
        m.minor = 200
    assert m.minor == 100


def test_zero_is_falsy_and_other_amounts_truthy():
    assert not Money.zero("CNY")
    assert Money(-1, "CNY")
    assert Money.zero("JPY") == Money(0, "JPY")


# --- parsing ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.34", "CNY", 1234),
        ("12.3", "CNY", 1230),
        ("12", "CNY", 1200),
        ("-0.01", "CNY", -1),
        ("+5.00", "USD", 500),
        (" 7.50 ", "USD", 750),
        ("12.340", "CNY", 1234),  # trailing zeros are not extra precision
        ("1234", "JPY", 1234),
        ("1.234", "KWD", 1234),
        ("0.5", "KWD", 500),
        ("0", "JPY", 0),
    ],
)
def test_parse_reads_major_units_into_minor_units(text, currency, minor):
    assert Money.parse(text, currency) == Money(minor, currency)


def test_parse_refuses_floats():
    with pytest.raises(FloatNotAllowed) as exc:
        Money.parse(1.5, "CNY", param="amount")
    assert exc.value.code == "float_not_allowed"
    assert exc.value.param == "amount"


@pytest.mark.parametrize("value", [12, Decimal("12.34"), None, b"12.34"])
def test_parse_takes_only_decimal_strings(value):
    with pytest.raises(InvalidAmount) as exc:
        Money.parse(value, "CNY")
    assert exc.value.code == "invalid_amount"


@pytest.mark.parametrize(
    ("text", "currency"),
    [("12.345", "CNY"), ("0.001", "USD"), ("12.3", "JPY"), ("1.5", "JPY"), ("1.2345", "KWD"), ("0.00001", "CLF")],
)
def test_digits_beyond_the_currency_exponent_are_refused_never_rounded(text, currency):
    with pytest.raises(TooManyDecimals) as exc:
        Money.parse(text, currency, param="amount")
    assert exc.value.code == "too_many_decimals"
    assert exc.value.param == "amount"


@pytest.mark.parametrize(
    "text",
    ["", " ", "abc", "12,34", "1,234.00", "1e3", "1E-2", "12.", ".5", "--1", "+-1", "1.2.3", "12 34", "0x10",
     "NaN", "Infinity", "-inf", "\uff11\uff12", "\u0661\u0662.\u0663\u0664", "12.34\n5"],
)
def test_malformed_amounts_are_refused(text):
    with pytest.raises(InvalidAmount) as exc:
        Money.parse(text, "CNY")
    assert exc.value.code == "invalid_amount"  # not a rounding error, not a crash


@pytest.mark.parametrize(
    ("text", "locale"),
    [("NaN", "en"), ("Infinity", "en"), ("-Infinity", "de"), ("1,2,3,4", "en"), ("1e5", "en"), ("1E+2", "de"),
     ("1_000", "en"), ("\uff11\uff12", "en"), ("12$", "en"), ("1.234,56", "en"), ("abc", "zh-Hans")],
)
def test_malformed_localised_amounts_are_refused(text, locale):
    with pytest.raises(InvalidAmount) as exc:
        Money.parse(text, "CNY", locale=locale)
    assert exc.value.code == "invalid_amount"


def test_amounts_too_large_to_store_are_refused_not_rounded():
    assert Money.parse("92233720368547758.07", "CNY").minor == MAX_MINOR
    assert Money.parse("-92233720368547758.07", "CNY").minor == -MAX_MINOR
    for text in ["92233720368547758.08", "1" * 30 + ".12", "1" * 30 + ".123", "9" * 40]:
        with pytest.raises(InvalidAmount):
            Money.parse(text, "CNY")


def test_a_long_fraction_is_refused_even_beyond_decimal_precision():
    # 101 fractional digits: a 28-digit context would round the 1 away.
    with pytest.raises(TooManyDecimals):
        Money.parse("0." + "0" * 100 + "1", "CNY")


@pytest.mark.parametrize(
    ("text", "locale", "currency", "minor"),
    [
        ("1,234.56", "en", "CNY", 123456),
        ("1.234,56", "de", "EUR", 123456),
        ("-1.234,5", "de", "EUR", -123450),
        ("1,234.56", "zh-Hans", "CNY", 123456),
        ("1,234", "en", "JPY", 1234),
        ("1.234", "de", "JPY", 1234),
        ("1,234.567", "en", "KWD", 1234567),
        ("1\u202f234,5", "fr", "EUR", 123450),  # narrow no-break space groups thousands in French
        ("1\u2019234.50", "de-CH", "CHF", 123450),
    ],
)
def test_parse_with_a_locale_reads_its_grouping_and_decimal_marks(text, locale, currency, minor):
    assert Money.parse(text, currency, locale=locale) == Money(minor, currency)


def test_parse_with_a_locale_still_refuses_extra_decimals():
    with pytest.raises(TooManyDecimals):
        Money.parse("1.234,567", "EUR", locale="de")


def test_parse_with_german_locale_refuses_english_decimal_point():
    with pytest.raises(InvalidAmount):
        Money.parse("12.34", "EUR", locale="de")


# --- arithmetic --------------------------------------------------------------------
def test_same_currency_adds_subtracts_and_compares():
    a, b = Money(1050, "CNY"), Money(250, "CNY")
    assert a + b == Money(1300, "CNY")
    assert a - b == Money(800, "CNY")
    assert b - a == Money(-800, "CNY")
    assert -a == Money(-1050, "CNY")
    assert abs(Money(-3, "CNY")) == Money(3, "CNY")
    assert b < a and b <= a and a > b and a >= b and a >= a


@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
)
def test_mixing_currencies_is_refused(op):
    with pytest.raises(CurrencyMismatch) as exc:
        op(Money(100, "CNY"), Money(100, "USD"))
    assert exc.value.code == "currency_mismatch"


def test_combining_money_with_a_plain_number_is_refused():
    with pytest.raises(TypeError):
        Money(100, "CNY") + 1
    with pytest.raises(TypeError):
        Money(100, "CNY") - Decimal("1")


def test_different_currencies_are_never_equal():
    assert Money(100, "CNY") != Money(100, "USD")


@pytest.mark.parametrize("factor", [2, Decimal("1.5"), 1.5, Money(2, "CNY")])
def test_multiplication_operator_is_refused(factor):
    with pytest.raises(TypeError, match="apply_rate"):
        Money(100, "CNY") * factor
    with pytest.raises(TypeError, match="apply_rate"):
        factor * Money(100, "CNY")


# --- rates and rounding --------------------------------------------------------
@pytest.mark.parametrize(
    ("minor", "rate", "expected"),
    [
        (10000, Decimal("0.0060"), 60),  # 100.00 * 0.6% = 0.60
        (12345, Decimal("0.0060"), 74),  # 74.07 -> 74
        (250, Decimal("0.01"), 3),  # 2.5 -> 3 (half up)
        (150, Decimal("0.01"), 2),  # 1.5 -> 2 (half up, not banker's 2)
        (250, Decimal("0.03"), 8),  # 7.5 -> 8
        (-250, Decimal("0.01"), -3),  # -2.5 -> -3: half away from zero
        (-150, Decimal("0.01"), -2),
        (-249, Decimal("0.01"), -2),
        (100, 2, 200),  # an integer rate is exact
    ],
)
def test_apply_rate_rounds_half_up_by_default(minor, rate, expected):
    assert Money(minor, "CNY").apply_rate(rate) == Money(expected, "CNY")


@pytest.mark.parametrize(
    ("rounding", "positive", "negative"),
    [
        (ROUND_HALF_UP, 3, -3),
        (ROUND_HALF_EVEN, 2, -2),
        (ROUND_DOWN, 2, -2),
        (ROUND_UP, 3, -3),
        (ROUND_FLOOR, 2, -3),
    ],
)
def test_apply_rate_honours_an_explicit_rounding_mode(rounding, positive, negative):
    rate = Decimal("0.01")
    assert Money(250, "CNY").apply_rate(rate, rounding) == Money(positive, "CNY")
    assert Money(-250, "CNY").apply_rate(rate, rounding) == Money(negative, "CNY")


def test_apply_rate_keeps_the_currency():
    assert Money(1000, "JPY").apply_rate(Decimal("0.035")).currency == "JPY"
    assert Money(1000, "JPY").apply_rate(Decimal("0.035")) == Money(35, "JPY")


def test_apply_rate_refuses_a_float_rate():
    with pytest.raises(FloatNotAllowed):
        Money(100, "CNY").apply_rate(0.006)


@pytest.mark.parametrize("rate", ["0.006", True, None])
def test_apply_rate_refuses_rates_that_are_not_decimal(rate):
    with pytest.raises(InvalidAmount):
        Money(100, "CNY").apply_rate(rate)


def test_round_minor_refuses_floats():
    with pytest.raises(FloatNotAllowed):
        round_minor(2.5)


@given(
    value=st.decimals(min_value=-(10**12), max_value=10**12, allow_nan=False, allow_infinity=False, places=6),
    rounding=st.sampled_from([ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_DOWN, ROUND_UP, ROUND_FLOOR]),
)
@example(value=Decimal("2.5"), rounding=ROUND_HALF_UP)
@example(value=Decimal("-2.5"), rounding=ROUND_HALF_UP)
def test_round_minor_agrees_with_decimal_quantize(value, rounding):
    result = round_minor(value, rounding)
    assert isinstance(result, int)
    assert result == int(value.quantize(Decimal(1), rounding=rounding))
    assert abs(Decimal(result) - value) < 1


@given(value=st.decimals(min_value=-(10**12), max_value=10**12, allow_nan=False, allow_infinity=False, places=4))
def test_round_minor_half_up_is_symmetric_and_nearest(value):
    # Independent statement of ROUND_HALF_UP: nearest integer, halves away from zero.
    magnitude = int(abs(value) + Decimal("0.5"))
    expected = magnitude if value >= 0 else -magnitude
    assert round_minor(value) == expected
    assert round_minor(-value) == -round_minor(value)


# --- allocation --------------------------------------------------------------------
def test_allocate_splits_by_largest_remainder():
    assert Money(100, "CNY").allocate([1, 1, 1]) == [Money(34, "CNY"), Money(33, "CNY"), Money(33, "CNY")]
    assert Money(5, "CNY").allocate([3, 7]) == [Money(2, "CNY"), Money(3, "CNY")]  # 1.5 / 3.5: tie -> first
    assert Money(-100, "CNY").allocate([1, 1, 1]) == [Money(-34, "CNY"), Money(-33, "CNY"), Money(-33, "CNY")]
    assert Money(1000, "JPY").allocate([Decimal("0.5"), Decimal("0.25"), Decimal("0.25")]) == [
        Money(500, "JPY"), Money(250, "JPY"), Money(250, "JPY"),
    ]


def test_allocate_gives_zero_weights_nothing():
    assert allocate(Money(10, "CNY"), [0, 1, 0]) == [Money(0, "CNY"), Money(10, "CNY"), Money(0, "CNY")]


@pytest.mark.parametrize("weights", [[], [0, 0], [1, -1], [1.0, 2.0]])
def test_allocate_refuses_weights_it_cannot_split_by(weights):
    with pytest.raises(InvalidAmount):
        allocate(Money(100, "CNY"), weights)


@given(
    total=minor_units,
    currency=currencies,
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(any),
)
@example(total=100, currency="CNY", weights=[1, 1, 1])
@example(total=-1, currency="CNY", weights=[1, 1])
def test_allocated_parts_always_sum_to_the_total(total, currency, weights):
    parts = allocate(Money(total, currency), weights)
    assert len(parts) == len(weights)
    assert sum(p.minor for p in parts) == total
    assert all(p.currency == currency for p in parts)
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(total) * weight / weight_sum
        assert abs(Decimal(part.minor) - exact) < 1  # within one minor unit of its exact share
        if weight == 0:
            assert part.minor == 0


@given(
    total=minor_units,
    weights=st.lists(
        st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False),
        min_size=1, max_size=8,
    ).filter(any),
)
def test_allocation_by_decimal_weights_sums_to_the_total(total, weights):
    parts = allocate(Money(total, "CNY"), weights)
    assert sum(p.minor for p in parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert abs(Decimal(part.minor) - Decimal(total) * weight / weight_sum) < 1


@given(
    total=minor_units,
    weights=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=8).filter(any),
)
def test_allocation_of_a_negative_total_mirrors_the_positive_one(total, weights):
    assert [-p for p in allocate(Money(total, "CNY"), weights)] == allocate(Money(-total, "CNY"), weights)


# --- presentation ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("minor", "currency", "locale", "text"),
    [
        (123450, "CNY", "en", "CN¥1,234.50"),
        (123450, "CNY", "zh-Hans", "¥1,234.50"),
        (123450, "CNY", "de", "1.234,50\xa0CN¥"),
        (-123450, "USD", "en", "-$1,234.50"),
        (123450, "USD", "de", "1.234,50\xa0$"),
        (5, "EUR", "de", "0,05\xa0€"),
        (123450, "JPY", "en", "¥123,450"),
        (123450, "JPY", "zh-Hans", "JP¥123,450"),
        (123450, "JPY", "de", "123.450\xa0¥"),
        (1234567, "KWD", "en", "KWD1,234.567"),
        (1234567, "KWD", "zh-Hans", "KWD1,234.567"),
        (1234567, "KWD", "de", "1.234,567\xa0KWD"),
    ],
)
def test_format_follows_the_locale_with_the_currency_exponent(minor, currency, locale, text):
    assert Money(minor, currency).format(locale) == text


def test_format_defaults_to_english():
    assert Money(100, "USD").format() == "$1.00"


def test_jpy_is_formatted_without_decimals_and_kwd_with_three():
    assert "." not in Money(1000, "JPY").format("en")
    assert Money(1, "KWD").format("en").endswith("0.001")


@given(minor=minor_units, currency=currencies)
def test_parse_of_to_string_round_trips(minor, currency):
    m = Money(minor, currency)
    assert Money.parse(m.to_string(), currency) == m


_PATTERNS = {0: "#,##0", 2: "#,##0.00", 3: "#,##0.000", 4: "#,##0.0000"}


@given(minor=minor_units, currency=currencies, locale=st.sampled_from(["en", "de", "zh_Hans"]))
@example(minor=-123456789, currency="CNY", locale="de")
@example(minor=1234, currency="JPY", locale="de")
def test_parse_of_a_localised_number_round_trips(minor, currency, locale):
    m = Money(minor, currency)
    text = format_decimal(m.amount, format=_PATTERNS[m.exponent], locale=locale)
    assert Money.parse(text, currency, locale=locale) == m
    assert Money.parse(text, currency, locale=locale.replace("_", "-")) == m


def test_apply_rate_rounds_once_even_beyond_28_significant_digits():
    rate = Decimal("0.05000000000000000024999999999999995")
    assert Money(2 * 10**18, "CNY").apply_rate(rate).minor == 100000000000000000


def test_allocate_is_exact_for_weights_with_many_digits():
    weights = [Decimal("0.1234567890123456789012345678901"), Decimal("0.2"), Decimal("1E+3")]
    parts = allocate(Money(10**18, "CNY"), weights)
    assert sum(p.minor for p in parts) == 10**18
    assert parts[0].minor == 123416868988193
