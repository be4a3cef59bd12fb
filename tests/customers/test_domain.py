"""Customer rules with no I/O: points arithmetic and FIFO, member levels, ticket states, contact details.

No database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearhouse.core.errors import CurrencyMismatch, InvalidAmount, InvalidTransition, ValidationFailed
from clearhouse.core.money import Money
from clearhouse.customers.domain import (
    TRANSITIONS,
    InsufficientPoints,
    InvalidPhone,
    InvalidPoints,
    LevelRule,
    PointsLot,
    PointsPolicy,
    TicketStatus,
    available_points,
    check_ticket_transition,
    clean_text,
    lapsed_lots,
    level_for_spend,
    lots_to_consume,
    money_to_points,
    next_level,
    normalise_phone,
    points_earned_for,
    points_to_money,
    status_after_message,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
POLICY = PointsPolicy(currency="CNY", earn_rate=Decimal("1"), points_per_unit=Decimal("100"), valid_days=365)


def cny(amount: str) -> Money:
    return Money.parse(amount, "CNY")


def lot(lot_id: int, remaining: int, days: int | None) -> PointsLot:
    return PointsLot(lot_id, remaining, None if days is None else NOW + timedelta(days=days))


# --- the points programme -----------------------------------------------------------------------
def test_one_point_is_earned_per_whole_unit_spent_rounded_down():
    assert points_earned_for(cny("99.99"), POLICY) == 99
    assert points_earned_for(cny("0.99"), POLICY) == 0
    assert points_earned_for(cny("100.00"), POLICY) == 100


def test_a_fractional_earn_rate_still_earns_whole_points():
    policy = PointsPolicy(currency="CNY", earn_rate=Decimal("1.5"), points_per_unit=Decimal(100), valid_days=1)
    assert points_earned_for(cny("3.00"), policy) == 4  # 4.5 rounded down


def test_a_hundred_points_are_worth_one_yuan():
    assert points_to_money(100, POLICY) == cny("1.00")
    assert points_to_money(1, POLICY) == cny("0.01")
    assert points_to_money(0, POLICY) == cny("0.00")


def test_points_are_never_worth_more_than_their_rate_says():
    policy = PointsPolicy(currency="CNY", earn_rate=Decimal(1), points_per_unit=Decimal(3), valid_days=1)
    assert points_to_money(1, policy) == cny("0.33")  # 0.333... rounded down


def test_paying_an_amount_needs_the_fewest_points_worth_at_least_that_much():
    assert money_to_points(cny("12.34"), POLICY) == 1234
    policy = PointsPolicy(currency="CNY", earn_rate=Decimal(1), points_per_unit=Decimal(3), valid_days=1)
    assert money_to_points(cny("0.01"), policy) == 1


@given(st.integers(0, 10**9), st.integers(1, 1000))
def test_the_points_needed_for_an_amount_are_worth_at_least_it(minor, per_unit):
    policy = PointsPolicy(currency="CNY", earn_rate=Decimal(1), points_per_unit=Decimal(per_unit), valid_days=1)
    amount = Money(minor, "CNY")
    assert points_to_money(money_to_points(amount, policy), policy) >= amount


def test_points_run_in_the_programmes_currency_only():
    with pytest.raises(CurrencyMismatch):
        points_earned_for(Money(100, "USD"), POLICY)
    with pytest.raises(CurrencyMismatch):
        money_to_points(Money(100, "USD"), POLICY)


def test_negative_spend_earns_nothing_it_is_refused():
    with pytest.raises(InvalidAmount):
        points_earned_for(cny("-1.00"), POLICY)


@pytest.mark.parametrize("terms", [
    {"earn_rate": 1.0}, {"earn_rate": Decimal(-1)}, {"points_per_unit": Decimal(0)},
    {"points_per_unit": Decimal("Infinity")}, {"valid_days": 0},
])
def test_a_points_programme_that_makes_no_sense_is_refused(terms):
    with pytest.raises(ValidationFailed):
        PointsPolicy(**{"currency": "CNY", "earn_rate": Decimal(1), "points_per_unit": Decimal(100),
                        "valid_days": 365, **terms})


# --- points FIFO --------------------------------------------------------------------------------
def test_a_redemption_takes_the_oldest_expiring_points_first():
    lots = [lot(1, 100, 300), lot(2, 50, 10), lot(3, 80, None), lot(4, 70, 200)]
    assert lots_to_consume(lots, 150, now=NOW) == [(2, 50), (4, 70), (1, 30)]


def test_never_expiring_points_go_last_and_equal_expiry_goes_by_age():
    lots = [lot(5, 10, None), lot(3, 10, 30), lot(2, 10, 30)]
    assert lots_to_consume(lots, 25, now=NOW) == [(2, 10), (3, 10), (5, 5)]


def test_lapsed_points_are_neither_available_nor_spent():
    lots = [lot(1, 100, -1), lot(2, 40, 0), lot(3, 30, 5)]
    assert available_points(lots, now=NOW) == 30
    assert lots_to_consume(lots, 30, now=NOW) == [(3, 30)]


def test_redeeming_beyond_the_balance_is_refused_with_its_code():
    with pytest.raises(InsufficientPoints) as exc:
        lots_to_consume([lot(1, 100, 5), lot(2, 50, -1)], 101, now=NOW)
    assert (exc.value.code, exc.value.param) == ("insufficient_points", "points")
    assert "100 available" in exc.value.message


@pytest.mark.parametrize("points", [0, -5, True, 1.0, "10"])
def test_points_to_redeem_are_a_whole_number_above_zero(points):
    with pytest.raises(InvalidPoints) as exc:
        lots_to_consume([lot(1, 100, 5)], points, now=NOW)
    assert exc.value.code == "invalid_points"


def test_expiry_takes_what_is_left_of_every_lapsed_lot_oldest_first():
    lots = [lot(3, 20, -1), lot(1, 30, -10), lot(2, 50, 1), lot(4, 0, -5), lot(5, 9, None)]
    assert lapsed_lots(lots, now=NOW) == [(1, 30), (3, 20)]


lots_strategy = st.lists(
    st.builds(lambda i, r, d: lot(i, r, d), st.integers(1, 10**6), st.integers(0, 10**6),
              st.none() | st.integers(-30, 400)),
    max_size=10, unique_by=lambda x: x.lot_id,
)


@given(lots_strategy, st.integers(1, 10**7))
def test_a_redemption_takes_exactly_what_was_asked_from_live_lots_or_nothing(lots, points):
    live = {x.lot_id: x for x in lots if x.is_live(NOW)}
    if points > available_points(lots, now=NOW):
        with pytest.raises(InsufficientPoints):
            lots_to_consume(lots, points, now=NOW)
        return
    plan = lots_to_consume(lots, points, now=NOW)
    assert sum(take for _, take in plan) == points
    assert all(0 < take <= live[lot_id].remaining for lot_id, take in plan)
    # FIFO: every lot used, except the last, is emptied; no unused lot expires before a used one.
    assert all(take == live[lot_id].remaining for lot_id, take in plan[:-1])
    used = {lot_id for lot_id, _ in plan}
    latest_used = max((live[i].expires_at or datetime.max.replace(tzinfo=UTC)) for i in used)
    for lot_id, x in live.items():
        if lot_id not in used:
            assert (x.expires_at or datetime.max.replace(tzinfo=UTC)) >= latest_used


@given(lots_strategy, st.integers(1, 10**7))
def test_redeem_then_restore_returns_the_balance_exactly(lots, points):
    """Restoring gives each lot back what the redemption took from it."""
    before = available_points(lots, now=NOW)
    if points > before:
        return
    plan = dict(lots_to_consume(lots, points, now=NOW))
    after_redeem = [PointsLot(x.lot_id, x.remaining - plan.get(x.lot_id, 0), x.expires_at) for x in lots]
    assert available_points(after_redeem, now=NOW) == before - points
    restored = [PointsLot(x.lot_id, x.remaining + plan.get(x.lot_id, 0), x.expires_at) for x in after_redeem]
    assert restored == lots
    assert available_points(restored, now=NOW) == before


# --- member levels ------------------------------------------------------------------------------
SILVER = LevelRule("silver", 1, Money(100000, "CNY"))
GOLD = LevelRule("gold", 2, Money(500000, "CNY"))
PLATINUM = LevelRule("platinum", 3, Money(2000000, "CNY"))
USD_GOLD = LevelRule("usd-gold", 2, Money(100000, "USD"))
RULES = [GOLD, SILVER, PLATINUM, USD_GOLD]


def test_a_customer_gets_the_highest_level_their_spend_reaches():
    assert level_for_spend(RULES, {"CNY": cny("999.99")}) is None
    assert level_for_spend(RULES, {"CNY": cny("1000.00")}) == SILVER
    assert level_for_spend(RULES, {"CNY": cny("5000.00")}) == GOLD
    assert level_for_spend(RULES, {"CNY": cny("999999.00")}) == PLATINUM


def test_spend_counts_only_toward_levels_of_its_currency():
    assert level_for_spend(RULES, {"USD": Money(100000, "USD")}) == USD_GOLD
    assert level_for_spend(RULES, {"USD": Money(100000, "USD"), "CNY": cny("1000.00")}) == USD_GOLD


def test_the_next_level_says_how_much_more_to_spend():
    assert next_level(RULES, {"CNY": cny("1200.00")}, SILVER) == (GOLD, cny("3800.00"))
    assert next_level(RULES, {"CNY": cny("999999.00")}, PLATINUM) is None
    assert next_level([SILVER, GOLD], {}, None) == (SILVER, cny("1000.00"))


# --- feedback ticket states -----------------------------------------------------------------------
def test_the_ticket_table_names_every_status():
    assert set(TRANSITIONS) == set(TicketStatus)


@pytest.mark.parametrize("current, target", [("open", "answered"), ("answered", "open"), ("open", "closed"),
                                             ("answered", "closed")])
def test_allowed_ticket_moves(current, target):
    check_ticket_transition(current, target)


@pytest.mark.parametrize("target", ["open", "answered"])
def test_a_closed_ticket_stays_closed(target):
    with pytest.raises(InvalidTransition) as exc:
        check_ticket_transition("closed", target)
    assert exc.value.code == "invalid_transition"


def test_a_staff_reply_answers_and_a_customer_reply_reopens():
    assert status_after_message("open", by_staff=True) == TicketStatus.ANSWERED
    assert status_after_message("answered", by_staff=False) == TicketStatus.OPEN
    assert status_after_message("open", by_staff=False) == TicketStatus.OPEN
    with pytest.raises(InvalidTransition):
        status_after_message("closed", by_staff=False)


def test_an_unknown_ticket_status_is_a_validation_error():
    with pytest.raises(ValidationFailed):
        check_ticket_transition("pending", "open")


# --- contact details ----------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("13800138000", "13800138000"), (" +86 138-0013-8000 ", "+86 138-0013-8000"),
    ("(010) 6552 9988", "(010) 6552 9988"),
])
def test_phone_numbers_are_kept_as_typed_but_trimmed(text, expected):
    assert normalise_phone(text) == expected


FULL_WIDTH_DIGITS = "".join(chr(0xFF10 + int(d)) for d in "13800138000")


@pytest.mark.parametrize("text", ["", "1234", "call me", "+86 138 0013 8000 1234 5", FULL_WIDTH_DIGITS, None])
def test_what_is_not_a_phone_number_is_refused(text):
    with pytest.raises(InvalidPhone) as exc:
        normalise_phone(text)
    assert exc.value.code == "invalid_phone"


def test_text_is_trimmed_required_and_bounded():
    assert clean_text("  Lin  ", param="name", max_length=10) == "Lin"
    assert clean_text(" ", param="name", max_length=10, required=False) == ""
    for bad in ["   ", "x" * 11, "a\x00b", 5]:
        with pytest.raises(ValidationFailed):
            clean_text(bad, param="name", max_length=10)


def test_points_arithmetic_rounds_once_even_for_long_rates_and_large_amounts():
    long_rate = PointsPolicy(currency="CNY", earn_rate=Decimal("0.05000000000000000024999999999999995"),
                             points_per_unit=Decimal(3), valid_days=1)
    # Exactly 100000000000000000.4999999999999999 points: rounded down once, never up by an early rounding.
    assert points_earned_for(Money(2 * 10**20, "CNY"), long_rate) == 10**17
    assert points_to_money(3, long_rate) == cny("1.00")  # 3 points at 3 per unit are exactly 1.00
