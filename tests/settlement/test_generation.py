"""Scheduled statement generation: which orders land in which statement, with which fee rule, once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from clearhouse.core.money import Money
from clearhouse.settlement.models import SettledRefund, SettlementSchedule, Statement, StatementEvent, StatementLine
from clearhouse.settlement.selectors_eligibility import blocked_orders, settlement_due_balance, totals_per_period
from clearhouse.settlement.services import schedule_deactivate, schedule_set, settlement_run
from clearhouse.settlement.services.generation import statement_lines_recompute, statement_totals_refresh
from clearhouse.settlement.services.rules import fee_rule_end
from tests.settlement.factories import (
    assert_statement_consistent,
    at,
    completed_order,
    fee_rule,
    make_business_type,
    make_merchant,
    refund,
    settlement_row_counts,
    weekly_schedule,
)
from tests.support import run_threads

MON_16, MON_23, MON_30, MON_DEC_7 = date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30), date(2026, 12, 7)


def _orders_of(statement) -> list[str]:
    return sorted(StatementLine.objects.filter(statement_id=statement.pk, kind="order")
                  .values_list("order_number", flat=True))


def _statement(merchant, day, currency="CNY") -> Statement:
    return Statement.objects.get(merchant=merchant, currency=currency, run_key=f"scheduled:{day.isoformat()}")


def test_orders_completed_on_different_days_land_in_the_right_weekly_statements(weekly_merchant, buyer):
    """Weekly on Mondays, 7 days' delay: a run on day R takes what was completed before R - 7."""
    orders = {d: completed_order(weekly_merchant, buyer, subtotal_minor=1000 * (i + 1), completed_at=completed)
              for i, (d, completed) in enumerate({
                  "nov 8": at(date(2026, 11, 8), 18),
                  "nov 15 late": at(date(2026, 11, 15), 23, 59),
                  "nov 16 midnight": at(date(2026, 11, 16), 0, 0),
                  "nov 22": at(date(2026, 11, 22), 9),
                  "nov 23": at(date(2026, 11, 23), 9),
              }.items())}

    for day in (MON_16, MON_23, MON_30, MON_DEC_7):
        settlement_run(day=day)

    number = {k: o.number for k, o in orders.items()}
    assert _orders_of(_statement(weekly_merchant, MON_16)) == [number["nov 8"]]
    assert _orders_of(_statement(weekly_merchant, MON_23)) == [number["nov 15 late"]]
    assert _orders_of(_statement(weekly_merchant, MON_30)) == sorted([number["nov 16 midnight"], number["nov 22"]])
    assert _orders_of(_statement(weekly_merchant, MON_DEC_7)) == [number["nov 23"]]
    periods = [(s.period_start, s.period_end) for s in Statement.objects.order_by("id")]
    assert periods == [(None, date(2026, 11, 8)), (date(2026, 11, 9), date(2026, 11, 15)),
                       (date(2026, 11, 16), date(2026, 11, 22)), (date(2026, 11, 23), date(2026, 11, 29))]
    for statement in Statement.objects.all():
        assert_statement_consistent(statement)


def test_a_statement_is_numbered_readably_and_starts_as_a_draft_with_a_generated_event(weekly_merchant, buyer):
    completed_order(weekly_merchant, buyer, subtotal_minor=5000, completed_at=at(date(2026, 11, 10)))

    result = settlement_run(day=MON_23, actor="scheduler")

    statement = Statement.objects.get(pk=result.statement_ids[0])
    assert statement.number == f"ST-20261123-{weekly_merchant.pk}-CNY"
    assert (statement.status, statement.kind, statement.revision, statement.created_by) == (
        "draft", "scheduled", 1, "scheduler")
    assert statement.schedule_id == SettlementSchedule.objects.get(merchant=weekly_merchant).pk
    event = StatementEvent.objects.get(statement=statement)
    assert (event.type, event.to_status, event.actor) == ("generated", "draft", "scheduler")
    assert event.parameters["run_key"] == "scheduled:2026-11-23"


