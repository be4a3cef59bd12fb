"""The SQL of settlement: fragments shared by generation and simulation, and the generation steps (`Batch`).

One definition of each rule in SQL, next to its one definition in Python
(domain.py): which fee rule applies to an order, and the per-order amounts
(`domain.order_amounts`) in integer arithmetic that gives the same integers
on PostgreSQL and SQLite:

- ppm rates: (amount * ppm + 500000) / 1000000 on integers. Both vendors
  divide integers by truncation, which is half-up rounding here because the
  amounts are never negative where it is used (collected <= 0 has no fee).
- clamps are CASE expressions (SQLite's scalar MAX/MIN and PostgreSQL's
  GREATEST/LEAST are not portable).
- instants and dates come in as parameters: on SQLite formatted exactly as
  Django stores them (text compares like time), on PostgreSQL cast to their
  types so a VALUES list is typed.

Table names come from the models (never from input); values are parameters.
"""

# ruff: noqa: S608  table and column names come from the models and this module; every value is a parameter
from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from datetime import date, datetime

from django.db import connection

from clearhouse.accounts.models import Merchant
from clearhouse.orders.models import Order
from clearhouse.payments.models import PaymentIntent, Refund
from clearhouse.settlement.models import (
    FeeRule,
    SettledRefund,
    SettlementSchedule,
    Statement,
    StatementEvent,
    StatementLine,
)

T_ORDER = Order._meta.db_table
T_MERCHANT = Merchant._meta.db_table
T_INTENT = PaymentIntent._meta.db_table
T_REFUND = Refund._meta.db_table
T_RULE = FeeRule._meta.db_table
T_SCHEDULE = SettlementSchedule._meta.db_table
T_STATEMENT = Statement._meta.db_table
T_LINE = StatementLine._meta.db_table
T_SETTLED = SettledRefund._meta.db_table
T_EVENT = StatementEvent._meta.db_table

ROUND_HALF = 500_000
PPM = 1_000_000

# The fee terms frozen onto a line, as the line's column names.
TERM_COLUMNS = ("fee_rule_id", "fee_rate_ppm", "fixed_fee_minor", "minimum_fee_minor", "maximum_fee_minor",
                "payment_fee_basis", "payment_fee_rate_ppm")
# ... and where each comes from on a FeeRule row.
RULE_SOURCE = {"fee_rule_id": "id", "fee_rate_ppm": "rate_ppm", "fixed_fee_minor": "fixed_fee_minor",
                "minimum_fee_minor": "minimum_fee_minor", "maximum_fee_minor": "maximum_fee_minor",
                "payment_fee_basis": "payment_fee_basis", "payment_fee_rate_ppm": "payment_fee_rate_ppm"}


def vendor() -> str:
    return connection.vendor


def ts_param() -> str:
    """A placeholder for an instant (pass `ts_value(dt)`)."""
    return "CAST(%s AS TIMESTAMP WITH TIME ZONE)" if vendor() == "postgresql" else "%s"


