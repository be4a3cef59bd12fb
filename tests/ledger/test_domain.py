"""Ledger rules with no I/O: balancing and the entry fingerprint. No database."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearhouse.core.errors import ValidationFailed
from clearhouse.core.money import Money
from clearhouse.ledger.domain import (
    PostingLine,
    UnbalancedEntry,
    check_lines,
    entry_fingerprint,
    reversal_lines,
)

DAY = date(2026, 11, 23)


def cny(minor: int) -> Money:
    return Money(minor, "CNY")


def fingerprint(lines, **overrides):
    fields = dict(effective_date=DAY, memo="Payment 1", source_type="payment", source_id="1", lines=lines)
    fields.update(overrides)
    return entry_fingerprint(**fields)


# --- check_lines -------------------------------------------------------------------
def test_balanced_two_line_entry_passes():
    check_lines([PostingLine.debit(1, cny(10000)), PostingLine.credit(2, cny(10000))])


def test_balanced_multi_line_multi_currency_entry_passes():
    check_lines([
        PostingLine.debit(1, cny(10000)),
        PostingLine.credit(2, cny(9940)),
        PostingLine.credit(3, cny(60)),
        PostingLine.debit(4, Money(500, "USD")),
        PostingLine.credit(5, Money(500, "USD")),
    ])


def test_debit_is_positive_and_credit_negative():
    assert PostingLine.debit(1, cny(5)).amount == cny(5)
    assert PostingLine.credit(1, cny(5)).amount == cny(-5)


def test_unbalanced_entry_is_refused_and_says_by_how_much():
    with pytest.raises(UnbalancedEntry) as exc:
        check_lines([PostingLine.debit(1, cny(10000)), PostingLine.credit(2, cny(9999))])
    assert exc.value.code == "unbalanced_entry"
    assert exc.value.param == "postings"
    assert "CNY off by 0.01" in exc.value.message


def test_entry_must_balance_per_currency_even_if_totals_across_currencies_cancel():
    lines = [
        PostingLine.debit(1, cny(100)),
        PostingLine.credit(2, Money(100, "USD")),
    ]
    assert sum(line.amount.minor for line in lines) == 0
    with pytest.raises(UnbalancedEntry) as exc:
        check_lines(lines)
    assert "CNY off by 1.00" in exc.value.message
    assert "USD off by -1.00" in exc.value.message


@pytest.mark.parametrize("lines", [[], [PostingLine.debit(1, cny(0))], [PostingLine.debit(1, cny(100))]])
def test_entry_needs_at_least_two_postings(lines):
    with pytest.raises(UnbalancedEntry) as exc:
        check_lines(lines)
    assert "at least two" in exc.value.message


def test_zero_posting_is_refused_and_named():
    with pytest.raises(ValidationFailed) as exc:
        check_lines([PostingLine.debit(1, cny(100)), PostingLine.credit(2, cny(100)), PostingLine(3, cny(0))])
    assert exc.value.code == "validation_failed"
    assert exc.value.param == "postings[2].amount"


def test_posting_amount_must_be_money():
    with pytest.raises(ValidationFailed) as exc:
        check_lines([PostingLine(1, 100), PostingLine(2, -100)])
    assert exc.value.param == "postings[0].amount"


@given(st.lists(st.integers(min_value=1, max_value=10**12), min_size=1, max_size=10))
def test_any_set_of_debits_against_one_matching_credit_balances(debits):
    lines = [PostingLine.debit(i, cny(d)) for i, d in enumerate(debits, start=1)]
    lines.append(PostingLine.credit(99, cny(sum(debits))))
    check_lines(lines)
    reversed_lines = reversal_lines(lines)
    check_lines(reversed_lines)
    assert [r.amount for r in reversed_lines] == [-line.amount for line in lines]


@given(
    st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=6),
    st.integers(min_value=1, max_value=10**6),
)
def test_any_imbalance_is_refused(debits, error):
    lines = [PostingLine.debit(i, cny(d)) for i, d in enumerate(debits, start=1)]
    lines.append(PostingLine.credit(99, cny(sum(debits) + error)))
    with pytest.raises(UnbalancedEntry):
        check_lines(lines)


# --- fingerprint ------------------------------------------------------------------
LINES = [(1, 10000, "CNY"), (2, -9940, "CNY"), (3, -60, "CNY")]


def test_fingerprint_is_a_sha256_hex_digest():
    fp = fingerprint(LINES)
    assert len(fp) == 64
    assert int(fp, 16) >= 0


@given(st.permutations(LINES))
def test_fingerprint_does_not_depend_on_posting_order(order):
    assert fingerprint(order) == fingerprint(LINES)


def test_fingerprint_accepts_any_iterable_of_lines():
    assert fingerprint(iter(LINES)) == fingerprint(LINES)
    assert fingerprint(tuple(reversed(LINES))) == fingerprint(LINES)


@pytest.mark.parametrize(
    ("lines", "overrides"),
    [
        ([(1, 10001, "CNY"), (2, -9941, "CNY"), (3, -60, "CNY")], {}),  # amounts
        ([(4, 10000, "CNY"), (2, -9940, "CNY"), (3, -60, "CNY")], {}),  # account
        ([(1, 10000, "USD"), (2, -9940, "CNY"), (3, -60, "CNY")], {}),  # currency
        ([(1, -10000, "CNY"), (2, 9940, "CNY"), (3, 60, "CNY")], {}),  # sign (the reversal)
        ([(1, 10000, "CNY"), (2, -10000, "CNY")], {}),  # a line fewer
        (LINES, {"effective_date": date(2026, 11, 24)}),
        (LINES, {"memo": "Payment 1 "}),
        (LINES, {"source_type": "refund"}),
        (LINES, {"source_id": "2"}),
    ],
)
def test_fingerprint_changes_with_any_change_of_content(lines, overrides):
    assert fingerprint(lines, **overrides) != fingerprint(LINES)


def test_fingerprint_tells_source_type_and_id_apart_where_concatenation_would_not():
    assert fingerprint(LINES, source_type="ab", source_id="c") != fingerprint(LINES, source_type="a", source_id="bc")


@given(
    index=st.integers(min_value=0, max_value=2),
    delta=st.integers(min_value=-(10**9), max_value=10**9).filter(bool),
)
def test_fingerprint_detects_any_amount_edit(index, delta):
    edited = list(LINES)
    account, amount, currency = edited[index]
    edited[index] = (account, amount + delta, currency)
    assert fingerprint(edited) != fingerprint(LINES)