def test_running_the_same_day_twice_creates_nothing_the_second_time(weekly_merchant, buyer):
    completed_order(weekly_merchant, buyer, subtotal_minor=5000, completed_at=at(date(2026, 11, 10)))
    first = settlement_run(day=MON_23)
    counts = settlement_row_counts()

    second = settlement_run(day=MON_23)

    assert (first.statements_created, first.lines_created, first.orders_settled) == (1, 1, 1)
    assert (second.statements_created, second.lines_created, second.statement_ids) == (0, 0, [])
    assert settlement_row_counts() == counts


def test_a_day_that_is_not_the_schedules_day_creates_nothing(weekly_merchant, buyer):
    completed_order(weekly_merchant, buyer, subtotal_minor=5000, completed_at=at(date(2026, 11, 1)))

    result = settlement_run(day=date(2026, 11, 24))  # a Tuesday

    assert result.statements_created == 0
    assert not Statement.objects.exists()


def test_only_orders_in_the_settle_state_and_not_yet_settled_are_taken(weekly_merchant, buyer):
    done = completed_order(weekly_merchant, buyer, subtotal_minor=5000, completed_at=at(date(2026, 11, 1)))
    completed_order(weekly_merchant, buyer, subtotal_minor=6000, completed_at=at(date(2026, 11, 1)),
                    status="delivered")
    completed_order(weekly_merchant, buyer, subtotal_minor=7000, completed_at=at(date(2026, 11, 1)),
                    status="refunded")
    settlement_run(day=MON_16)

    later = settlement_run(day=MON_23)

    assert _orders_of(_statement(weekly_merchant, MON_16)) == [done.number]
    assert later.statements_created == 0


def test_an_order_without_a_fee_rule_is_blocked_listed_with_its_reason_and_settled_once_a_rule_exists(buyer):
    retail = make_business_type("retail")
    shop = make_merchant("shop", retail)
    weekly_schedule(shop, weekday=0, eligibility_delay_days=7)
    order = completed_order(shop, buyer, subtotal_minor=5000, completed_at=at(date(2026, 11, 10)))

    result = settlement_run(day=MON_23)

    assert (result.statements_created, result.blocked_orders) == (0, 1)
    blocked = list(blocked_orders(merchant_id=shop.pk))
    assert [(o.pk, o.blocked_reason) for o in blocked] == [(order.pk, "no_fee_rule")]

    fee_rule(scope=retail, rate="0.01")
    again = settlement_run(day=MON_30)

    assert (again.orders_settled, again.blocked_orders) == (1, 0)
    assert not blocked_orders(merchant_id=shop.pk).exists()


def test_the_merchants_own_fee_rule_beats_its_business_types(weekly_merchant, other_merchant, buyer, business_type):
    fee_rule(scope=weekly_merchant, rate="0.02", fixed_fee_minor=5)
    weekly_schedule(other_merchant)
    mine = completed_order(weekly_merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10)))
    theirs = completed_order(other_merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10)))

    settlement_run(day=MON_23)

    line = StatementLine.objects.get(order_id=mine.pk)
    assert (line.fee_rate_ppm, line.fixed_fee_minor, line.service_fee_minor) == (20000, 5, 205)
    other = StatementLine.objects.get(order_id=theirs.pk)
    assert (other.fee_rate_ppm, other.service_fee_minor) == (6000, 60)


def test_the_rule_in_force_when_the_order_was_completed_applies(merchant, business_type, buyer):
    weekly_schedule(merchant)
    old = fee_rule(scope=business_type, rate="0.01", effective_from=date(2026, 1, 1))
    fee_rule_end(rule=old, effective_to=date(2026, 11, 9))
    new = fee_rule(scope=business_type, rate="0.02", effective_from=date(2026, 11, 10))
    before = completed_order(merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 9), 23, 59))
    after = completed_order(merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10), 0, 0))

    settlement_run(day=MON_23)

    assert StatementLine.objects.get(order_id=before.pk).fee_rule_id == old.pk
    assert StatementLine.objects.get(order_id=after.pk).fee_rule_id == new.pk
    assert StatementLine.objects.get(order_id=after.pk).service_fee_minor == 200


