"""Settlement invariants for random orders, coupons, points, refunds (before and after settlement) and fee rules.

- statement totals are the sums of their lines;
- per line and per statement: what the customer paid = net + service fee + payment fee + refunds - platform-funded
  (clawback lines add a refund and take it off the net, so they keep the balance);
- every order lands in exactly one statement, every succeeded refund is counted exactly once;
- the SQL amounts equal domain.order_amounts to the cent, and a dry run previews exactly what the run makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearhouse.payments.models import Refund
from clearhouse.settlement.models import SettledRefund, Statement, StatementLine
from clearhouse.settlement.services import fee_rule_create, schedule_set, settlement_run
from tests.settlement.factories import (
    assert_statement_consistent,
    at,
    completed_order,
    make_business_type,
    make_customer,
    make_merchant,
    refund,
)

FIRST_RUN, SECOND_RUN = date(2026, 11, 23), date(2026, 11, 30)  # Mondays; a 7-day delay covers Nov 2-15, then 16-22


@dataclass(frozen=True)
class OrderCase:
    subtotal: int
    shipping: int
    merchant_coupon: int
    platform_coupon: int
    points: int
    day: int  # November
    fee: int | None
    merchant: int
    refunds_before: tuple[int, ...]
    refunds_after: tuple[int, ...]
    failed_refund: bool


@st.composite
def orders(draw) -> OrderCase:
    subtotal = draw(st.integers(0, 2_000_000))
    shipping = draw(st.sampled_from([0, 0, 500, draw(st.integers(0, 5000))]))
    merchant_coupon = draw(st.integers(0, subtotal))
    left = subtotal + shipping - merchant_coupon
    platform_coupon = draw(st.integers(0, left))
    points = draw(st.integers(0, left - platform_coupon))
    paid = left - platform_coupon - points
    refunds = draw(st.lists(st.integers(1, max(paid, 1)), max_size=3)) if paid > 0 else []
    kept, total = [], 0
    for amount in refunds:  # never refund more than was paid
        if total + amount <= paid:
            kept.append(amount)
            total += amount
    split = draw(st.integers(0, len(kept)))
    return OrderCase(subtotal, shipping, merchant_coupon, platform_coupon, points, day=draw(st.integers(2, 22)),
                     fee=draw(st.one_of(st.none(), st.integers(0, max(paid // 50, 1)))),
                     merchant=draw(st.integers(0, 1)), refunds_before=tuple(kept[:split]),
                     refunds_after=tuple(kept[split:]), failed_refund=draw(st.booleans()))


@st.composite
def fee_terms(draw) -> dict:
    minimum = draw(st.one_of(st.none(), st.integers(0, 2000)))
    maximum = draw(st.one_of(st.none(), st.integers(minimum or 0, 50_000)))
    basis = draw(st.sampled_from(["actual", "rate"]))
    return {"rate": Decimal(draw(st.integers(0, 150_000))) / 1_000_000,
            "fixed_fee_minor": draw(st.sampled_from([0, 0, draw(st.integers(0, 1000))])),
            "minimum_fee_minor": minimum, "maximum_fee_minor": maximum, "payment_fee_basis": basis,
            "payment_fee_rate": Decimal(draw(st.integers(0, 30_000))) / 1_000_000}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(cases=st.lists(orders(), min_size=1, max_size=8), business_terms=fee_terms(),
       own_terms=st.one_of(st.none(), fee_terms()))
def test_settlement_invariants_hold_for_random_orders_refunds_and_fee_rules(db, cases, business_terms, own_terms):
    with transaction.atomic():
        _check(cases, business_terms, own_terms)
        transaction.set_rollback(True)


def _check(cases, business_terms, own_terms) -> None:
    business_type = make_business_type("prop")
    shops = [make_merchant(f"prop-{i}", business_type) for i in range(2)]
    buyer = make_customer("prop")
    schedule_set(business_type=business_type, cycle="weekly", weekday=0, eligibility_delay_days=7)
    fee_rule_create(business_type=business_type, currency="CNY", effective_from=date(2026, 1, 1), **business_terms)
    if own_terms is not None:
        fee_rule_create(merchant=shops[1], currency="CNY", effective_from=date(2026, 1, 1), **own_terms)
    made = []
    for case in cases:
        order = completed_order(shops[case.merchant], buyer, subtotal_minor=case.subtotal, shipping_minor=case.shipping,
                                merchant_coupon_minor=case.merchant_coupon, platform_coupon_minor=case.platform_coupon,
                                points_minor=case.points, completed_at=at(date(2026, 11, case.day)),
                                fee_minor=case.fee)
        for amount in case.refunds_before:
            refund(order, amount, at(date(2026, 11, case.day)))
        if case.failed_refund and order.total_minor > 0:
            refund(order, 1, None, status="failed")
        made.append((order, case))

    preview = settlement_run(day=FIRST_RUN, dry_run=True).preview
    first = settlement_run(day=FIRST_RUN)
    _preview_matches(preview, first.statement_ids)
    for order, case in made:
        for amount in case.refunds_after:
            refund(order, amount, at(FIRST_RUN + timedelta(days=1)))
    settlement_run(day=SECOND_RUN)

    for statement in Statement.objects.all():
        assert_statement_consistent(statement)
        _statement_reconciles(statement)
    order_ids = list(StatementLine.objects.filter(kind="order").values_list("order_id", flat=True))
    assert sorted(order_ids) == sorted(order.pk for order, _case in made)  # each order once, none left
    succeeded = set(Refund.objects.filter(status="succeeded").values_list("pk", flat=True))
    counted = list(SettledRefund.objects.values_list("refund_id", flat=True))
    assert sorted(counted) == sorted(succeeded)  # each succeeded refund counted once
    _no_cent_created_or_lost(made)


def _statement_reconciles(statement: Statement) -> None:
    paid = StatementLine.objects.filter(statement=statement, kind="order").aggregate(p=Sum("paid_minor"))["p"] or 0
    assert paid == (statement.net_minor + statement.service_fee_minor + statement.payment_fee_minor
                    + statement.refunds_minor - statement.platform_funded_minor)


def _no_cent_created_or_lost(made) -> None:
    """Everything customers paid is, to the cent, the merchants' net plus fees plus refunds less platform funding."""
    paid = sum(order.total_minor for order, _case in made)
    totals = Statement.objects.aggregate(net=Sum("net_minor"), fees=Sum("service_fee_minor"),
                                         pay=Sum("payment_fee_minor"), refunds=Sum("refunds_minor"),
                                         funded=Sum("platform_funded_minor"))
    assert paid == (totals["net"] + totals["fees"] + totals["pay"] + totals["refunds"] - totals["funded"])
    refunded = sum(sum(case.refunds_before) + sum(case.refunds_after) for _order, case in made)
    assert totals["refunds"] == refunded


def _preview_matches(preview: list[dict], statement_ids: list[int]) -> None:
    statements = {(s.merchant_id, s.currency): s for s in Statement.objects.filter(pk__in=statement_ids)}
    assert sorted(statements) == sorted((row["merchant_id"], row["currency"]) for row in preview)
    for row in preview:
        statement = statements[(row["merchant_id"], row["currency"])]
        for column in ("collected_minor", "service_fee_minor", "payment_fee_minor", "refunds_minor", "net_minor",
                       "platform_funded_minor"):
            assert row[column] == getattr(statement, column), column
