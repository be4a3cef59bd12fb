"""Request and response shapes of the settlement API, and the mapping from models.

Money goes out as `{"amount": "12.34", "currency": "CNY", "amount_minor": 1234}` and comes in as a
decimal string in major units plus a currency (never a float). Fee rates are decimal strings of the
fraction ("0.006" is 0.6 %), exact to six places.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated, Any

from ninja import Field, Path, Schema
from pydantic import WithJsonSchema

from clearhouse.api.routers.catalog_schemas import MAX_ID, money_text
from clearhouse.api.routers.order_schemas import StrictBody
from clearhouse.api.schemas import IsoDate
from clearhouse.orders.models import Order
from clearhouse.settlement.domain import Cycle, PaymentFeeBasis, ppm_to_rate
from clearhouse.settlement.models import FeeRule, SettlementSchedule, Statement, StatementEvent, StatementLine

StatementNumber = Annotated[str, Path(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
Code = Annotated[str, Field(min_length=1, max_length=50, examples=["teahouse"])]
Currency = Annotated[str, Field(min_length=3, max_length=3, examples=["CNY"])]
AmountString = Annotated[
    Any,
    WithJsonSchema({"type": "string", "example": "12.34",
                    "description": "Decimal string in major units of `currency`. Never a float."}),
]
RateString = Annotated[
    Any,
    WithJsonSchema({"type": "string", "example": "0.006",
                    "description": "Decimal fraction as a string (0.006 = 0.6 %), at most 6 decimal places."}),
]
# Checked by the domain (code `validation_failed` naming the field), not by the schema: one stable code.
SmallInt = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
MAX_ORDER_IDS = 10_000


# --- requests ----------------------------------------------------------------------
class DisputeIn(StrictBody):
    reason: str = Field(..., min_length=1, max_length=1000, description="What the merchant disagrees with")


class AdjustIn(StrictBody):
    amount: AmountString = Field(..., description="Signed: positive pays the merchant more, negative less")
    currency: Currency | None = Field(None, description="Defaults to the statement's currency")
    note: str = Field(..., min_length=1, max_length=500, description="Why: shown on the adjustment line")


class ManualStatementIn(StrictBody):
    """Which eligible, unsettled orders of one merchant to settle: by id, or by filters."""

    merchant: Code
    currency: Currency | None = None
    order_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(None, max_length=MAX_ORDER_IDS)
    completed_from: IsoDate | None = Field(None, description="Orders that reached the settle state on or after")
    completed_to: IsoDate | None = Field(None, description="... and on or before this day")
    business_type: Code | None = None


class FeeRuleIn(StrictBody):
    """A fee rule for one merchant (an override) or one business type: exactly one of the two."""

    merchant: Code | None = None
    business_type: Code | None = None
    currency: Currency
    rate: RateString = Field("0", description="Service fee rate on the collected amount")
    fixed_fee: AmountString | None = Field(None, description="Per order, added to the rate's fee")
    minimum_fee: AmountString | None = None
    maximum_fee: AmountString | None = None
    payment_fee_basis: PaymentFeeBasis = PaymentFeeBasis.ACTUAL
    payment_fee_rate: RateString = Field("0", description="With basis `rate`: rate on what the customer paid")
    effective_from: IsoDate
    effective_to: IsoDate | None = Field(None, description="Inclusive; empty: open-ended")
    note: str = Field("", max_length=200)


class FeeRuleEndIn(StrictBody):
    effective_to: IsoDate = Field(..., description="The rule's last day (inclusive)")


class ScheduleIn(StrictBody):
    """Create or replace the schedule of one merchant or one business type."""

    merchant: Code | None = None
    business_type: Code | None = None
    cycle: Cycle
    day_of_month: SmallInt | None = Field(None, description="Monthly: 1-31 (29-31: the month's last day if shorter)")
    weekday: SmallInt | None = Field(None, description="Weekly: 0 Monday ... 6 Sunday")
    delay_days: SmallInt | None = Field(None, description="Fixed delay: days after eligibility")
    eligibility_delay_days: SmallInt = Field(0, description="Days an order waits in the settle state")


class RunIn(StrictBody):
    day: IsoDate | None = Field(None, description="Run day; default today in the platform's time zone")
    dry_run: bool = Field(False, description="Preview per merchant; write nothing")
    merchants: list[Code] | None = Field(None, max_length=1000, description="Only these merchants (codes)")


class PeriodIn(StrictBody):
    start: IsoDate | None = Field(None, description="Default: the first day of last month")
    end: IsoDate | None = Field(None, description="Default: the last day of last month (at most a year in all)")


class FeeRuleSimulationIn(PeriodIn):
    """A proposed fee rule (not saved), compared with the rules in force over the period."""

    merchant: Code | None = None
    business_type: Code | None = None
    currency: Currency
    rate: RateString = "0"
    fixed_fee: AmountString | None = None
    minimum_fee: AmountString | None = None
    maximum_fee: AmountString | None = None
    payment_fee_basis: PaymentFeeBasis = PaymentFeeBasis.ACTUAL
    payment_fee_rate: RateString = "0"


class ScheduleSimulationIn(PeriodIn):
    """A proposed schedule (not saved): which statements it would have cut over the period."""

    merchant: Code | None = None
    business_type: Code | None = None
    cycle: Cycle
    day_of_month: SmallInt | None = None
    weekday: SmallInt | None = None
    delay_days: SmallInt | None = None
    eligibility_delay_days: SmallInt = 0


# --- responses ---------------------------------------------------------------------
class MoneyOut(Schema):
    amount: str = Field(..., examples=["12.34"])
    currency: str
    amount_minor: int


class PayoutOut(Schema):
    date: dt.date | None
    amount: MoneyOut | None
    reference: str
    voucher_type: str
    voucher_url: str | None = Field(None, description="GET it with the same credentials")
    paid_by: str


class StatementOut(Schema):
    number: str
    merchant: str
    merchant_name: str
    currency: str
    kind: str
    status: str
    revision: int
    period_start: date | None
    period_end: date
    cutoff_at: datetime
    line_count: int
    order_count: int
    order_amount: MoneyOut
    merchant_coupon: MoneyOut
    collected: MoneyOut
    platform_funded: MoneyOut
    service_fee: MoneyOut
    payment_fee: MoneyOut
    refunds: MoneyOut
    adjustments: MoneyOut
    carried_forward: MoneyOut
    net: MoneyOut
    issued_at: datetime | None
    confirmed_at: datetime | None
    confirmed_by: str
    disputed_at: datetime | None
    dispute_reason: str
    payout: PayoutOut | None
    created_at: datetime
    updated_at: datetime


class StatementEventOut(Schema):
    type: str
    from_status: str
    to_status: str
    parameters: dict
    actor: str
    at: datetime


class StatementDetailOut(StatementOut):
    invoice_platform_to_merchant: MoneyOut = Field(..., description="The fees the platform charged")
    invoice_merchant_to_platform: MoneyOut = Field(..., description="Platform-funded coupons and points")
    events: list[StatementEventOut]


class FeeTermsOut(Schema):
    """The fee terms frozen onto a line: it reproduces from itself after the rule changes."""

    fee_rule_id: int | None
    rate: str
    fixed_fee: MoneyOut
    minimum_fee: MoneyOut | None
    maximum_fee: MoneyOut | None
    payment_fee_basis: str
    payment_fee_rate: str | None


class LineOut(Schema):
    id: int
    kind: str
    order: str | None
    refund: str | None = Field(None, description="Clawback: the refund's reference")
    carried_from: str | None = Field(None, description="Carry-forward: the earlier statement's number")
    eligible_at: datetime | None
    order_amount: MoneyOut
    merchant_coupon: MoneyOut
    collected: MoneyOut
    platform_funded: MoneyOut
    paid: MoneyOut
    service_fee: MoneyOut
    payment_fee: MoneyOut
    refunds: MoneyOut
    net: MoneyOut
    fee_terms: FeeTermsOut | None
    note: str


class FeeRuleOut(Schema):
    id: int
    scope: str = Field(..., examples=["business_type"])
    merchant: str | None
    business_type: str | None
    currency: str
    rate: str = Field(..., examples=["0.006"])
    rate_percent: str = Field(..., examples=["0.6%"])
    fixed_fee: MoneyOut
    minimum_fee: MoneyOut | None
    maximum_fee: MoneyOut | None
    payment_fee_basis: str
    payment_fee_rate: str
    effective_from: date
    effective_to: date | None
    note: str
    created_by: str
    created_at: datetime


class ScheduleOut(Schema):
    id: int
    scope: str
    merchant: str | None
    business_type: str | None
    cycle: str
    day_of_month: int | None
    weekday: int | None
    delay_days: int | None
    eligibility_delay_days: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


class OrderToSettleOut(Schema):
    """An order in the settle state on no statement yet: eligible (a manual statement may take it) or blocked."""

    id: int = Field(..., description="For `order_ids` of a manual statement")
    order: str
    merchant: str
    business_type: str
    currency: str
    collected: MoneyOut = Field(..., description="Order amount less the merchant's coupon: what fees apply to")
    paid: MoneyOut = Field(..., description="What the customer paid")
    eligible_at: datetime = Field(..., description="When the order reached the settle state")
    reason: str | None = Field(None, description="Blocked: why (no_fee_rule)")


class PeriodTotalsOut(Schema):
    month: date
    status: str
    currency: str
    statements: int
    orders: int
    collected: MoneyOut
    platform_funded: MoneyOut
    service_fee: MoneyOut
    payment_fee: MoneyOut
    refunds: MoneyOut
    net: MoneyOut


class SimulatedFeesOut(Schema):
    service_fee: MoneyOut
    payment_fee: MoneyOut
    net: MoneyOut


class FeeRuleSimulationRowOut(Schema):
    merchant: str
    currency: str
    orders: int
    orders_without_rule: int = Field(..., description="No rule in force covers them: left out of `current`")
    collected: MoneyOut
    platform_funded: MoneyOut
    refunds: MoneyOut
    current: SimulatedFeesOut = Field(..., description="Under the fee rules in force")
    proposed: SimulatedFeesOut = Field(..., description="Under the proposed rule")
    difference: MoneyOut = Field(..., description="Proposed net less current net (what the merchant gains)")


class FeeRuleSimulationOut(Schema):
    start: date
    end: date
    rows: list[FeeRuleSimulationRowOut]


class SimulatedStatementOut(Schema):
    run_day: date
    merchant: str
    currency: str
    orders: int
    blocked_orders: int
    collected: MoneyOut
    platform_funded: MoneyOut
    refunds: MoneyOut
    service_fee: MoneyOut
    payment_fee: MoneyOut
    net: MoneyOut


class ScheduleSimulationOut(Schema):
    start: date
    end: date
    run_days: list[date]
    statements: list[SimulatedStatementOut]


class RunPreviewOut(Schema):
    """What a dry run would put on one merchant's statement in one currency."""

    merchant: str | None
    currency: str
    orders: int
    clawbacks: int
    order_amount: MoneyOut
    merchant_coupon: MoneyOut
    collected: MoneyOut
    platform_funded: MoneyOut
    service_fee: MoneyOut
    payment_fee: MoneyOut
    refunds: MoneyOut
    carried_forward: MoneyOut
    net: MoneyOut