def test_a_rule_change_after_a_statement_leaves_its_lines_alone_until_it_is_recomputed(merchant, business_type,
                                                                                         buyer):
    weekly_schedule(merchant)
    rule = fee_rule(scope=business_type, rate="0.01")
    order = completed_order(merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10)), fee_minor=30)
    statement = Statement.objects.get(pk=settlement_run(day=MON_23).statement_ids[0])

    fee_rule_end(rule=rule, effective_to=date(2026, 11, 1))
    fee_rule(scope=business_type, rate="0.03", effective_from=date(2026, 11, 2))

    line = StatementLine.objects.get(order_id=order.pk)
    assert (line.fee_rule_id, line.fee_rate_ppm, line.service_fee_minor, line.net_minor) == (
        rule.pk, 10000, 100, 10000 - 100 - 30)

    statement_lines_recompute(statement=statement)

    line.refresh_from_db()
    assert (line.fee_rate_ppm, line.service_fee_minor, line.net_minor) == (30000, 300, 10000 - 300 - 30)
    assert_statement_consistent(statement)
    assert statement.net_minor == 10000 - 300 - 30


def test_the_merchants_own_schedule_beats_its_business_types_and_falls_back_when_deactivated(merchant,
                                                                                              business_type,
                                                                                              food_fee_rule, buyer):
    schedule_set(business_type=business_type, cycle="weekly", weekday=2, eligibility_delay_days=0)  # Wednesdays
    own = weekly_schedule(merchant, weekday=0, eligibility_delay_days=0)  # Mondays
    completed_order(merchant, buyer, subtotal_minor=5000, completed_at=at(date(2026, 11, 10)))

    assert settlement_run(day=date(2026, 11, 18)).statements_created == 0  # the business type's Wednesday
    schedule_deactivate(schedule=own)
    assert settlement_run(day=date(2026, 11, 18)).statements_created == 1


def test_a_merchant_without_a_schedule_gets_no_scheduled_statement(merchant, food_fee_rule, buyer):
    completed_order(merchant, buyer, subtotal_minor=5000, completed_at=at(date(2026, 11, 1)))

    result = settlement_run(day=MON_23)

    assert result.statements_created == 0 and result.blocked_orders == 0


def test_a_run_limited_to_some_merchants_leaves_the_others(weekly_merchant, other_merchant, buyer):
    weekly_schedule(other_merchant)
    completed_order(weekly_merchant, buyer, subtotal_minor=5000, completed_at=at(date(2026, 11, 10)))
    completed_order(other_merchant, buyer, subtotal_minor=5000, completed_at=at(date(2026, 11, 10)))

    result = settlement_run(day=MON_23, merchant_ids=[other_merchant.pk])

    assert [s.merchant_id for s in Statement.objects.filter(pk__in=result.statement_ids)] == [other_merchant.pk]
    assert settlement_run(day=MON_23).statements_created == 1  # the rest, later the same day


def test_each_currency_gets_its_own_statement(weekly_merchant, business_type, buyer):
    fee_rule(scope=business_type, currency="USD", rate="0.03")
    completed_order(weekly_merchant, buyer, subtotal_minor=5000, completed_at=at(date(2026, 11, 10)))
    completed_order(weekly_merchant, buyer, subtotal_minor=700, completed_at=at(date(2026, 11, 10)), currency="USD")

    result = settlement_run(day=MON_23)

    statements = Statement.objects.filter(pk__in=result.statement_ids).order_by("currency")
    assert [(s.currency, s.order_count, s.service_fee_minor) for s in statements] == [("CNY", 1, 30), ("USD", 1, 21)]
    assert statements[1].number == f"ST-20261123-{weekly_merchant.pk}-USD"


