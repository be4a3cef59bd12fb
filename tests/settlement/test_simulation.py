"""Simulation: what a proposed fee rule or schedule would have produced over past dates, writing nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from clearhouse.core.errors import ValidationFailed
from clearhouse.settlement.domain import Cycle, FeeTerms, PaymentFeeBasis, ScheduleTerms
from clearhouse.settlement.models import Statement
from clearhouse.settlement.services import schedule_set, settlement_run
from clearhouse.settlement.services.simulation import ProposedFeeRule, simulate_fee_rule, simulate_schedule
from tests.settlement.factories import (
    at,
    completed_order,
    fee_rule,
    make_business_type,
    make_merchant,
    refund,
    settlement_row_counts,
    weekly_schedule,
)

NOV_1, NOV_30 = date(2026, 11, 1), date(2026, 11, 30)


def _rows_by_merchant(rows):
    return {row["merchant_id"]: row for row in rows}


def test_a_proposed_business_type_rule_is_shown_beside_the_current_one_and_nothing_is_written(
        merchant, other_merchant, business_type, food_fee_rule, buyer):
    fee_rule(scope=other_merchant, rate="0.02")  # its own rule: a business-type proposal leaves it alone
    weekly_schedule(merchant)
    settled = completed_order(merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 3)), fee_minor=60)
    settlement_run(day=date(2026, 11, 16))  # settled since: still counted
    refund(settled, 1000, at(date(2026, 11, 20)))
    completed_order(merchant, buyer, subtotal_minor=20000, merchant_coupon_minor=2000, platform_coupon_minor=500,
                    completed_at=at(date(2026, 11, 25)), fee_minor=100)
    completed_order(merchant, buyer, subtotal_minor=99999, completed_at=at(date(2026, 12, 1)))  # after the range
    completed_order(other_merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10)), fee_minor=60)
    counts = settlement_row_counts()

    proposed = ProposedFeeRule(terms=FeeTerms(rate_ppm=10000, fixed_fee_minor=10), currency="CNY",
                               business_type_id=business_type.pk)
    rows = _rows_by_merchant(simulate_fee_rule(proposed=proposed, start=NOV_1, end=NOV_30))

    assert settlement_row_counts() == counts
    mine = rows[merchant.pk]
    assert (mine["orders"], mine["collected_minor"], mine["refunds_minor"], mine["platform_funded_minor"]) == (
        2, 28000, 1000, 500)
    assert (mine["current_service_fee_minor"], mine["proposed_service_fee_minor"]) == (60 + 108, 110 + 190)
    assert mine["current_payment_fee_minor"] == mine["proposed_payment_fee_minor"] == 160
    assert mine["current_net_minor"] == 28000 - 168 - 160 - 1000
    assert mine["proposed_net_minor"] == 28000 - 300 - 160 - 1000
    theirs = rows[other_merchant.pk]
    assert theirs["current_service_fee_minor"] == theirs["proposed_service_fee_minor"] == 200


def test_a_proposed_merchant_rule_applies_to_that_merchant_only(merchant, other_merchant, food_fee_rule, buyer):
    completed_order(merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 3)), fee_minor=60)
    completed_order(other_merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 3)), fee_minor=60)

    proposed = ProposedFeeRule(terms=FeeTerms(payment_fee_basis=PaymentFeeBasis.RATE, payment_fee_rate_ppm=3000,
                                              minimum_fee_minor=25), currency="CNY", merchant_id=merchant.pk)
    rows = simulate_fee_rule(proposed=proposed, start=NOV_1, end=NOV_30)

    assert [r["merchant_id"] for r in rows] == [merchant.pk]
    assert (rows[0]["proposed_service_fee_minor"], rows[0]["proposed_payment_fee_minor"]) == (25, 30)
    assert rows[0]["proposed_net_minor"] == 10000 - 25 - 30


def test_orders_no_rule_covers_today_are_counted_apart(buyer):
    retail = make_business_type("retail")
    store = make_merchant("store", retail)
    completed_order(store, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 3)))

    proposed = ProposedFeeRule(terms=FeeTerms(rate_ppm=5000), currency="CNY", business_type_id=retail.pk)
    [row] = simulate_fee_rule(proposed=proposed, start=NOV_1, end=NOV_30)

    assert (row["orders"], row["orders_without_rule"], row["current_net_minor"]) == (1, 1, 0)
    assert row["proposed_service_fee_minor"] == 50


def test_a_simulated_schedule_shows_the_statements_the_real_runs_then_make(merchant, other_merchant, business_type,
                                                                          food_fee_rule, buyer):
    for shop in (merchant, other_merchant):
        for day, subtotal in ((date(2026, 10, 22), 1000), (date(2026, 11, 4), 2500), (date(2026, 11, 9), 4000),
                              (date(2026, 11, 20), 7300), (date(2026, 11, 23), 9900)):
            order = completed_order(shop, buyer, subtotal_minor=subtotal, completed_at=at(day),
                                    fee_minor=subtotal // 100)
            if subtotal == 4000:
                refund(order, 300, at(day + timedelta(days=1)))
    terms = ScheduleTerms(cycle=Cycle.WEEKLY, weekday=0, eligibility_delay_days=7)
    counts = settlement_row_counts()

    simulation = simulate_schedule(terms=terms, start=NOV_1, end=NOV_30, business_type_id=business_type.pk)

    assert settlement_row_counts() == counts
    assert simulation.run_days == [date(2026, 11, d) for d in (2, 9, 16, 23, 30)]
    schedule_set(business_type=business_type, cycle="weekly", weekday=0, eligibility_delay_days=7)
    for day in simulation.run_days:
        settlement_run(day=day)
    made = sorted((s.period_end + timedelta(days=8), s.merchant_id, s.currency, s.order_count, s.collected_minor,
                   s.service_fee_minor, s.payment_fee_minor, s.refunds_minor, s.net_minor)
                  for s in Statement.objects.all())
    simulated = sorted((r["run_day"], r["merchant_id"], r["currency"], r["orders"], r["collected_minor"],
                        r["service_fee_minor"], r["payment_fee_minor"], r["refunds_minor"], r["net_minor"])
                       for r in simulation.statements)
    assert simulated == made
    assert len(made) == 8  # Nov 2, 16, 23 and 30 for each merchant; the Nov 9 run found nothing


def test_a_simulated_business_type_schedule_leaves_out_merchants_with_their_own(merchant, other_merchant,
                                                                               business_type, food_fee_rule, buyer):
    weekly_schedule(other_merchant)
    for shop in (merchant, other_merchant):
        completed_order(shop, buyer, subtotal_minor=1000, completed_at=at(date(2026, 11, 3)))

    simulation = simulate_schedule(terms=ScheduleTerms(cycle=Cycle.MONTHLY, day_of_month=31), start=NOV_1,
                                   end=date(2026, 12, 31), business_type_id=business_type.pk)

    assert simulation.run_days == [date(2026, 11, 30), date(2026, 12, 31)]
    assert [(r["run_day"], r["merchant_id"], r["orders"]) for r in simulation.statements] == [
        (date(2026, 11, 30), merchant.pk, 1)]


@pytest.mark.parametrize(("start", "end"), [(NOV_30, NOV_1), (date(2026, 1, 1), date(2027, 1, 2))])
def test_a_backwards_or_too_long_range_is_refused(merchant, start, end):
    with pytest.raises(ValidationFailed):
        simulate_schedule(terms=ScheduleTerms(cycle=Cycle.DELAY, delay_days=1), start=start, end=end,
                          merchant_id=merchant.pk)
    with pytest.raises(ValidationFailed):
        simulate_fee_rule(proposed=ProposedFeeRule(terms=FeeTerms(), currency="CNY", merchant_id=merchant.pk),
                          start=start, end=end)


def test_a_proposal_needs_exactly_one_scope(merchant, business_type):
    with pytest.raises(ValidationFailed) as exc:
        simulate_fee_rule(proposed=ProposedFeeRule(terms=FeeTerms(), currency="CNY", merchant_id=merchant.pk,
                                                   business_type_id=business_type.pk), start=NOV_1, end=NOV_30)

    assert exc.value.param == "scope"
