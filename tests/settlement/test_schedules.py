"""Schedules: when they run (day N or the month's last day, a weekday, every day) and what they accept."""

from __future__ import annotations

from datetime import date

import pytest

from clearhouse.core.errors import ValidationFailed
from clearhouse.core.models import AuditEvent
from clearhouse.settlement.domain import Cycle, ScheduleTerms, due_days, eligible_before, schedule_is_due
from clearhouse.settlement.models import SettlementSchedule
from clearhouse.settlement.services import schedule_deactivate, schedule_set


def monthly(day: int, delay: int = 0) -> ScheduleTerms:
    return ScheduleTerms(cycle=Cycle.MONTHLY, day_of_month=day, eligibility_delay_days=delay)


def test_a_monthly_schedule_on_the_31st_runs_on_the_30th_of_april():
    assert due_days(monthly(31), date(2027, 4, 1), date(2027, 5, 31)) == [date(2027, 4, 30), date(2027, 5, 31)]


@pytest.mark.parametrize(("day", "year", "run"), [(29, 2027, date(2027, 2, 28)), (30, 2027, date(2027, 2, 28)),
                                                  (31, 2028, date(2028, 2, 29)), (29, 2028, date(2028, 2, 29))])
def test_a_monthly_schedule_past_the_end_of_february_runs_on_its_last_day(day, year, run):
    assert due_days(monthly(day), date(year, 2, 1), date(year, 2, 29 if year % 4 == 0 else 28)) == [run]


def test_a_monthly_schedule_on_a_day_every_month_has_runs_on_that_day():
    assert due_days(monthly(15), date(2026, 1, 1), date(2026, 3, 31)) == [
        date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15)]


def test_a_weekly_schedule_runs_on_its_weekday_only():
    monday = ScheduleTerms(cycle=Cycle.WEEKLY, weekday=0)

    assert schedule_is_due(monday, date(2026, 11, 23))
    assert not schedule_is_due(monday, date(2026, 11, 24))
    assert due_days(monday, date(2026, 11, 1), date(2026, 11, 30)) == [
        date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)]


def test_a_fixed_delay_schedule_runs_every_day_for_orders_eligible_d_days_longer():
    terms = ScheduleTerms(cycle=Cycle.DELAY, delay_days=3, eligibility_delay_days=2)

    assert len(due_days(terms, date(2026, 11, 1), date(2026, 11, 30))) == 30
    assert eligible_before(terms, date(2026, 11, 23)) == date(2026, 11, 18)


def test_a_weekly_run_with_a_seven_day_delay_takes_orders_completed_before_the_previous_week_day():
    terms = ScheduleTerms(cycle=Cycle.WEEKLY, weekday=0, eligibility_delay_days=7)

    assert eligible_before(terms, date(2026, 11, 23)) == date(2026, 11, 16)


@pytest.mark.parametrize("day", [0, 32, -1, None])
def test_a_monthly_day_outside_1_to_31_is_refused(merchant, day):
    with pytest.raises(ValidationFailed) as exc:
        schedule_set(merchant=merchant, cycle="monthly", day_of_month=day)

    assert exc.value.param == "day_of_month"
    assert not SettlementSchedule.objects.exists()


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"cycle": "weekly", "weekday": 7}, "weekday"),
    ({"cycle": "weekly"}, "weekday"),
    ({"cycle": "delay", "delay_days": -1}, "delay_days"),
    ({"cycle": "fortnightly"}, "cycle"),
    ({"cycle": "weekly", "weekday": 0, "eligibility_delay_days": 400}, "eligibility_delay_days"),
    ({"cycle": "monthly", "day_of_month": "5"}, "day_of_month"),
])
def test_other_bad_schedule_terms_are_refused_with_the_parameter_named(merchant, kwargs, param):
    with pytest.raises(ValidationFailed) as exc:
        schedule_set(merchant=merchant, **kwargs)

    assert exc.value.param == param


def test_a_schedule_needs_exactly_one_scope(merchant, business_type):
    with pytest.raises(ValidationFailed) as exc:
        schedule_set(merchant=merchant, business_type=business_type, cycle="weekly", weekday=0)

    assert exc.value.param == "scope"


def test_setting_a_schedule_again_replaces_it_and_keeps_only_its_cycles_parameter(merchant):
    first = schedule_set(merchant=merchant, cycle="weekly", weekday=0, day_of_month=5, eligibility_delay_days=7)
    second = schedule_set(merchant=merchant, cycle="monthly", day_of_month=31)

    assert second.pk == first.pk
    assert SettlementSchedule.objects.count() == 1
    assert (second.cycle, second.day_of_month, second.weekday, second.eligibility_delay_days) == (
        "monthly", 31, None, 0)
    assert first.day_of_month is None  # a weekly schedule has no day of the month
    assert AuditEvent.objects.filter(action="settlement_schedule.set").count() == 2


def test_a_deactivated_schedule_is_kept_inactive_and_set_again_comes_back(business_type):
    schedule = schedule_set(business_type=business_type, cycle="weekly", weekday=4)

    schedule_deactivate(schedule=schedule)
    assert not SettlementSchedule.objects.get(pk=schedule.pk).is_active
    assert AuditEvent.objects.filter(action="settlement_schedule.deactivated").count() == 1

    again = schedule_set(business_type=business_type, cycle="weekly", weekday=4)
    assert again.pk == schedule.pk and again.is_active
