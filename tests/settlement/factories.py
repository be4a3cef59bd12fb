"""Test data for settlement, written straight through the ORM (fast; no checkout, no provider calls).

Other settlement test modules (statement lifecycle, web, API) import these; the names are stable:

    at(day, hour=12, minute=0)            aware datetime on `day` in the platform time zone (settings.TIME_ZONE)
    day_start(day)                        the start of `day` in the platform time zone
    make_business_type(code="food")       a BusinessType
    make_merchant(code, business_type=None, name=None)
                                          a Merchant (business type "food" made when not given)
    make_customer(name="lin")             a CustomerProfile (its user has no usable password: no hashing cost)
    completed_order(merchant, customer, *, subtotal_minor, shipping_minor=0, merchant_coupon_minor=0,
                    platform_coupon_minor=0, points_minor=0, completed_at, fee_minor=None, currency="CNY",
                    status="completed", captured=True)
                                          an Order in `status` since `completed_at` (Order.status_changed_at),
                                          total = subtotal + shipping - coupons - points, with its own checkout
                                          group and (captured=True, total > 0) a captured PaymentIntent for the
                                          total carrying the provider's fee `fee_minor` (None: not known)
    refund(order, amount_minor, succeeded_at, *, status="succeeded")
                                          a payments Refund of the order's captured intent
    fee_rule(*, scope, currency="CNY", rate="0.006", effective_from=date(2026, 1, 1), **terms)
                                          a FeeRule through the service (`scope` a Merchant or a BusinessType)
    weekly_schedule(scope, *, weekday=0, eligibility_delay_days=7)
                                          a weekly SettlementSchedule through the service (0 = Monday)
    settlement_row_counts()               rows per settlement table (to check that something wrote nothing)
    expected_line_amounts(line)           domain.order_amounts for an order line, from its order, its frozen fee
                                          terms, the captured intent's fee and the refunds counted on it
    assert_statement_consistent(statement)
                                          every order line == expected_line_amounts, and every total == the sum
                                          of its lines (net includes carry-forward and adjustments)

All money is integer minor units. `at()` and `completed_at` use the platform time zone, so tests read the
same whatever CLEARHOUSE_TIME_ZONE is.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, time
from decimal import Decimal

from django.utils import timezone

from clearhouse.accounts.models import BusinessType, Merchant, User
from clearhouse.customers.models import CustomerProfile
from clearhouse.orders.models import CheckoutGroup, Order
from clearhouse.payments.models import PaymentIntent, Refund
from clearhouse.settlement.domain import FeeTerms, OrderFigures, PaymentFeeBasis, order_amounts
from clearhouse.settlement.models import (
    FeeRule,
    SettledRefund,
    SettlementSchedule,
    Statement,
    StatementEvent,
    StatementLine,
)

_serial = itertools.count(1)
_RUN = uuid.uuid4().hex[:6].upper()  # numbers stay unique across tests that commit (transaction=True)


def _next(prefix: str) -> str:
    return f"{prefix}-{_RUN}-{next(_serial):08d}"


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_default_timezone())


def make_business_type(code: str = "food") -> BusinessType:
    return BusinessType.objects.get_or_create(code=code, defaults={"name": code.capitalize()})[0]


def make_merchant(code: str, business_type: BusinessType | None = None, name: str | None = None) -> Merchant:
    return Merchant.objects.create(code=code, name=name or code.replace("-", " ").title(),
                                   business_type=business_type or make_business_type())


def make_customer(name: str = "lin") -> CustomerProfile:
    user = User(username=f"{name}-{_next('u')}".lower())
    user.set_unusable_password()
    user.save()
    return CustomerProfile.objects.create(user=user, display_name=name.title())


def completed_order(merchant: Merchant, customer: CustomerProfile, *, subtotal_minor: int, shipping_minor: int = 0,
                    merchant_coupon_minor: int = 0, platform_coupon_minor: int = 0, points_minor: int = 0,
                    completed_at: datetime, fee_minor: int | None = None, currency: str = "CNY",
                    status: str = "completed", captured: bool = True) -> Order:
    total = subtotal_minor + shipping_minor - merchant_coupon_minor - platform_coupon_minor - points_minor
    amounts = dict(currency=currency, subtotal_minor=subtotal_minor, shipping_fee_minor=shipping_minor,
                   merchant_coupon_amount_minor=merchant_coupon_minor,
                   platform_coupon_amount_minor=platform_coupon_minor, points_amount_minor=points_minor,
                   total_minor=total)
    group = CheckoutGroup.objects.create(number=_next("CG"), customer=customer, **amounts)
    order = Order.objects.create(number=_next("SO"), group=group, customer=customer, merchant=merchant,
                                 status=status, status_changed_at=completed_at, ship_recipient="Lin Mei",
                                 ship_phone="13800000000", ship_region="Zhejiang", ship_city="Hangzhou",
                                 ship_line="1 West Lake Road", **amounts)
    if captured and total > 0:
        PaymentIntent.objects.create(reference=_next("PI"), order=order, merchant=merchant, customer=customer,
                                     method="wechat_pay", provider="sandbox", status="captured", currency=currency,
                                     amount_minor=total, amount_authorized_minor=total, amount_captured_minor=total,
                                     fee_minor=fee_minor, paid_at=completed_at)
    return order


def refund(order: Order, amount_minor: int, succeeded_at: datetime | None, *, status: str = "succeeded") -> Refund:
    intent = PaymentIntent.objects.get(order=order, status="captured")
    if status == "succeeded":
        PaymentIntent.objects.filter(pk=intent.pk).update(
            amount_refunded_minor=intent.amount_refunded_minor + amount_minor)
    return Refund.objects.create(reference=_next("RF"), intent=intent, order=order, merchant_id=order.merchant_id,
                                 status=status, currency=order.currency, amount_minor=amount_minor,
                                 reason="returned", requested_by="test",
                                 succeeded_at=succeeded_at if status == "succeeded" else None)


def fee_rule(*, scope, currency: str = "CNY", rate: Decimal | str = "0.006", effective_from: date = date(2026, 1, 1),
             **terms) -> FeeRule:
    from clearhouse.settlement.services.rules import fee_rule_create

    key = "merchant" if isinstance(scope, Merchant) else "business_type"
    return fee_rule_create(currency=currency, rate=rate, effective_from=effective_from, **{key: scope}, **terms)


def weekly_schedule(scope, *, weekday: int = 0, eligibility_delay_days: int = 7) -> SettlementSchedule:
    from clearhouse.settlement.services.rules import schedule_set

    key = "merchant" if isinstance(scope, Merchant) else "business_type"
    return schedule_set(cycle="weekly", weekday=weekday, eligibility_delay_days=eligibility_delay_days,
                        **{key: scope})


def settlement_row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (FeeRule, SettlementSchedule, Statement, StatementLine, SettledRefund, StatementEvent)}


def expected_line_amounts(line: StatementLine):
    """What domain.order_amounts says an order line must hold (the SQL must agree to the cent)."""
    order = Order.objects.get(pk=line.order_id)
    intent = PaymentIntent.objects.filter(order_id=order.pk, status="captured").first()
    refunded = sum(SettledRefund.objects.filter(statement_id=line.statement_id, order_id=order.pk,
                                                as_clawback=False).values_list("amount_minor", flat=True))
    figures = OrderFigures(subtotal_minor=order.subtotal_minor, shipping_fee_minor=order.shipping_fee_minor,
                           merchant_coupon_minor=order.merchant_coupon_amount_minor,
                           platform_coupon_minor=order.platform_coupon_amount_minor,
                           points_minor=order.points_amount_minor, paid_minor=order.total_minor,
                           actual_payment_fee_minor=(intent.fee_minor or 0) if intent else 0,
                           refunded_minor=refunded)
    terms = FeeTerms(rate_ppm=line.fee_rate_ppm, fixed_fee_minor=line.fixed_fee_minor,
                     minimum_fee_minor=line.minimum_fee_minor, maximum_fee_minor=line.maximum_fee_minor,
                     payment_fee_basis=PaymentFeeBasis(line.payment_fee_basis),
                     payment_fee_rate_ppm=line.payment_fee_rate_ppm)
    return order_amounts(figures, terms)


_TOTALLED = ("order_amount_minor", "merchant_coupon_minor", "collected_minor", "platform_funded_minor",
             "service_fee_minor", "payment_fee_minor", "refunds_minor", "net_minor")


def assert_statement_consistent(statement: Statement) -> None:
    statement.refresh_from_db()
    lines = list(StatementLine.objects.filter(statement_id=statement.pk))
    for line in lines:
        if line.kind == "order":
            expected = expected_line_amounts(line)
            got = tuple(getattr(line, c) for c in _TOTALLED)
            assert got == tuple(getattr(expected, c) for c in _TOTALLED), (line.order_number, got, expected)
            assert line.paid_minor == Order.objects.get(pk=line.order_id).total_minor
            # what the customer paid reconciles to the merchant's net, the fees, refunds and platform funding
            assert line.paid_minor == (line.net_minor + line.service_fee_minor + line.payment_fee_minor
                                       + line.refunds_minor - line.platform_funded_minor)
    for column in _TOTALLED:
        assert getattr(statement, column) == sum(getattr(line, column) for line in lines), column
    assert statement.line_count == len(lines)
    assert statement.order_count == sum(1 for line in lines if line.kind == "order")
    assert statement.carried_forward_minor == sum(line.net_minor for line in lines if line.kind == "carry_forward")
    assert statement.adjustments_minor == sum(line.net_minor for line in lines if line.kind == "adjustment")