class RunOut(Schema):
    day: date
    dry_run: bool
    statements_created: int = Field(..., description="Dry run: statements it would create")
    lines_created: int
    orders_settled: int
    clawbacks: int
    blocked_orders: int = Field(..., description="Due orders no fee rule covers (see blocked-orders)")
    statements: list[str] = Field(..., description="Numbers of the statements made")
    preview: list[RunPreviewOut] = Field(..., description="Dry run: per merchant and currency")


# --- mapping -----------------------------------------------------------------------
def money_out(minor: int | None, currency: str) -> dict | None:
    if minor is None:
        return None
    return {"amount": money_text(minor, currency), "currency": currency, "amount_minor": minor}


def rate_text(ppm: int | None) -> str | None:
    return None if ppm is None else format(ppm_to_rate(ppm), "f")


def rate_percent(ppm: int) -> str:
    return f"{format((ppm_to_rate(ppm) * 100).normalize(), 'f')}%"


TOTALS = ("order_amount", "merchant_coupon", "collected", "platform_funded", "service_fee", "payment_fee",
          "refunds", "adjustments", "carried_forward", "net")


def _payout(s: Statement, *, voucher_url: str | None) -> dict | None:
    if s.payout_date is None and not s.payout_reference and not s.payout_voucher:
        return None
    return dict(date=s.payout_date, amount=money_out(s.payout_amount_minor, s.currency),
                reference=s.payout_reference, voucher_type=s.payout_voucher_type,
                voucher_url=voucher_url if s.payout_voucher else None, paid_by=s.paid_by)