def ts_value(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def date_param() -> str:
    return "CAST(%s AS DATE)" if vendor() == "postgresql" else "%s"


def date_value(value: date | None):
    return None if value is None else value.isoformat()


def int_param() -> str:
    return "CAST(%s AS BIGINT)" if vendor() == "postgresql" else "%s"


def day_after(expr: str) -> str:
    """The day after a date column or expression."""
    return f"({expr} + 1)" if vendor() == "postgresql" else f"date({expr}, '+1 day')"


def true() -> str:
    return "TRUE" if vendor() == "postgresql" else "1"


def false() -> str:
    return "FALSE" if vendor() == "postgresql" else "0"


def json_param() -> str:
    return "CAST(%s AS JSONB)" if vendor() == "postgresql" else "%s"


def advisory_lock(key: int) -> None:
    """Serialise settlement writers (runs, manual batches) on PostgreSQL; SQLite has one writer anyway."""
    if vendor() == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def refresh_planner_statistics(table: str, columns: Sequence[str] = ()) -> None:
    """PostgreSQL: let the planner see the rows this transaction just wrote (it plans the next steps by them).

    Without it a run estimates its new statements at one row and picks
    nested loops over a million orders. ANALYZE may run inside a transaction.
    """
    if vendor() == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {table}" + (f" ({', '.join(columns)})" if columns else ""))


@contextmanager
def bulk_plans():
    """PostgreSQL, inside this block only: hash joins and memory for them, for a run over many merchants.

    A run reads a million orders against statement lines written moments
    ago (this run's statements, the last run's lines) for which the planner
    has no statistics yet; on its row estimates of one it would pick nested
    loops, rescanning a table per order. Hash joins read each table once
    whatever the estimates. The previous settings come back afterwards.
    """
    if vendor() != "postgresql":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("SELECT current_setting('enable_nestloop'), current_setting('work_mem'), current_setting('jit'),"
                    " pg_my_temp_schema() = 0")
        nestloop, work_mem, jit, no_temp_tables_yet = cur.fetchone()
        # JIT: a million-row INSERT is costed high enough to be compiled with inlining and optimisation, which
        # costs more (about a second) than it saves on these simple expressions.
        cur.execute("SELECT set_config('enable_nestloop', 'off', true), set_config('work_mem', '256MB', true),"
                    " set_config('jit', 'off', true)")
        if no_temp_tables_yet:
            # Room for the batch's temporary table in memory. Settable only before the session's first temporary
            # table (so never put back by hand: the transaction's end does that).
            cur.execute("SELECT set_config('temp_buffers', '256MB', true)")
    yield
    # Only on success: after an error the (sub)transaction rolls back, and the settings with it.
    with connection.cursor() as cur:
        cur.execute("SELECT set_config('enable_nestloop', %s, true), set_config('work_mem', %s, true),"
                    " set_config('jit', %s, true)", [nestloop, work_mem, jit])


# ---- fee rule resolution ----


def fee_rule_joins(*, order: str = "o", merchant: str = "m", at: str | None = None) -> str:
    """LEFT JOINs of the merchant's own rule (mr) and its business type's (br) in force at `at`.

    Rules of one scope and currency never overlap, so each join finds at most
    one row. `merchant` must be the accounts_merchant alias of the order's
    merchant. Hash-joinable on (scope, currency); the date range is a filter.
    """
    at = at or f"{order}.status_changed_at"
    return (f" LEFT JOIN {T_RULE} mr ON mr.merchant_id = {order}.merchant_id AND mr.currency = {order}.currency"
            f" AND mr.starts_at <= {at} AND (mr.ends_at IS NULL OR {at} < mr.ends_at)"
            f" LEFT JOIN {T_RULE} br ON br.business_type_id = {merchant}.business_type_id"
            f" AND br.currency = {order}.currency"
            f" AND br.starts_at <= {at} AND (br.ends_at IS NULL OR {at} < br.ends_at)")


HAS_RULE = "(mr.id IS NOT NULL OR br.id IS NOT NULL)"
NO_RULE = "(mr.id IS NULL AND br.id IS NULL)"


def rule_terms_select() -> str:
    """The resolved rule's terms as line column names: the merchant's own wins."""
    return ", ".join(f"CASE WHEN mr.id IS NOT NULL THEN mr.{src} ELSE br.{src} END AS {col}"
                     for col, src in RULE_SOURCE.items())


def proposed_terms_select(terms, *, own_rule_wins: bool = False) -> tuple[str, list]:
    """Given FeeTerms as the terms columns (simulation of a proposed rule); `own_rule_wins`: where the merchant's
    own rule (mr) is in force, its terms instead (a proposed business-type rule does not override it)."""
    values = {"fee_rule_id": None, "fee_rate_ppm": terms.rate_ppm, "fixed_fee_minor": terms.fixed_fee_minor,
              "minimum_fee_minor": terms.minimum_fee_minor, "maximum_fee_minor": terms.maximum_fee_minor,
              "payment_fee_basis": str(terms.payment_fee_basis), "payment_fee_rate_ppm": terms.payment_fee_rate_ppm}
    parts = []
    for column, source in RULE_SOURCE.items():
        value = "CAST(%s AS VARCHAR(10))" if column == "payment_fee_basis" else int_param()
        if own_rule_wins:
            value = f"CASE WHEN mr.id IS NOT NULL THEN mr.{source} ELSE {value} END"
        parts.append(f"{value} AS {column}")
    return ", ".join(parts), [values[c] for c in RULE_SOURCE]


# ---- per-order amounts ----


def order_figures_select(order: str = "o") -> str:
    """What settlement reads of an order, as line column names (without refunds and the provider's fee)."""
    return (f"{order}.subtotal_minor + {order}.shipping_fee_minor AS order_amount_minor,"
            f" {order}.merchant_coupon_amount_minor AS merchant_coupon_minor,"
            f" {order}.subtotal_minor + {order}.shipping_fee_minor - {order}.merchant_coupon_amount_minor"
            f" AS collected_minor,"
            f" {order}.platform_coupon_amount_minor + {order}.points_amount_minor AS platform_funded_minor,"
            f" {order}.total_minor AS paid_minor")


FIGURE_COLUMNS = ("order_amount_minor", "merchant_coupon_minor", "collected_minor", "platform_funded_minor",
                  "paid_minor")
AMOUNT_COLUMNS = (*FIGURE_COLUMNS, "service_fee_minor", "payment_fee_minor", "refunds_minor", "net_minor")


def amounts_query(base: str, passthrough: tuple[str, ...]) -> str:
    """Wrap `base` (a SELECT giving `passthrough` columns, FIGURE_COLUMNS, TERM_COLUMNS, refunds_minor and
    actual_fee_minor) into a SELECT adding service_fee_minor, payment_fee_minor and net_minor.

    Exactly domain.service_fee and domain.order_amounts, step by step:
      fee0 = round_half_up(collected x rate) + fixed
      fee1 = max(fee0, minimum)            (when a minimum is set)
      fee2 = min(fee1, maximum)            (when a maximum is set)
      fee  = max(0, min(fee2, max(collected, 0)))
      payment fee = round_half_up(paid x payment fee rate) (basis rate) | the provider's fee, 0 if unknown
      net  = collected - fee - payment fee - refunds
    """
    keep = (*passthrough, *FIGURE_COLUMNS, *TERM_COLUMNS, "refunds_minor")
    cols = ", ".join(f"q.{c}" for c in keep)
    step1 = (f"SELECT {cols}, q.actual_fee_minor,"
             f" (q.collected_minor * q.fee_rate_ppm + {ROUND_HALF}) / {PPM} + q.fixed_fee_minor AS fee0"
             f" FROM ({base}) q")
    step2 = (f"SELECT {cols}, q.actual_fee_minor,"
             f" CASE WHEN q.minimum_fee_minor IS NOT NULL AND q.fee0 < q.minimum_fee_minor"
             f" THEN q.minimum_fee_minor ELSE q.fee0 END AS fee1 FROM ({step1}) q")
    step3 = (f"SELECT {cols}, q.actual_fee_minor,"
             f" CASE WHEN q.maximum_fee_minor IS NOT NULL AND q.fee1 > q.maximum_fee_minor"
             f" THEN q.maximum_fee_minor ELSE q.fee1 END AS fee2 FROM ({step2}) q")
    step4 = (f"SELECT {cols},"
             f" CASE WHEN q.collected_minor <= 0 THEN 0 WHEN q.fee2 < 0 THEN 0"
             f" WHEN q.fee2 > q.collected_minor THEN q.collected_minor ELSE q.fee2 END AS service_fee_minor,"
             f" CASE WHEN q.payment_fee_basis = 'rate'"
             f" THEN (q.paid_minor * q.payment_fee_rate_ppm + {ROUND_HALF}) / {PPM}"
             f" ELSE COALESCE(q.actual_fee_minor, 0) END AS payment_fee_minor FROM ({step3}) q")
    return (f"SELECT {cols}, q.service_fee_minor, q.payment_fee_minor,"
            f" q.collected_minor - q.service_fee_minor - q.payment_fee_minor - q.refunds_minor AS net_minor"
            f" FROM ({step4}) q")
