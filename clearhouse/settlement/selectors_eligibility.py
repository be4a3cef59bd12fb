"""Reads for finance's settlement pages: eligible and blocked orders, pending clawbacks, totals per period.

Eligibility here is the manual batch's (services/generation.py): an order in
the settle state (settings.CLEARHOUSE_SETTLEMENT_ELIGIBLE_STATUS) for at
least its merchant's eligibility delay (the merchant's active schedule, else
its business type's, else settings.CLEARHOUSE_SETTLEMENT_DEFAULT_DELAY_DAYS),
on no statement yet. It has a fee rule (eligible) or not (blocked,
reason "no_fee_rule").
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import TruncMonth
from django.utils import timezone

from clearhouse.core.money import Money, normalise_currency
from clearhouse.ledger.chart import SETTLEMENT_DUE
from clearhouse.ledger.models import Account
from clearhouse.ledger.selectors import account_balance
from clearhouse.orders.models import Order
from clearhouse.payments.models import Refund
from clearhouse.settlement.models import FeeRule, SettledRefund, SettlementSchedule, Statement, StatementLine
from clearhouse.settlement.services.rules import day_start

NO_FEE_RULE = "no_fee_rule"


def _waited_long_enough(now: datetime) -> Q:
    """Orders in the settle state for at least their merchant's eligibility delay, as of `now`.

    One condition per distinct delay in use (a handful), each over the
    merchants that delay applies to (subqueries, not lists of ids).
    """
    active = SettlementSchedule.objects.filter(is_active=True)
    own = active.filter(merchant__isnull=False)
    by_type = active.filter(business_type__isnull=False)
    delays = set(active.order_by().values_list("eligibility_delay_days", flat=True).distinct())
    default = settings.CLEARHOUSE_SETTLEMENT_DEFAULT_DELAY_DAYS
    condition = Q(pk__in=[])
    for days in sorted(delays | {default}):
        applies = (Q(merchant_id__in=own.filter(eligibility_delay_days=days).values("merchant_id"))
                   | (~Q(merchant_id__in=own.values("merchant_id"))
                      & Q(merchant__business_type_id__in=by_type.filter(eligibility_delay_days=days)
                          .values("business_type_id"))))
        if days == default:
            applies |= (~Q(merchant_id__in=own.values("merchant_id"))
                        & ~Q(merchant__business_type_id__in=by_type.values("business_type_id")))
        condition |= applies & Q(status_changed_at__lt=now - timedelta(days=days))
    return condition


def _fee_rule_in_force() -> Exists:
    """A fee rule covers the order: its merchant's own, or its business type's, in force when it was settled."""
    in_force = (Q(currency=OuterRef("currency"), starts_at__lte=OuterRef("status_changed_at"))
                & (Q(ends_at__isnull=True) | Q(ends_at__gt=OuterRef("status_changed_at"))))
    return (Exists(FeeRule.objects.filter(in_force, merchant_id=OuterRef("merchant_id")))
            | Exists(FeeRule.objects.filter(in_force, business_type_id=OuterRef("merchant__business_type_id"))))


def _unsettled_in_state(*, merchant_id=None, business_type_id=None, completed_from: date | None = None,
                        completed_to: date | None = None, currency: str | None = None) -> QuerySet[Order]:
    qs = (Order.objects.select_related("merchant")
          .filter(status=settings.CLEARHOUSE_SETTLEMENT_ELIGIBLE_STATUS)
          .filter(_waited_long_enough(timezone.now()))
          .exclude(Exists(StatementLine.objects.filter(kind="order", order_id=OuterRef("pk")))))
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    if business_type_id is not None:
        qs = qs.filter(merchant__business_type_id=business_type_id)
    if completed_from is not None:
        qs = qs.filter(status_changed_at__gte=day_start(completed_from))
    if completed_to is not None:
        qs = qs.filter(status_changed_at__lt=day_start(completed_to + timedelta(days=1)))
    if currency:
        qs = qs.filter(currency=normalise_currency(currency))
    return qs


def eligible_orders(*, merchant_id: int | None = None, business_type_id: int | None = None,
                    completed_from: date | None = None, completed_to: date | None = None,
                    currency: str | None = None) -> QuerySet[Order]:
    """Unsettled orders a manual statement may take now (eligible, with a fee rule), oldest first."""
    return (_unsettled_in_state(merchant_id=merchant_id, business_type_id=business_type_id,
                                completed_from=completed_from, completed_to=completed_to, currency=currency)
            .filter(_fee_rule_in_force()).order_by("status_changed_at", "id"))


def blocked_orders(*, merchant_id: int | None = None, business_type_id: int | None = None,
                   completed_from: date | None = None, completed_to: date | None = None,
                   currency: str | None = None) -> QuerySet[Order]:
    """Eligible orders that cannot be settled, each with `blocked_reason` ("no_fee_rule": neither the merchant
    nor its business type has a fee rule for the order's currency and date)."""
    return (_unsettled_in_state(merchant_id=merchant_id, business_type_id=business_type_id,
                                completed_from=completed_from, completed_to=completed_to, currency=currency)
            .exclude(_fee_rule_in_force()).annotate(blocked_reason=Value(NO_FEE_RULE))
            .order_by("status_changed_at", "id"))


def pending_clawbacks(*, merchant_id: int | None = None) -> QuerySet[Refund]:
    """Succeeded refunds of orders already on a statement that no statement has counted yet: the merchant's next
    statement claws them back."""
    qs = (Refund.objects.select_related("order").filter(status="succeeded")
          .filter(Exists(StatementLine.objects.filter(kind="order", order_id=OuterRef("order_id"))))
          .exclude(Exists(SettledRefund.objects.filter(refund_id=OuterRef("pk")))))
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    return qs.order_by("id")


def totals_per_period(*, currency: str | None = None, merchant_id: int | None = None) -> list[dict]:
    """Statements per month of their period end, status and currency: count and summed amounts.

    Rows: month (first day), status, currency, statements, orders, collected_minor, platform_funded_minor,
    service_fee_minor, payment_fee_minor, refunds_minor, net_minor; newest month first.
    """
    qs = Statement.objects.all()
    if currency:
        qs = qs.filter(currency=normalise_currency(currency))
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    rows = (qs.annotate(month=TruncMonth("period_end")).order_by().values("month", "status", "currency")
            .annotate(statements=Count("id"), orders=Sum("order_count"), collected_minor=Sum("collected_minor"),
                      platform_funded_minor=Sum("platform_funded_minor"),
                      service_fee_minor=Sum("service_fee_minor"), payment_fee_minor=Sum("payment_fee_minor"),
                      refunds_minor=Sum("refunds_minor"), net_minor=Sum("net_minor"))
            .order_by("-month", "currency", "status"))
    out = []
    for row in rows:
        month = row["month"]
        row["month"] = month.date() if isinstance(month, datetime) else month
        out.append({k: (int(v) if k.endswith("_minor") or k in ("orders", "statements") else v)
                    for k, v in row.items()})
    return out


def settlement_due_balance(*, merchant, currency: str) -> Money:
    """What the platform owes the merchant on confirmed, not yet paid statements (the settlement-due account's
    credit balance, positive when owed); zero when the account was never opened."""
    currency = normalise_currency(currency)
    account = Account.objects.filter(code=SETTLEMENT_DUE.code, currency=currency,
                                     merchant_id=getattr(merchant, "pk", merchant)).first()
    if account is None:
        return Money(0, currency)
    return -account_balance(account=account)
