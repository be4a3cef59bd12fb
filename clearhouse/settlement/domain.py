"""Settlement rules with no I/O: fee arithmetic, per-order amounts, schedules, the statement state machine.

Imports nothing from Django: tested without a database. The SQL that
generates statements (services/generation.py) computes exactly what
`order_amounts` computes here; a test runs both over the same orders.

Rates are held as integer parts per million (`rate_ppm`): 0.6 % is 6000.
That keeps the arithmetic exact and identical in Python, PostgreSQL and
SQLite (SQLite has no exact decimal type), with ROUND_HALF_UP done in
integers: fee = (amount * ppm + 500000) // 1000000 for non-negative amounts.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from clearhouse.core.errors import DomainError, InvalidTransition, ValidationFailed
from clearhouse.core.money import round_minor

PPM = 1_000_000
MAX_RATE_DECIMALS = 6


# ---- errors (stable codes in the API) ----


class FeeRuleOverlap(DomainError):
    code = "fee_rule_overlap"
    http_status = 409
    default_message = "Another fee rule for the same scope and currency is effective on some of these dates."


class NoFeeRule(DomainError):
    code = "no_fee_rule"
    http_status = 409
    default_message = "No fee rule covers this merchant's business type and date: the order cannot be settled."


class StatementLocked(DomainError):
    code = "statement_locked"
    http_status = 409
    default_message = "A confirmed statement is locked."


class PayoutAmountMismatch(DomainError):
    code = "payout_amount_mismatch"
    http_status = 400
    default_message = "The payout amount must equal the statement's net amount."


class VoucherRejected(DomainError):
    code = "voucher_not_accepted"
    http_status = 400
    default_message = "A payout voucher must be a PDF, PNG or JPEG file of at most 10 MB."


class NothingToSettle(DomainError):
    code = "nothing_to_settle"
    http_status = 409
    default_message = "No eligible, unsettled orders match."


# ---- rates ----


def rate_to_ppm(rate: Decimal | str, *, param: str = "rate") -> int:
    """A fee rate as a Decimal fraction (Decimal('0.0060') = 0.6 %) to parts per million; exact or refused."""
    if isinstance(rate, float):
        raise ValidationFailed("Rates are Decimal, never float.", param=param)
    try:
        value = Decimal(str(rate))
    except ArithmeticError:
        raise ValidationFailed("The rate must be a decimal number such as 0.006.", param=param) from None
    if not value.is_finite() or value < 0 or value > 1:
        raise ValidationFailed("The rate must be between 0 and 1 (0.006 is 0.6 %).", param=param)
    scaled = value * PPM
    if scaled != scaled.to_integral_value():
        raise ValidationFailed(f"A rate has at most {MAX_RATE_DECIMALS} decimal places.", param=param)
    return int(scaled)


def ppm_to_rate(ppm: int) -> Decimal:
    return (Decimal(ppm) / PPM).normalize() if ppm else Decimal("0")


def apply_ppm(amount_minor: int, ppm: int) -> int:
    """amount x rate, rounded half up through the one rounding function."""
    return round_minor(Decimal(amount_minor) * ppm / PPM)


# ---- fee terms and per-order amounts ----


class PaymentFeeBasis(StrEnum):
    ACTUAL = "actual"  # the provider's fee on the order's payment
    RATE = "rate"  # a configured rate on what the customer paid


@dataclass(frozen=True)
class FeeTerms:
    """What a fee rule charges: rate and/or fixed fee, bounded by an optional minimum and maximum per order.

    These values are copied onto every statement line, so a line always
    reproduces from itself after the rule changes.
    """

    rate_ppm: int = 0
    fixed_fee_minor: int = 0
    minimum_fee_minor: int | None = None
    maximum_fee_minor: int | None = None
    payment_fee_basis: PaymentFeeBasis = PaymentFeeBasis.ACTUAL
    payment_fee_rate_ppm: int = 0

    def __post_init__(self) -> None:
        if self.rate_ppm < 0 or self.fixed_fee_minor < 0:
            raise ValidationFailed("Fee rates and fixed fees cannot be negative.", param="rate")
        if (self.minimum_fee_minor is not None and self.maximum_fee_minor is not None
                and self.minimum_fee_minor > self.maximum_fee_minor):
            raise ValidationFailed("The minimum fee is above the maximum fee.", param="minimum_fee")
        if self.minimum_fee_minor is not None and self.minimum_fee_minor < 0:
            raise ValidationFailed("The minimum fee cannot be negative.", param="minimum_fee")
        if self.maximum_fee_minor is not None and self.maximum_fee_minor < 0:
            raise ValidationFailed("The maximum fee cannot be negative.", param="maximum_fee")


def service_fee(collected_minor: int, terms: FeeTerms) -> int:
    """The platform's fee on one order: rate x collected + fixed, then clamped to [minimum, maximum].

    Never more than was collected (a fee cannot make an order cost the merchant money) and never negative.
    """
    fee = apply_ppm(collected_minor, terms.rate_ppm) + terms.fixed_fee_minor
    if terms.minimum_fee_minor is not None:
        fee = max(fee, terms.minimum_fee_minor)
    if terms.maximum_fee_minor is not None:
        fee = min(fee, terms.maximum_fee_minor)
    return max(0, min(fee, max(collected_minor, 0)))


@dataclass(frozen=True)
class OrderFigures:
    """What settlement reads of one order (all integer minor units, one currency).

    `paid_minor` is what the customer paid (order total); `actual_payment_fee_minor`
    the provider's fee, when known; `refunded_minor` the refunds counted on this line.
    """

    subtotal_minor: int
    shipping_fee_minor: int
    merchant_coupon_minor: int
    platform_coupon_minor: int
    points_minor: int
    paid_minor: int
    actual_payment_fee_minor: int = 0
    refunded_minor: int = 0


@dataclass(frozen=True)
class OrderAmounts:
    """One statement line's money, the one place these are defined (issue 6, DESIGN §6).

    order amount = subtotal + shipping (the price before any discount)
    collected    = order amount - merchant coupon (what the merchant sold it for)
    platform-funded = platform coupon + points (the platform owes these to the merchant)
    net          = collected - service fee - payment fee - refunds
    and what the customer paid = collected - platform-funded.
    """

    order_amount_minor: int
    merchant_coupon_minor: int
    collected_minor: int
    platform_funded_minor: int
    service_fee_minor: int
    payment_fee_minor: int
    refunds_minor: int
    net_minor: int

    @property
    def charged_by_platform_minor(self) -> int:
        """Invoice platform -> merchant: the fees the platform charged."""
        return self.service_fee_minor + self.payment_fee_minor


def order_amounts(order: OrderFigures, terms: FeeTerms) -> OrderAmounts:
    order_amount = order.subtotal_minor + order.shipping_fee_minor
    collected = order_amount - order.merchant_coupon_minor
    platform_funded = order.platform_coupon_minor + order.points_minor
    fee = service_fee(collected, terms)
    if terms.payment_fee_basis == PaymentFeeBasis.RATE:
        payment_fee = apply_ppm(order.paid_minor, terms.payment_fee_rate_ppm)
    else:
        payment_fee = order.actual_payment_fee_minor
    net = collected - fee - payment_fee - order.refunded_minor
    return OrderAmounts(order_amount, order.merchant_coupon_minor, collected, platform_funded, fee,
                        payment_fee, order.refunded_minor, net)


# ---- schedules ----


class Cycle(StrEnum):
    MONTHLY = "monthly"  # on day N of each month (29-31: the month's last day when shorter)
    WEEKLY = "weekly"  # on a weekday (0 = Monday)
    DELAY = "delay"  # every day, for orders eligible for at least D more days


@dataclass(frozen=True)
class ScheduleTerms:
    """When statements are cut: cycle plus its parameter, and how long an order must wait to be eligible."""

    cycle: Cycle
    day_of_month: int | None = None
    weekday: int | None = None
    delay_days: int | None = None
    eligibility_delay_days: int = 0

    def __post_init__(self) -> None:
        if self.cycle == Cycle.MONTHLY and not (isinstance(self.day_of_month, int) and 1 <= self.day_of_month <= 31):
            raise ValidationFailed("A monthly schedule runs on a day from 1 to 31.", param="day_of_month")
        if self.cycle == Cycle.WEEKLY and not (isinstance(self.weekday, int) and 0 <= self.weekday <= 6):
            raise ValidationFailed("A weekly schedule runs on a weekday from 0 (Monday) to 6 (Sunday).",
                                   param="weekday")
        if self.cycle == Cycle.DELAY and not (isinstance(self.delay_days, int) and 0 <= self.delay_days <= 366):
            raise ValidationFailed("A fixed-delay schedule waits 0 to 366 days.", param="delay_days")
        if not 0 <= self.eligibility_delay_days <= 366:
            raise ValidationFailed("The eligibility delay is 0 to 366 days.", param="eligibility_delay_days")


def monthly_run_day(year: int, month: int, day_of_month: int) -> date:
    """Day N of the month, or its last day when the month is shorter (31 -> 30 April, 28/29 February)."""
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))


def schedule_is_due(terms: ScheduleTerms, day: date) -> bool:
    if terms.cycle == Cycle.MONTHLY:
        return day == monthly_run_day(day.year, day.month, terms.day_of_month)
    if terms.cycle == Cycle.WEEKLY:
        return day.weekday() == terms.weekday
    return True


def eligible_before(terms: ScheduleTerms, run_day: date) -> date:
    """Orders that reached the settle state before the start of this day are settled by a run on `run_day`.

    A run on day R takes orders in the state for at least the eligibility delay
    (plus, for a fixed-delay schedule, D more days) by the start of R.
    """
    extra = (terms.delay_days or 0) if terms.cycle == Cycle.DELAY else 0
    days = terms.eligibility_delay_days + extra
    return run_day - timedelta(days=days)


def due_days(terms: ScheduleTerms, start: date, end: date) -> list[date]:
    """The run days of a schedule from `start` to `end` inclusive (for simulation)."""
    days, day = [], start
    while day <= end:
        if schedule_is_due(terms, day):
            days.append(day)
        day += timedelta(days=1)
    return days


# ---- statements ----


class StatementStatus(StrEnum):
    """draft -> issued -> confirmed | disputed; disputed -> issued (adjusted or re-issued);
    confirmed -> paid (payout recorded) or carried_forward (net <= 0: nothing to pay)."""

    DRAFT = "draft"
    ISSUED = "issued"
    DISPUTED = "disputed"
    CONFIRMED = "confirmed"
    PAID = "paid"
    CARRIED_FORWARD = "carried_forward"


S = StatementStatus
TRANSITIONS: dict[StatementStatus, frozenset[StatementStatus]] = {
    S.DRAFT: frozenset({S.ISSUED}),
    S.ISSUED: frozenset({S.CONFIRMED, S.DISPUTED}),
    S.DISPUTED: frozenset({S.ISSUED}),
    S.CONFIRMED: frozenset({S.PAID, S.CARRIED_FORWARD}),
    S.PAID: frozenset(),
    S.CARRIED_FORWARD: frozenset(),
}
LOCKED = frozenset({S.CONFIRMED, S.PAID, S.CARRIED_FORWARD})
MERCHANT_VISIBLE = frozenset({S.ISSUED, S.DISPUTED, S.CONFIRMED, S.PAID, S.CARRIED_FORWARD})


def check_statement_transition(current: str, target: str) -> None:
    current_status, target_status = StatementStatus(current), StatementStatus(target)
    if target_status not in TRANSITIONS[current_status]:
        raise InvalidTransition(f"A statement cannot go from {current_status} to {target_status}.",
                                param="status", current=str(current_status), target=str(target_status))


class LineKind(StrEnum):
    ORDER = "order"  # one settled order
    CLAWBACK = "clawback"  # a refund that arrived after its order was settled (negative)
    ADJUSTMENT = "adjustment"  # finance's correction after a dispute (either sign)
    CARRY_FORWARD = "carry_forward"  # a previous statement's negative net, brought forward


VOUCHER_SIGNATURES = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
VOUCHER_MAX_BYTES = 10 * 1024 * 1024


def voucher_content_type(head: bytes, size: int) -> str:
    """The voucher's type from its first bytes (never from its name or the browser's word); else refused."""
    if size <= 0 or size > VOUCHER_MAX_BYTES:
        raise VoucherRejected(param="voucher")
    for magic, content_type in VOUCHER_SIGNATURES.items():
        if head.startswith(magic):
            return content_type
    raise VoucherRejected(param="voucher")