def statement_out(s: Statement) -> dict:
    totals = {name: money_out(getattr(s, f"{name}_minor"), s.currency) for name in TOTALS}
    return dict(
        number=s.number, merchant=s.merchant.code, merchant_name=s.merchant.name, currency=s.currency, kind=s.kind,
        status=s.status, revision=s.revision, period_start=s.period_start, period_end=s.period_end,
        cutoff_at=s.cutoff_at, line_count=s.line_count, order_count=s.order_count, **totals,
        issued_at=s.issued_at, confirmed_at=s.confirmed_at, confirmed_by=s.confirmed_by, disputed_at=s.disputed_at,
        dispute_reason=s.dispute_reason,
        payout=_payout(s, voucher_url=f"/api/v1/settlement/statements/{s.number}/voucher"),
        created_at=s.created_at, updated_at=s.updated_at,
    )


def event_out(e: StatementEvent) -> dict:
    return dict(type=e.type, from_status=e.from_status, to_status=e.to_status, parameters=e.parameters,
                actor=e.actor, at=e.created_at)


def statement_detail_out(s: Statement, *, events: list[StatementEvent]) -> dict:
    return dict(statement_out(s),
                invoice_platform_to_merchant=money_out(s.charged_by_platform_minor, s.currency),
                invoice_merchant_to_platform=money_out(s.platform_funded_minor, s.currency),
                events=[event_out(e) for e in events])