def test_refunds_before_settlement_are_counted_on_the_orders_line(weekly_merchant, buyer):
    order = completed_order(weekly_merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10)),
                            fee_minor=60)
    first = refund(order, 1500, at(date(2026, 11, 11)))
    second = refund(order, 500, at(date(2026, 11, 12)))
    refund(order, 700, None, status="failed")

    statement = Statement.objects.get(pk=settlement_run(day=MON_23).statement_ids[0])

    line = StatementLine.objects.get(order_id=order.pk)
    assert (line.refunds_minor, line.net_minor) == (2000, 10000 - 60 - 60 - 2000)
    assert sorted(SettledRefund.objects.filter(statement=statement, as_clawback=False)
                  .values_list("refund_id", flat=True)) == sorted([first.pk, second.pk])
    assert_statement_consistent(statement)


def test_sql_amounts_equal_the_domain_arithmetic_for_every_kind_of_order_and_rule(merchant, business_type, buyer):
    """Coupons, points, shipping, minimum and maximum fees, a fee by rate, an unknown provider fee."""
    weekly_schedule(merchant)
    other = make_merchant("rate-shop", business_type)
    weekly_schedule(other)
    fee_rule(scope=business_type, rate="0.0123", fixed_fee_minor=7, minimum_fee_minor=50, maximum_fee_minor=900)
    fee_rule(scope=other, rate="0.005", payment_fee_basis="rate", payment_fee_rate="0.0038")
    day = at(date(2026, 11, 10))
    for shop in (merchant, other):
        completed_order(shop, buyer, subtotal_minor=123456, shipping_minor=800, merchant_coupon_minor=2000,
                        platform_coupon_minor=1500, points_minor=333, completed_at=day, fee_minor=741)
        completed_order(shop, buyer, subtotal_minor=99, completed_at=day, fee_minor=1)  # the minimum
        completed_order(shop, buyer, subtotal_minor=30, completed_at=day)  # the minimum, capped at what was collected
        completed_order(shop, buyer, subtotal_minor=5_000_000, completed_at=day)  # maximum; provider fee unknown
        completed_order(shop, buyer, subtotal_minor=4050, merchant_coupon_minor=50, completed_at=day, fee_minor=24)
        completed_order(shop, buyer, subtotal_minor=1000, platform_coupon_minor=600, points_minor=400,
                        completed_at=day, captured=False)  # nothing paid by the customer

    result = settlement_run(day=MON_23)

    assert result.orders_settled == 12
    for statement in Statement.objects.all():
        assert_statement_consistent(statement)
    assert StatementLine.objects.get(collected_minor=99, merchant_id=merchant.pk).service_fee_minor == 50  # 1 + 7
    assert StatementLine.objects.get(collected_minor=30, merchant_id=merchant.pk).service_fee_minor == 30
    biggest = StatementLine.objects.get(collected_minor=5_000_000, merchant_id=merchant.pk)
    assert (biggest.service_fee_minor, biggest.payment_fee_minor) == (900, 0)


def test_a_dry_run_writes_nothing_and_previews_exactly_what_the_run_makes(weekly_merchant, other_merchant, buyer):
    weekly_schedule(other_merchant)
    for shop in (weekly_merchant, other_merchant):
        order = completed_order(shop, buyer, subtotal_minor=12345, shipping_minor=600, merchant_coupon_minor=300,
                                platform_coupon_minor=200, completed_at=at(date(2026, 11, 10)), fee_minor=70)
        refund(order, 400, at(date(2026, 11, 12)))
        completed_order(shop, buyer, subtotal_minor=999, completed_at=at(date(2026, 11, 12)), fee_minor=6)
    counts = settlement_row_counts()

    preview = settlement_run(day=MON_23, dry_run=True)

    assert settlement_row_counts() == counts
    assert (preview.dry_run, preview.statements_created, preview.orders_settled) == (True, 2, 4)
    made = settlement_run(day=MON_23)
    for row in preview.preview:
        statement = Statement.objects.get(pk__in=made.statement_ids, merchant_id=row["merchant_id"])
        for column in ("collected_minor", "platform_funded_minor", "service_fee_minor", "payment_fee_minor",
                       "refunds_minor", "net_minor", "order_amount_minor", "merchant_coupon_minor"):
            assert row[column] == getattr(statement, column), column
        assert row["orders"] == statement.order_count
    assert settlement_run(day=MON_23, dry_run=True).preview == []


