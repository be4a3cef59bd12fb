"""Customer rules with no I/O: points arithmetic and FIFO, member levels,
feedback ticket states, contact details.

Imports nothing from Django, so these rules are tested without a database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal, localcontext
from enum import StrEnum

from clearhouse.core.errors import (
    CurrencyMismatch,
    DomainError,
    InvalidAmount,
    InvalidTransition,
    PermissionDenied,
    ValidationFailed,
)
from clearhouse.core.money import Money, currency_exponent, round_minor


# --- errors --------------------------------------------------------------------------
class InsufficientPoints(DomainError):
    code = "insufficient_points"
    default_message = "Not enough points available."


class InvalidPoints(DomainError):
    code = "invalid_points"
    default_message = "Points are a whole number above zero."


class InvalidPhone(DomainError):
    code = "invalid_phone"
    default_message = "The phone number is not valid."


class AddressLimitReached(DomainError):
    code = "address_limit_reached"
    http_status = 409
    default_message = "A customer keeps at most a limited number of addresses."


class CustomerAccountRequired(PermissionDenied):
    code = "customer_account_required"
    default_message = "Only a signed-in customer has a profile, points and feedback."


# --- points --------------------------------------------------------------------------
_EXACT_DIGITS = 100  # Decimal precision for points arithmetic: products never round before round_minor


@dataclass(frozen=True)
class PointsPolicy:
    """How points are earned and what they are worth, in the programme's one currency.

    `earn_rate` is points per one major unit spent (Decimal("1"): one point
    per 1.00). `points_per_unit` is how many points are worth one major unit
    at redemption (100: 100 points = 1.00). Earned points live `valid_days`.
    """

    currency: str
    earn_rate: Decimal
    points_per_unit: Decimal
    valid_days: int

    def __post_init__(self) -> None:
        currency_exponent(self.currency)  # an ISO 4217 code, or UnknownCurrency
        for name in ("earn_rate", "points_per_unit"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ValidationFailed(f"The points {name} is a Decimal of zero or more.", param=name)
        if self.points_per_unit == 0:
            raise ValidationFailed("Points must be worth something: points_per_unit > 0.", param="points_per_unit")
        if not isinstance(self.valid_days, int) or self.valid_days < 1:
            raise ValidationFailed("Points live at least one day.", param="valid_days")

    def check_currency(self, amount: Money) -> None:
        if amount.currency != self.currency:
            raise CurrencyMismatch(f"Points run in {self.currency}, not {amount.currency}.", param="amount")


def points_earned_for(amount: Money, policy: PointsPolicy) -> int:
    """Points an order of `amount` earns: rounded down, since nobody earns part of a point."""
    policy.check_currency(amount)
    if amount.minor < 0:
        raise InvalidAmount("Spend cannot be negative.", param="amount")
    # Room for every digit (amounts up to 19, rates up to 28): the only rounding is the explicit one.
    with localcontext(prec=_EXACT_DIGITS):
        return round_minor(Decimal(amount.minor).scaleb(-amount.exponent) * policy.earn_rate, ROUND_DOWN)


def points_to_money(points: int, policy: PointsPolicy) -> Money:
    """What `points` are worth at checkout: rounded down, never more than they are worth."""
    points = check_points(points, allow_zero=True)
    exponent = Money.zero(policy.currency).exponent
    with localcontext(prec=_EXACT_DIGITS):
        minor = round_minor(Decimal(points).scaleb(exponent) / policy.points_per_unit, ROUND_DOWN)
    return Money(minor, policy.currency)


def money_to_points(amount: Money, policy: PointsPolicy) -> int:
    """The fewest points worth at least `amount`: rounded up."""
    policy.check_currency(amount)
    if amount.minor < 0:
        raise InvalidAmount("An amount to pay with points cannot be negative.", param="amount")
    with localcontext(prec=_EXACT_DIGITS):
        return round_minor(Decimal(amount.minor).scaleb(-amount.exponent) * policy.points_per_unit, ROUND_UP)


def check_points(points: object, *, allow_zero: bool = False, param: str = "points") -> int:
    if not isinstance(points, int) or isinstance(points, bool) or points < 0 or (points == 0 and not allow_zero):
        raise InvalidPoints(f"{points!r} is not a whole number of points above zero.", param=param)
    return points


@dataclass(frozen=True)
class PointsLot:
    """Points credited together (one order's earned points, one goodwill credit).

    They expire together at `expires_at` (None: never); `remaining` is what
    redemptions and expiry have not yet taken.
    """

    lot_id: int
    remaining: int
    expires_at: datetime | None

    def is_live(self, now: datetime) -> bool:
        return self.remaining > 0 and (self.expires_at is None or self.expires_at > now)


def _oldest_expiring_first(lot: PointsLot) -> tuple:
    # Never-expiring lots last; on equal expiry the older lot (lower id) first.
    return (lot.expires_at is None, lot.expires_at or datetime.min, lot.lot_id)


def available_points(lots: Sequence[PointsLot], *, now: datetime) -> int:
    return sum(lot.remaining for lot in lots if lot.is_live(now))


def lots_to_consume(lots: Sequence[PointsLot], points: int, *, now: datetime) -> list[tuple[int, int]]:
    """(lot id, points taken) for a redemption of `points`: oldest-expiring first.

    Lapsed lots are skipped (expiry takes those). Refuses with
    `insufficient_points`, before anything is taken, when live points fall short.
    """
    points = check_points(points)
    available = available_points(lots, now=now)
    if points > available:
        raise InsufficientPoints(f"{points} points asked, {available} available.", param="points")
    plan: list[tuple[int, int]] = []
    for lot in sorted((lot for lot in lots if lot.is_live(now)), key=_oldest_expiring_first):
        take = min(lot.remaining, points - sum(t for _, t in plan))
        if take == 0:
            break
        plan.append((lot.lot_id, take))
    assert sum(t for _, t in plan) == points
    return plan


def lapsed_lots(lots: Sequence[PointsLot], *, now: datetime) -> list[tuple[int, int]]:
    """(lot id, points to expire) for every lot past its expiry with points left, oldest first."""
    lapsed = [lot for lot in lots if lot.remaining > 0 and lot.expires_at is not None and lot.expires_at <= now]
    return [(lot.lot_id, lot.remaining) for lot in sorted(lapsed, key=_oldest_expiring_first)]


# --- member levels -------------------------------------------------------------------
@dataclass(frozen=True)
class LevelRule:
    """A member level reached once cumulative spend in its currency meets `threshold`."""

    code: str
    rank: int
    threshold: Money


def level_for_spend(rules: Sequence[LevelRule], spend: Mapping[str, Money]) -> LevelRule | None:
    """The highest-ranked level whose threshold the spend in that level's currency reaches."""
    reached = [r for r in rules if spend.get(r.threshold.currency, Money.zero(r.threshold.currency)) >= r.threshold]
    return max(reached, key=lambda r: (r.rank, r.threshold.minor), default=None)


def next_level(rules: Sequence[LevelRule], spend: Mapping[str, Money],
               current: LevelRule | None) -> tuple[LevelRule, Money] | None:
    """The next level up (in the current level's currency) and the spend still needed for it."""
    candidates = [r for r in rules if current is None or (
        r.rank > current.rank and r.threshold.currency == current.threshold.currency)]
    ahead = []
    for rule in candidates:
        have = spend.get(rule.threshold.currency, Money.zero(rule.threshold.currency))
        if have < rule.threshold:
            ahead.append((rule, rule.threshold - have))
    return min(ahead, key=lambda pair: (pair[0].rank, pair[1].minor), default=None)


# --- feedback tickets --------------------------------------------------------------------
class TicketStatus(StrEnum):
    """Open: waiting for staff. Answered: staff replied. Closed: done, for good."""

    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


# A customer who writes again after an answer reopens the ticket; closing is final.
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset({TicketStatus.ANSWERED, TicketStatus.CLOSED}),
    TicketStatus.ANSWERED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}