def _fee_terms(ln: StatementLine) -> dict | None:
    if ln.fee_rate_ppm is None and ln.fee_rule_id is None:
        return None
    return dict(fee_rule_id=ln.fee_rule_id, rate=rate_text(ln.fee_rate_ppm or 0),
                fixed_fee=money_out(ln.fixed_fee_minor or 0, ln.currency),
                minimum_fee=money_out(ln.minimum_fee_minor, ln.currency),
                maximum_fee=money_out(ln.maximum_fee_minor, ln.currency),
                payment_fee_basis=ln.payment_fee_basis, payment_fee_rate=rate_text(ln.payment_fee_rate_ppm))


LINE_AMOUNTS = ("order_amount", "merchant_coupon", "collected", "platform_funded", "paid", "service_fee",
                "payment_fee", "refunds", "net")


def line_out(ln: StatementLine, *, refunds: dict[int, str], statements: dict[int, str]) -> dict:
    amounts = {name: money_out(getattr(ln, f"{name}_minor"), ln.currency) for name in LINE_AMOUNTS}
    return dict(id=ln.pk, kind=ln.kind, order=ln.order_number or None,
                refund=refunds.get(ln.refund_id) if ln.refund_id else None,
                carried_from=statements.get(ln.carried_from_id) if ln.carried_from_id else None,
                eligible_at=ln.eligible_at, **amounts, fee_terms=_fee_terms(ln), note=ln.note)


def fee_rule_out(r: FeeRule) -> dict:
    return dict(
        id=r.pk, scope="merchant" if r.merchant_id else "business_type",
        merchant=r.merchant.code if r.merchant_id else None,
        business_type=r.business_type.code if r.business_type_id else None, currency=r.currency,
        rate=rate_text(r.rate_ppm), rate_percent=rate_percent(r.rate_ppm),
        fixed_fee=money_out(r.fixed_fee_minor, r.currency), minimum_fee=money_out(r.minimum_fee_minor, r.currency),
        maximum_fee=money_out(r.maximum_fee_minor, r.currency), payment_fee_basis=r.payment_fee_basis,
        payment_fee_rate=rate_text(r.payment_fee_rate_ppm), effective_from=r.effective_from,
        effective_to=r.effective_to, note=r.note, created_by=r.created_by, created_at=r.created_at,
    )


