"""Statements written straight with the ORM for page and export tests: a known set of lines, totals that are
their sums, any status (the services that move statements along are tested in tests/settlement/)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.db.models import Sum

from clearhouse.settlement.models import Statement, StatementEvent, StatementLine

TOTALS = ("order_amount_minor", "merchant_coupon_minor", "collected_minor", "platform_funded_minor",
          "service_fee_minor", "payment_fee_minor", "refunds_minor", "net_minor")


def order_line(*, number: str, collected: int, service_fee: int, payment_fee: int = 0, refunds: int = 0,
               platform_funded: int = 0, merchant_coupon: int = 0, rate_ppm: int = 6000) -> dict:
    return {
        "kind": "order", "order_number": number, "order_amount_minor": collected + merchant_coupon,
        "merchant_coupon_minor": merchant_coupon, "collected_minor": collected,
        "platform_funded_minor": platform_funded, "paid_minor": collected - platform_funded,
        "service_fee_minor": service_fee, "payment_fee_minor": payment_fee, "refunds_minor": refunds,
        "net_minor": collected - service_fee - payment_fee - refunds, "fee_rate_ppm": rate_ppm,
        "fixed_fee_minor": 0, "payment_fee_basis": "actual",
    }


DEFAULT_LINES = [
    order_line(number="SO-20261101-000001", collected=16800, service_fee=101, payment_fee=50, platform_funded=1000),
    order_line(number="SO-20261102-000002", collected=8800, service_fee=53, payment_fee=26, refunds=800),
    order_line(number="SO-20261103-000003", collected=12345, service_fee=74, payment_fee=37, merchant_coupon=500),
]


def make_statement(merchant, *, number: str, status: str = "issued", currency: str = "CNY", lines=None,
                   period_start=date(2026, 11, 1), period_end=date(2026, 11, 30), events: bool = True) -> Statement:
    """A statement of `merchant` with `lines` (default: three orders), totals summed from them."""
    lines = DEFAULT_LINES if lines is None else lines
    statement = Statement.objects.create(
        number=number, merchant=merchant, currency=currency, kind="manual", run_key=f"test:{number}",
        period_start=period_start, period_end=period_end, cutoff_at=datetime(2026, 12, 1, tzinfo=UTC),
        status=status, created_by="test")
    eligible = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)
    StatementLine.objects.bulk_create([
        StatementLine(statement=statement, merchant_id=merchant.pk, currency=currency,
                      eligible_at=eligible + timedelta(hours=i), order_id=(statement.pk * 1000 + i)
                      if values.get("kind", "order") == "order" else None, **values)
        for i, values in enumerate(lines)])
    statement_refresh_totals(statement)
    if events:
        StatementEvent.objects.create(statement=statement, type="generated", to_status="draft", actor="test")
        if status != "draft":
            StatementEvent.objects.create(statement=statement, type="issued", from_status="draft",
                                          to_status="issued", actor="test")
    return statement


def statement_refresh_totals(statement: Statement) -> Statement:
    qs = StatementLine.objects.filter(statement=statement)
    sums = qs.aggregate(**{f: Sum(f) for f in TOTALS})
    for field in TOTALS:
        setattr(statement, field, sums[field] or 0)
    statement.line_count = qs.count()
    statement.order_count = qs.filter(kind="order").count()
    statement.adjustments_minor = qs.filter(kind="adjustment").aggregate(s=Sum("net_minor"))["s"] or 0
    statement.carried_forward_minor = qs.filter(kind="carry_forward").aggregate(s=Sum("net_minor"))["s"] or 0
    statement.save()
    return statement