def ticket_status(value: str, *, param: str = "status") -> TicketStatus:
    try:
        return TicketStatus(value)
    except ValueError:
        raise ValidationFailed(f"{value!r} is not a ticket status.", param=param) from None


def check_ticket_transition(from_status: str, to_status: str) -> None:
    current, target = ticket_status(from_status, param="from_status"), ticket_status(to_status, param="to_status")
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(f"A ticket cannot go from {current} to {target}.", param="status")


def status_after_message(status: str, *, by_staff: bool) -> TicketStatus:
    """Where a ticket goes when someone writes on it: staff answer it, the customer reopens it."""
    current = ticket_status(status)
    if current == TicketStatus.CLOSED:
        raise InvalidTransition("The ticket is closed; open a new one.", param="ticket")
    return TicketStatus.ANSWERED if by_staff else TicketStatus.OPEN


# --- contact details -------------------------------------------------------------------
_PHONE_CHARS = re.compile(r"\+?[0-9 ()\-]+")


def normalise_phone(text: str, *, param: str = "phone") -> str:
    """A phone number as typed, trimmed: digits with an optional leading +, spaces, dashes, brackets; 5-15 digits."""
    value = " ".join(text.split()) if isinstance(text, str) else ""
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE_CHARS.fullmatch(value) or not 5 <= digits <= 15:
        raise InvalidPhone(f"{text!r} is not a phone number.", param=param)
    return value


def clean_text(value: object, *, param: str, max_length: int, required: bool = True) -> str:
    """Text as given, trimmed; required text may not be blank, none may outgrow its column."""
    if not isinstance(value, str):
        raise ValidationFailed(f"{param} must be text.", param=param)
    text = value.strip()
    if required and not text:
        raise ValidationFailed(f"{param} cannot be blank.", param=param)
    if len(text) > max_length or "\x00" in text:
        raise ValidationFailed(f"{param} is at most {max_length} characters of text.", param=param)
    return text