PREVIEW_AMOUNTS = ("order_amount", "merchant_coupon", "collected", "platform_funded", "service_fee", "payment_fee",
                   "refunds", "carried_forward", "net")


def run_out(result, *, numbers: dict[int, str], codes: dict[int, str]) -> dict:
    """A RunResult (services.generation) with statement numbers and merchant codes instead of ids."""
    preview = [dict(merchant=codes.get(row["merchant_id"]), currency=row["currency"], orders=row.get("orders", 0),
                    clawbacks=row.get("clawbacks", 0),
                    **{name: _m(row, f"{name}_minor", row["currency"]) for name in PREVIEW_AMOUNTS})
               for row in result.preview]
    return dict(day=result.day, dry_run=result.dry_run, statements_created=result.statements_created,
                lines_created=result.lines_created, orders_settled=result.orders_settled,
                clawbacks=result.clawbacks, blocked_orders=result.blocked_orders,
                statements=[numbers[i] for i in result.statement_ids if i in numbers], preview=preview)


def order_to_settle_out(o: Order) -> dict:
    collected = o.subtotal_minor + o.shipping_fee_minor - o.merchant_coupon_amount_minor
    return dict(id=o.pk, order=o.number, merchant=o.merchant.code, business_type=o.merchant.business_type.code,
                currency=o.currency, collected=money_out(collected, o.currency),
                paid=money_out(o.total_minor, o.currency), eligible_at=o.status_changed_at,
                reason=getattr(o, "blocked_reason", None))


PERIOD_AMOUNTS = ("collected", "platform_funded", "service_fee", "payment_fee", "refunds", "net")


def period_totals_out(row: dict) -> dict:
    return dict(month=row["month"], status=row["status"], currency=row["currency"], statements=row["statements"],
                orders=row["orders"] or 0,
                **{name: money_out(row[f"{name}_minor"] or 0, row["currency"]) for name in PERIOD_AMOUNTS})


def _m(row: dict, name: str, currency: str) -> dict:
    return money_out(int(row.get(name) or 0), currency)


def fee_rule_simulation_out(rows: list[dict], *, codes: dict[int, str], start: date, end: date) -> dict:
    out = []
    for r in rows:
        cur = r["currency"]
        sides = {side: {name: _m(r, f"{side}_{name}_minor", cur) for name in ("service_fee", "payment_fee", "net")}
                 for side in ("current", "proposed")}
        out.append(dict(merchant=codes.get(r["merchant_id"], str(r["merchant_id"])), currency=cur,
                        orders=r["orders"], orders_without_rule=r.get("orders_without_rule", 0),
                        collected=_m(r, "collected_minor", cur), platform_funded=_m(r, "platform_funded_minor", cur),
                        refunds=_m(r, "refunds_minor", cur), **sides,
                        difference=money_out(int(r.get("proposed_net_minor") or 0)
                                             - int(r.get("current_net_minor") or 0), cur)))
    return dict(start=start, end=end, rows=out)


SIMULATED_AMOUNTS = ("collected", "platform_funded", "refunds", "service_fee", "payment_fee", "net")


def schedule_simulation_out(result, *, codes: dict[int, str], start: date, end: date) -> dict:
    statements = [dict(run_day=r["run_day"], merchant=codes.get(r["merchant_id"], str(r["merchant_id"])),
                       currency=r["currency"], orders=r["orders"], blocked_orders=r.get("blocked_orders", 0),
                       **{name: _m(r, f"{name}_minor", r["currency"]) for name in SIMULATED_AMOUNTS})
                  for r in result.statements]
    return dict(start=start, end=end, run_days=result.run_days, statements=statements)


def schedule_out(s: SettlementSchedule) -> dict:
    return dict(
        id=s.pk, scope="merchant" if s.merchant_id else "business_type",
        merchant=s.merchant.code if s.merchant_id else None,
        business_type=s.business_type.code if s.business_type_id else None, cycle=s.cycle,
        day_of_month=s.day_of_month, weekday=s.weekday, delay_days=s.delay_days,
        eligibility_delay_days=s.eligibility_delay_days, is_active=s.is_active, created_at=s.created_at,
        updated_at=s.updated_at,
    )
