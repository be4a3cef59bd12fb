"""Fee rules and settlement schedules (master data kept by admins)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from clearhouse.settlement.models import FeeRule, SettlementSchedule


def fee_rule_create(*, currency: str, rate: Decimal | str = "0", fixed_fee_minor: int = 0,
                    minimum_fee_minor: int | None = None, maximum_fee_minor: int | None = None,
                    payment_fee_basis: str = "actual", payment_fee_rate: Decimal | str = "0",
                    effective_from: date, effective_to: date | None = None, merchant=None, business_type=None,
                    note: str = "", actor=None) -> FeeRule:
    """A fee rule for one merchant or one business type (exactly one). Refused with FeeRuleOverlap when
    another rule of the same scope and currency is effective on any of the same dates."""
    raise NotImplementedError


def fee_rule_end(*, rule: FeeRule, effective_to: date, actor=None) -> FeeRule:
    """Close an open-ended rule (so a new one can start after it). Audited."""
    raise NotImplementedError


def schedule_set(*, cycle: str, merchant=None, business_type=None, day_of_month: int | None = None,
                 weekday: int | None = None, delay_days: int | None = None, eligibility_delay_days: int = 0,
                 actor=None) -> SettlementSchedule:
    """Create or replace the schedule of one merchant or one business type. Audited."""
    raise NotImplementedError


def schedule_deactivate(*, schedule: SettlementSchedule, actor=None) -> SettlementSchedule:
    raise NotImplementedError
