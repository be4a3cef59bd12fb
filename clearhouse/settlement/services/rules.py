"""Fee rules and settlement schedules (master data kept by admins)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clearhouse.accounts.models import BusinessType, Merchant
from clearhouse.core.audit import audit_record
from clearhouse.core.errors import ValidationFailed
from clearhouse.core.money import normalise_currency
from clearhouse.settlement.domain import (
    Cycle,
    FeeRuleOverlap,
    FeeTerms,
    PaymentFeeBasis,
    ScheduleTerms,
    rate_to_ppm,
)
from clearhouse.settlement.models import FeeRule, SettlementSchedule


def day_start(day: date) -> datetime:
    """The instant `day` begins in the platform's time zone (settings.TIME_ZONE)."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def _scope(merchant, business_type) -> dict:
    """Exactly one of merchant / business type, locked: rules and schedules of one scope are written in turn."""
    if (merchant is None) == (business_type is None):
        raise ValidationFailed(_("Give either a merchant or a business type, not both and not neither."),
                               param="scope")
    if merchant is not None:
        Merchant.objects.select_for_update().filter(pk=merchant.pk).first()
        return {"merchant": merchant, "business_type": None}
    BusinessType.objects.select_for_update().filter(pk=business_type.pk).first()
    return {"merchant": None, "business_type": business_type}


