"""Fee rules: one scope, exact rates, sane bounds and dates, never two rules for the same scope, currency and day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from clearhouse.core.errors import UnknownCurrency, ValidationFailed
from clearhouse.core.models import AuditEvent
from clearhouse.settlement.domain import FeeRuleOverlap
from clearhouse.settlement.models import FeeRule
from clearhouse.settlement.services import fee_rule_create, fee_rule_end
from tests.settlement.factories import make_merchant

JAN_1 = date(2026, 1, 1)


def _rule(**kwargs):
    defaults = {"currency": "CNY", "rate": "0.006", "effective_from": JAN_1}
    return fee_rule_create(**{**defaults, **kwargs})


def test_a_business_type_rule_keeps_its_rate_in_ppm_and_its_dates_as_instants_in_the_platform_zone(business_type):
    rule = _rule(business_type=business_type, rate=Decimal("0.0065"), fixed_fee_minor=10, minimum_fee_minor=50,
                 maximum_fee_minor=5000, effective_to=date(2026, 6, 30))

    assert (rule.rate_ppm, rule.fixed_fee_minor, rule.minimum_fee_minor, rule.maximum_fee_minor) == (6500, 10, 50, 5000)
    assert rule.rate == Decimal("0.0065")
    zone = timezone.get_default_timezone()
    assert rule.starts_at == datetime(2026, 1, 1, tzinfo=zone)
    assert rule.ends_at == datetime(2026, 7, 1, tzinfo=zone)  # the start of the day after the last one
    assert AuditEvent.objects.filter(action="fee_rule.created", object_id=str(rule.pk)).exists()


def test_an_open_ended_rule_has_no_end_instant(merchant):
    rule = _rule(merchant=merchant, currency="cny")

    assert rule.currency == "CNY"
    assert rule.ends_at is None and rule.effective_to is None


def test_a_rule_for_both_a_merchant_and_a_business_type_is_refused(merchant, business_type):
    with pytest.raises(ValidationFailed) as exc:
        _rule(merchant=merchant, business_type=business_type)

    assert exc.value.param == "scope"
    assert not FeeRule.objects.exists()


def test_a_rule_for_nobody_is_refused(db):
    with pytest.raises(ValidationFailed) as exc:
        _rule()

    assert exc.value.param == "scope"


@pytest.mark.parametrize(("rate", "param"), [("1.5", "rate"), ("-0.01", "rate"), ("0.0000001", "rate"),
                                             ("abc", "rate")])
def test_a_rate_out_of_range_or_too_precise_is_refused(business_type, rate, param):
    with pytest.raises(ValidationFailed) as exc:
        _rule(business_type=business_type, rate=rate)

    assert exc.value.param == param


def test_a_float_rate_is_refused(business_type):
    with pytest.raises(ValidationFailed):
        _rule(business_type=business_type, rate=0.006)


def test_a_minimum_above_the_maximum_is_refused(business_type):
    with pytest.raises(ValidationFailed) as exc:
        _rule(business_type=business_type, minimum_fee_minor=500, maximum_fee_minor=100)

    assert exc.value.param == "minimum_fee"


def test_a_negative_fixed_fee_is_refused(business_type):
    with pytest.raises(ValidationFailed):
        _rule(business_type=business_type, fixed_fee_minor=-1)


def test_an_unknown_payment_fee_basis_is_refused(business_type):
    with pytest.raises(ValidationFailed) as exc:
        _rule(business_type=business_type, payment_fee_basis="guess")

    assert exc.value.param == "payment_fee_basis"


def test_an_unknown_currency_is_refused(business_type):
    with pytest.raises(UnknownCurrency):
        _rule(business_type=business_type, currency="XXY")


def test_a_rule_that_ends_before_it_starts_is_refused(business_type):
    with pytest.raises(ValidationFailed) as exc:
        _rule(business_type=business_type, effective_from=date(2026, 3, 1), effective_to=date(2026, 2, 28))

    assert exc.value.param == "effective_to"


def test_a_rule_overlapping_another_of_the_same_scope_and_currency_is_refused(business_type):
    _rule(business_type=business_type, effective_from=JAN_1, effective_to=date(2026, 6, 30))

    with pytest.raises(FeeRuleOverlap) as exc:
        _rule(business_type=business_type, effective_from=date(2026, 6, 30))

    assert exc.value.code == "fee_rule_overlap" and exc.value.http_status == 409
    assert FeeRule.objects.count() == 1


def test_an_open_ended_rule_overlaps_every_later_start(business_type):
    _rule(business_type=business_type, effective_from=date(2026, 3, 1))

    with pytest.raises(FeeRuleOverlap):
        _rule(business_type=business_type, effective_from=date(2030, 1, 1))
    with pytest.raises(FeeRuleOverlap):  # ... and a rule before it that runs into it
        _rule(business_type=business_type, effective_from=JAN_1, effective_to=date(2026, 3, 1))


def test_adjacent_rules_and_rules_of_other_scopes_or_currencies_do_not_overlap(business_type, merchant):
    _rule(business_type=business_type, effective_from=JAN_1, effective_to=date(2026, 6, 30))

    _rule(business_type=business_type, effective_from=date(2026, 7, 1))
    _rule(business_type=business_type, currency="USD", effective_from=JAN_1)
    _rule(merchant=merchant, effective_from=JAN_1)
    _rule(merchant=make_merchant("other"), effective_from=JAN_1)

    assert FeeRule.objects.count() == 5


def test_ending_an_open_rule_makes_room_for_the_next(business_type):
    first = _rule(business_type=business_type, effective_from=JAN_1)

    ended = fee_rule_end(rule=first, effective_to=date(2026, 11, 30))
    second = _rule(business_type=business_type, rate="0.008", effective_from=date(2026, 12, 1))

    assert ended.ends_at == second.starts_at
    assert ended.ends_at - ended.starts_at == timedelta(days=334)
    assert AuditEvent.objects.filter(action="fee_rule.ended", object_id=str(first.pk)).exists()


def test_a_rule_cannot_end_before_it_starts_or_run_into_the_next(business_type):
    first = _rule(business_type=business_type, effective_from=JAN_1, effective_to=date(2026, 5, 31))
    _rule(business_type=business_type, effective_from=date(2026, 6, 1))

    with pytest.raises(ValidationFailed):
        fee_rule_end(rule=first, effective_to=date(2025, 12, 31))
    with pytest.raises(FeeRuleOverlap):
        fee_rule_end(rule=first, effective_to=date(2026, 6, 1))

    first.refresh_from_db()
    assert first.effective_to == date(2026, 5, 31)
