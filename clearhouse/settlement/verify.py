"""Settlement's part of `clearhouse verify`: statements agree with their lines, and the ledger with both.

Checks, each a handful of set-based queries:
- every statement's totals equal the sums of its lines;
- no order is in two order lines, no refund clawed back twice, no balance carried forward twice
  (the partial unique constraints say so; this proves nobody went around them);
- every confirmed, paid or carried-forward statement has its confirmation entry, and the entry's
  postings are exactly what its lines give (`posting_recipes.statement_confirmed_legs`);
  statements that were never confirmed have none;
- every paid statement has its payout entry, for its net, and recorded its net as paid.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Q, Sum, Value
from django.db.models.functions import Coalesce

from clearhouse.ledger import chart
from clearhouse.ledger.models import Posting
from clearhouse.ledger.posting_recipes import statement_confirmed_legs
from clearhouse.settlement.domain import LOCKED, LineKind, StatementStatus
from clearhouse.settlement.models import Statement, StatementLine
from clearhouse.settlement.services.statements import LedgerAmounts, ledger_amounts_by_statement

MAX_REPORTED = 1000  # per check: enough to act on, never a flood
SUMMED = ("order_amount", "merchant_coupon", "collected", "platform_funded", "service_fee", "payment_fee", "refunds",
          "net")
TOTALS = ("line_count", "order_count", *(f"{name}_minor" for name in SUMMED), "adjustments_minor",
          "carried_forward_minor")
CONFIRMED_KEY = "statement_confirmed:"
PAID_OUT_KEY = "merchant_paid_out:"


def _sum(field: str, condition: Q | None = None):
    return Coalesce(Sum(field, filter=condition), Value(0))


def _totals(problems: list[str]) -> int:
    """Statement totals equal the sums of the lines (a statement without lines has zero totals)."""
    # Aliases carry a prefix: an aggregate may not be named like the column it sums.
    sums = StatementLine.objects.values("statement_id").order_by("statement_id").annotate(
        sum_line_count=Count("id"), sum_order_count=Count("id", filter=Q(kind=LineKind.ORDER)),
        **{f"sum_{name}_minor": _sum(f"{name}_minor") for name in SUMMED},
        sum_adjustments_minor=_sum("net_minor", Q(kind=LineKind.ADJUSTMENT)),
        sum_carried_forward_minor=_sum("net_minor", Q(kind=LineKind.CARRY_FORWARD)))
    by_statement = {row["statement_id"]: {name: row[f"sum_{name}"] for name in TOTALS} for row in sums}
    checked = 0
    for row in Statement.objects.order_by("id").values("id", "number", *TOTALS).iterator(2000):
        lines = by_statement.pop(row["id"], {})
        wrong = [f"{name} {row[name]} != {int(lines.get(name, 0))}" for name in TOTALS
                 if int(row[name]) != int(lines.get(name, 0))]
        if wrong and len(problems) < MAX_REPORTED:
            problems.append(f"statement {row['number']}: totals disagree with its lines: {', '.join(wrong)}")
        checked += 1
    for statement_id in sorted(by_statement)[:MAX_REPORTED]:
        problems.append(f"statement lines of missing statement #{statement_id}")
    return checked


def _settled_once(problems: list[str]) -> None:
    """Each order settled once, each refund clawed back once, each negative balance carried forward once."""
    for kind, column, what in ((LineKind.ORDER, "order_id", "order"), (LineKind.CLAWBACK, "refund_id", "refund"),
                               (LineKind.CARRY_FORWARD, "carried_from_id", "carried-forward statement")):
        twice = (StatementLine.objects.filter(kind=kind).values(column).order_by(column)
                 .annotate(n=Count("id"), statements=Count("statement_id", distinct=True)).filter(n__gt=1))
        for row in twice[:MAX_REPORTED]:
            problems.append(f"{what} #{row[column]} is in {row['n']} {kind} lines "
                            f"({row['statements']} statements)")


def _posted() -> dict[str, dict[tuple[str, int | None], int]]:
    """The postings of settlement's entries: idempotency key -> {(account code, merchant id): amount}."""
    posted: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    rows = Posting.objects.filter(
        Q(entry__idempotency_key__startswith=CONFIRMED_KEY) | Q(entry__idempotency_key__startswith=PAID_OUT_KEY)
    ).values_list("entry__idempotency_key", "account__code", "account__merchant_id", "amount_minor")
    for key, code, merchant_id, amount in rows.iterator(5000):
        posted[key][(code, merchant_id)] += int(amount)
    return posted


def _expected_confirmation(statement: dict, amounts: LedgerAmounts) -> dict[tuple[str, int | None], int]:
    legs = statement_confirmed_legs(merchant=statement["merchant_id"], **amounts.recipe_amounts(statement["currency"]))
    return {(account.code, party): amount.minor for account, party, amount in legs}


def _ledger(problems: list[str]) -> int:
    """Confirmed statements have the confirmation entry their lines give; paid ones their payout entry."""
    posted = _posted()
    amounts = ledger_amounts_by_statement(statuses=LOCKED)
    checked = 0
    statements = Statement.objects.order_by("id").values("id", "number", "merchant_id", "currency", "status",
                                                        "net_minor", "payout_amount_minor")
    for row in statements.iterator(2000):
        number = row["number"]
        confirmation = posted.pop(f"{CONFIRMED_KEY}{number}", None)
        payout = posted.pop(f"{PAID_OUT_KEY}{number}", None)
        if row["status"] not in LOCKED:
            if confirmation or payout:
                problems.append(f"statement {number} is {row['status']} but has ledger entries")
            continue
        checked += 1
        expected = _expected_confirmation(row, amounts.get(row["id"], LedgerAmounts()))
        if dict(confirmation or {}) != expected:
            problems.append(f"statement {number}: confirmation entry {dict(confirmation or {}) or 'missing'} "
                            f"!= {expected or 'no entry'} from its lines")
        if row["status"] == StatementStatus.PAID:
            _check_payout(problems, row, payout)
        elif payout:
            problems.append(f"statement {number} is {row['status']} but has a payout entry")
    for key in sorted(posted)[:MAX_REPORTED]:
        problems.append(f"ledger entry {key} belongs to no statement")
    return checked


def _check_payout(problems: list[str], row: dict, payout: dict | None) -> None:
    number, net = row["number"], row["net_minor"]
    if row["payout_amount_minor"] != net:
        problems.append(f"statement {number}: paid {row['payout_amount_minor']}, net is {net}")
    due = (chart.SETTLEMENT_DUE.code, row["merchant_id"])
    if not payout:
        problems.append(f"statement {number} is paid but has no payout entry")
    elif payout.get(due) != net or sum(payout.values()) != 0:
        problems.append(f"statement {number}: payout entry {dict(payout)} does not pay its net {net} "
                        "out of settlement due")


def settlement_verify(*, checks: list[tuple[str, int]] | None = None) -> list[str]:
    """Problems found (empty: all is well). `checks`, when given, receives (check name, items checked)."""
    problems: list[str] = []
    counted = _totals(problems)
    _settled_once(problems)
    locked = _ledger(problems)
    if checks is not None:
        checks.append(("statement totals equal their lines; each order settled once", counted))
        checks.append(("confirmed and paid statements agree with the ledger", locked))
    return problems