def test_progress_is_reported_between_steps(weekly_merchant, buyer):
    completed_order(weekly_merchant, buyer, subtotal_minor=5000, completed_at=at(date(2026, 11, 10)))
    calls = []

    settlement_run(day=MON_23, progress=lambda done, total: calls.append((done, total)))

    assert calls and calls[-1][0] == calls[-1][1]
    assert [done for done, _total in calls] == sorted(done for done, _total in calls)


def test_totals_are_refreshed_from_the_lines_after_a_line_is_added(weekly_merchant, buyer):
    completed_order(weekly_merchant, buyer, subtotal_minor=5000, completed_at=at(date(2026, 11, 10)))
    statement = Statement.objects.get(pk=settlement_run(day=MON_23).statement_ids[0])
    StatementLine.objects.create(statement=statement, merchant_id=statement.merchant_id, currency="CNY",
                                 kind="adjustment", net_minor=-250, note="goodwill")

    statement_totals_refresh(statement_ids=[statement.pk])

    statement.refresh_from_db()
    assert (statement.adjustments_minor, statement.line_count, statement.net_minor) == (-250, 2, 5000 - 30 - 250)
    assert_statement_consistent(statement)


def test_periods_follow_on_from_the_previous_statement(weekly_merchant, buyer):
    for day in (date(2026, 11, 3), date(2026, 11, 20)):
        completed_order(weekly_merchant, buyer, subtotal_minor=5000, completed_at=at(day))

    settlement_run(day=MON_16)
    settlement_run(day=MON_23)  # nothing new for this week: no statement
    settlement_run(day=MON_30)

    assert [(s.period_start, s.period_end) for s in Statement.objects.order_by("id")] == [
        (None, date(2026, 11, 8)), (date(2026, 11, 9), date(2026, 11, 22))]
    assert Statement.objects.count() == 2 and MON_30 - timedelta(days=8) == date(2026, 11, 22)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_the_same_time_make_each_statement_once(weekly_merchant, other_merchant, buyer):
    weekly_schedule(other_merchant)
    for shop in (weekly_merchant, other_merchant):
        for day in (3, 5, 9):
            completed_order(shop, buyer, subtotal_minor=1000 * day, completed_at=at(date(2026, 11, day)))

    results, errors = run_threads(3, lambda i: settlement_run(day=MON_23))

    assert errors == []
    assert sorted(r.statements_created for r in results) == [0, 0, 2]
    assert Statement.objects.count() == 2
    assert StatementLine.objects.count() == 6


def test_totals_per_period_sum_statements_by_month_of_their_period_end_and_status(weekly_merchant, other_merchant,
                                                                                 buyer):
    weekly_schedule(other_merchant)
    for shop in (weekly_merchant, other_merchant):
        completed_order(shop, buyer, subtotal_minor=10000, completed_at=at(date(2026, 10, 20)), fee_minor=60)
        completed_order(shop, buyer, subtotal_minor=5000, completed_at=at(date(2026, 11, 10)), fee_minor=30)
    settlement_run(day=date(2026, 11, 2))  # period ends Oct 25
    settlement_run(day=MON_23)  # period ends Nov 15
    Statement.objects.filter(merchant=other_merchant).update(status="issued")

    rows = totals_per_period(currency="CNY")

    assert [(r["month"], r["status"], r["statements"], r["orders"], r["collected_minor"], r["net_minor"])
            for r in rows] == [
        (date(2026, 11, 1), "draft", 1, 1, 5000, 5000 - 30 - 30),
        (date(2026, 11, 1), "issued", 1, 1, 5000, 5000 - 30 - 30),
        (date(2026, 10, 1), "draft", 1, 1, 10000, 10000 - 60 - 60),
        (date(2026, 10, 1), "issued", 1, 1, 10000, 10000 - 60 - 60),
    ]
    assert totals_per_period(merchant_id=weekly_merchant.pk)[0]["statements"] == 1


def test_the_settlement_due_balance_is_zero_before_anything_was_confirmed(weekly_merchant):
    assert settlement_due_balance(merchant=weekly_merchant, currency="cny") == Money(0, "CNY")