def _minor(value, param: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(_("Amounts are whole numbers of minor units."), param=param)
    return value


def _check_no_overlap(*, scope: dict, currency: str, start: date, end: date | None, exclude_id=None) -> None:
    """Rules of one scope and currency never share a date (inclusive ranges; None = open-ended)."""
    clashing = FeeRule.objects.filter(merchant=scope["merchant"], business_type=scope["business_type"],
                                      currency=currency)
    if exclude_id is not None:
        clashing = clashing.exclude(pk=exclude_id)
    if end is not None:
        clashing = clashing.filter(effective_from__lte=end)
    clashing = clashing.exclude(effective_to__lt=start).order_by("id").first()
    if clashing is not None:
        raise FeeRuleOverlap(param="effective_from", rule_id=clashing.pk)


@transaction.atomic
def fee_rule_create(*, currency: str, rate: Decimal | str = "0", fixed_fee_minor: int = 0,
                    minimum_fee_minor: int | None = None, maximum_fee_minor: int | None = None,
                    payment_fee_basis: str = "actual", payment_fee_rate: Decimal | str = "0",
                    effective_from: date, effective_to: date | None = None, merchant=None, business_type=None,
                    note: str = "", actor=None) -> FeeRule:
    """A fee rule for one merchant or one business type (exactly one). Refused with FeeRuleOverlap when
    another rule of the same scope and currency is effective on any of the same dates.

    Rates are Decimal fractions (0.006 = 0.6 %) stored as parts per million;
    the inclusive dates become instants in the platform's time zone
    (starts_at: start of effective_from; ends_at: start of the day after
    effective_to), which is what generation compares orders against.
    """
    scope = _scope(merchant, business_type)
    currency = normalise_currency(currency)
    try:
        basis = PaymentFeeBasis(payment_fee_basis)
    except ValueError:
        raise ValidationFailed(_("The payment fee basis is 'actual' or 'rate'."), param="payment_fee_basis") from None
    terms = FeeTerms(rate_ppm=rate_to_ppm(rate, param="rate"),
                     fixed_fee_minor=_minor(fixed_fee_minor, "fixed_fee"),
                     minimum_fee_minor=_minor(minimum_fee_minor, "minimum_fee", optional=True),
                     maximum_fee_minor=_minor(maximum_fee_minor, "maximum_fee", optional=True),
                     payment_fee_basis=basis,
                     payment_fee_rate_ppm=rate_to_ppm(payment_fee_rate, param="payment_fee_rate"))
    if not isinstance(effective_from, date):
        raise ValidationFailed(_("A fee rule needs the date it takes effect."), param="effective_from")
    if effective_to is not None and effective_to < effective_from:
        raise ValidationFailed(_("A fee rule cannot end before it starts."), param="effective_to")
    _check_no_overlap(scope=scope, currency=currency, start=effective_from, end=effective_to)
    rule = FeeRule.objects.create(
        **scope, currency=currency, rate_ppm=terms.rate_ppm, fixed_fee_minor=terms.fixed_fee_minor,
        minimum_fee_minor=terms.minimum_fee_minor, maximum_fee_minor=terms.maximum_fee_minor,
        payment_fee_basis=terms.payment_fee_basis.value, payment_fee_rate_ppm=terms.payment_fee_rate_ppm,
        effective_from=effective_from, effective_to=effective_to, starts_at=day_start(effective_from),
        ends_at=day_start(effective_to + timedelta(days=1)) if effective_to else None,
        note=(note or "")[:200], created_by=_actor_name(actor))
    audit_record(action="fee_rule.created", actor=actor, object_type="fee_rule", object_id=rule.pk,
                 payload={"merchant": rule.merchant_id, "business_type": rule.business_type_id,
                          "currency": currency, "rate_ppm": rule.rate_ppm, "fixed_fee_minor": rule.fixed_fee_minor,
                          "minimum_fee_minor": rule.minimum_fee_minor, "maximum_fee_minor": rule.maximum_fee_minor,
                          "payment_fee_basis": rule.payment_fee_basis,
                          "payment_fee_rate_ppm": rule.payment_fee_rate_ppm,
                          "effective_from": effective_from, "effective_to": effective_to})
    return rule


@transaction.atomic
def fee_rule_end(*, rule: FeeRule, effective_to: date, actor=None) -> FeeRule:
    """Close an open-ended rule (so a new one can start after it), or move its last day. Audited.

    The last day is never before the first, and a moved end never runs into
    another rule of the same scope and currency. Statement lines already
    made keep the terms frozen on them.
    """
    scope = _scope(rule.merchant, rule.business_type)
    rule = FeeRule.objects.get(pk=rule.pk)
    if not isinstance(effective_to, date) or effective_to < rule.effective_from:
        raise ValidationFailed(_("A fee rule cannot end before it starts."), param="effective_to")
    _check_no_overlap(scope=scope, currency=rule.currency, start=rule.effective_from, end=effective_to,
                      exclude_id=rule.pk)
    previous = rule.effective_to
    rule.effective_to = effective_to
    rule.ends_at = day_start(effective_to + timedelta(days=1))
    rule.save(update_fields=["effective_to", "ends_at"])
    audit_record(action="fee_rule.ended", actor=actor, object_type="fee_rule", object_id=rule.pk,
                 payload={"effective_to": effective_to, "previous_effective_to": previous})
    return rule


def schedule_terms_of(schedule: SettlementSchedule) -> ScheduleTerms:
    """A stored schedule as the pure terms domain.py reasons about."""
    return ScheduleTerms(cycle=Cycle(schedule.cycle), day_of_month=schedule.day_of_month, weekday=schedule.weekday,
                         delay_days=schedule.delay_days, eligibility_delay_days=schedule.eligibility_delay_days)


def _schedule_terms(*, cycle, day_of_month, weekday, delay_days, eligibility_delay_days) -> ScheduleTerms:
    try:
        cycle = Cycle(cycle)
    except ValueError:
        raise ValidationFailed(_("The cycle is monthly, weekly or delay."), param="cycle") from None
    for param, value in (("day_of_month", day_of_month), ("weekday", weekday), ("delay_days", delay_days),
                         ("eligibility_delay_days", eligibility_delay_days)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationFailed(_("This must be a whole number."), param=param)
    # Only the cycle's own parameter is kept: a weekly schedule has no day of the month.
    return ScheduleTerms(cycle=cycle, day_of_month=day_of_month if cycle == Cycle.MONTHLY else None,
                         weekday=weekday if cycle == Cycle.WEEKLY else None,
                         delay_days=delay_days if cycle == Cycle.DELAY else None,
                         eligibility_delay_days=eligibility_delay_days or 0)


@transaction.atomic
def schedule_set(*, cycle: str, merchant=None, business_type=None, day_of_month: int | None = None,
                 weekday: int | None = None, delay_days: int | None = None, eligibility_delay_days: int = 0,
                 actor=None) -> SettlementSchedule:
    """Create or replace the schedule of one merchant or one business type (active again if it was not). Audited.

    Monthly on day 1-31 (29-31 fall back to the month's last day), weekly on
    a weekday (0 = Monday), or every day for orders eligible D days more;
    anything else is refused with the parameter named.
    """
    _scope(merchant, business_type)
    terms = _schedule_terms(cycle=cycle, day_of_month=day_of_month, weekday=weekday, delay_days=delay_days,
                            eligibility_delay_days=eligibility_delay_days)
    values = {"cycle": terms.cycle.value, "day_of_month": terms.day_of_month, "weekday": terms.weekday,
              "delay_days": terms.delay_days, "eligibility_delay_days": terms.eligibility_delay_days,
              "is_active": True}
    key = {"merchant": merchant} if merchant is not None else {"business_type": business_type}
    schedule, created = SettlementSchedule.objects.update_or_create(**key, defaults=values)
    audit_record(action="settlement_schedule.set", actor=actor, object_type="settlement_schedule",
                 object_id=schedule.pk,
                 payload={**{k: v for k, v in values.items() if k != "is_active"}, "created": created,
                          "merchant": schedule.merchant_id, "business_type": schedule.business_type_id})
    return schedule


@transaction.atomic
def schedule_deactivate(*, schedule: SettlementSchedule, actor=None) -> SettlementSchedule:
    """Stop a schedule: its merchant falls back to its business type's schedule, or to manual statements."""
    schedule = SettlementSchedule.objects.select_for_update().get(pk=schedule.pk)
    if schedule.is_active:
        schedule.is_active = False
        schedule.save(update_fields=["is_active", "updated_at"])
        audit_record(action="settlement_schedule.deactivated", actor=actor, object_type="settlement_schedule",
                     object_id=schedule.pk, payload={"merchant": schedule.merchant_id,
                                                     "business_type": schedule.business_type_id})
    return schedule


def _actor_name(actor) -> str:
    from clearhouse.core.audit import actor_label

    return actor_label(actor)[:200]
