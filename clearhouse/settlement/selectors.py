"""Reads of settlement. Merchant scoping happens here, once: a merchant-scoped caller sees only its
merchant's statements, and only once issued (drafts are finance's work in progress).

Eligibility, blocked orders and period totals live in `selectors_eligibility.py`.
"""

from __future__ import annotations

from django.db.models import QuerySet

from clearhouse.core.errors import NotFound
from clearhouse.settlement.domain import MERCHANT_VISIBLE
from clearhouse.settlement.models import FeeRule, SettlementSchedule, Statement, StatementEvent, StatementLine


def statement_list(*, merchant_id: int | None = None, status: str | None = None, currency: str | None = None,
                   merchant_view: bool = False) -> QuerySet[Statement]:
    """Statements, newest first. `merchant_view`: only what a merchant may see (issued onwards)."""
    qs = Statement.objects.select_related("merchant")
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    if merchant_view:
        qs = qs.filter(status__in=sorted(MERCHANT_VISIBLE))
    if status:
        qs = qs.filter(status=status)
    if currency:
        qs = qs.filter(currency=currency.upper())
    return qs.order_by("-id")


def statement_list_for(principal, **filters) -> QuerySet[Statement]:
    """The statements this caller may see: a merchant's own (issued onwards), or all for platform staff."""
    if principal.merchant_id is not None:
        return statement_list(merchant_id=principal.merchant_id, merchant_view=True,
                              **{k: v for k, v in filters.items() if k != "merchant_id"})
    return statement_list(**filters)


def statement_get_for(principal, *, number: str) -> Statement:
    """One statement by number, if this caller may see it; else NotFound (never 'forbidden': no leak)."""
    statement = statement_list_for(principal).filter(number=(number or "").strip()).first()
    if statement is None:
        raise NotFound(f"No statement {number}.", param="number")
    return statement


def statement_lines(*, statement: Statement) -> QuerySet[StatementLine]:
    return StatementLine.objects.filter(statement_id=statement.pk).order_by("id")


def statement_events(*, statement: Statement) -> list[StatementEvent]:
    return list(StatementEvent.objects.filter(statement=statement).order_by("id"))


def fee_rule_list(*, merchant_id: int | None = None, business_type_id: int | None = None) -> QuerySet[FeeRule]:
    qs = FeeRule.objects.select_related("merchant", "business_type")
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    if business_type_id is not None:
        qs = qs.filter(business_type_id=business_type_id)
    return qs.order_by("id")


def schedule_list() -> QuerySet[SettlementSchedule]:
    return SettlementSchedule.objects.select_related("merchant", "business_type").order_by("id")
