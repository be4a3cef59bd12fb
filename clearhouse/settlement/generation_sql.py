"""Statement generation as set-based SQL steps (`Batch`), and statement totals from their lines.

Built from the fragments in sql.py (fee rule resolution, the per-order
amounts of domain.order_amounts); services/generation.py runs the steps in
one transaction, under the settlement lock.
"""

# ruff: noqa: S608  table and column names come from the models and sql.py; every value is a parameter
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection

from clearhouse.settlement.sql import (
    AMOUNT_COLUMNS,
    FIGURE_COLUMNS,
    HAS_RULE,
    T_EVENT,
    T_INTENT,
    T_LINE,
    T_MERCHANT,
    T_ORDER,
    T_REFUND,
    T_SETTLED,
    T_STATEMENT,
    TERM_COLUMNS,
    amounts_query,
    day_after,
    false,
    fee_rule_joins,
    json_param,
    order_figures_select,
    refresh_planner_statistics,
    rule_terms_select,
    true,
    ts_param,
    ts_value,
    vendor,
)

LINE_COLUMNS = ("statement_id", "merchant_id", "currency", "kind", "order_id", "order_number", "refund_id",
                "carried_from_id", "eligible_at", *AMOUNT_COLUMNS, *TERM_COLUMNS, "note")
BATCH_COLUMNS = ("order_id", "merchant_id", "currency", "order_number", "eligible_at", "schedule_id", "period_end",
                 *FIGURE_COLUMNS, *TERM_COLUMNS, "actual_fee_minor", "has_rule")
TOTALS = {
    "line_count": "COUNT(*)",
    "order_count": "SUM(CASE WHEN l.kind = 'order' THEN 1 ELSE 0 END)",
    "order_amount_minor": "SUM(l.order_amount_minor)",
    "merchant_coupon_minor": "SUM(l.merchant_coupon_minor)",
    "collected_minor": "SUM(l.collected_minor)",
    "platform_funded_minor": "SUM(l.platform_funded_minor)",
    "service_fee_minor": "SUM(l.service_fee_minor)",
    "payment_fee_minor": "SUM(l.payment_fee_minor)",
    "refunds_minor": "SUM(l.refunds_minor)",
    "adjustments_minor": "SUM(CASE WHEN l.kind = 'adjustment' THEN l.net_minor ELSE 0 END)",
    "carried_forward_minor": "SUM(CASE WHEN l.kind = 'carry_forward' THEN l.net_minor ELSE 0 END)",
    "net_minor": "SUM(l.net_minor)",
}


def refresh_totals(line_filter: str, params: Sequence, now: datetime) -> None:
    """Statement totals = the sums of their lines, for the statements of the lines matching `line_filter`
    (alias l): one UPDATE ... FROM (... GROUP BY)."""
    sets = ", ".join(f"{c} = t.{c}" for c in TOTALS)
    sums = ", ".join(f"{expr} AS {c}" for c, expr in TOTALS.items())
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {T_STATEMENT} SET {sets}, updated_at = {ts_param()}"
                    f" FROM (SELECT l.statement_id, {sums} FROM {T_LINE} l WHERE {line_filter}"
                    f" GROUP BY l.statement_id) t WHERE {T_STATEMENT}.id = t.statement_id",
                    [ts_value(now), *params])


def line_values(values: dict) -> str:
    """A SELECT list for LINE_COLUMNS: the given expressions, zero amounts and no fee terms otherwise."""
    out = []
    for column in LINE_COLUMNS:
        if column in values:
            out.append(values[column])
        elif column in TERM_COLUMNS:
            out.append("''" if column == "payment_fee_basis" else "NULL")
        else:
            out.append("0")
    return ", ".join(out)


def temp_table(name: str) -> str:
    return f"pg_temp.{name}" if vendor() == "postgresql" else f"temp.{name}"


@dataclass
class Batch:
    """One generation (a scheduled run or a manual batch) as set-based steps.

    `due_cte` defines `due (merchant_id, schedule_id, cutoff, period_end)`:
    the merchants covered and the instant before which their orders are
    eligible. The eligible, unsettled orders are read once, with their fee
    rule resolved, into a temporary table (`materialise`), so every later
    step reads the same orders; a dry run reads them in place instead.
    Statements of this batch: its run_key, id above the watermark.
    """

    due_cte: str
    due_params: list
    run_key: str
    kind: str
    number_sql: str  # the statement number, from c.merchant_id and c.currency
    number_params: list
    now: datetime
    actor: str
    order_where: str = ""  # more conditions on o
    order_params: list = field(default_factory=list)
    clawback_where: str = ""  # more conditions on ol (the settled order's line)
    clawback_params: list = field(default_factory=list)
    statements_for_clawbacks: bool = True
    watermark: int = 0
    source: str = ""  # the materialised orders' table, once there
    bulk: bool = False  # many merchants: refresh the planner's statistics between steps (PostgreSQL)

    def with_due(self, rest: str) -> str:
        """`rest` under the WITH list that defines `due` (it starts with ", name AS (...)" or " SELECT ...")."""
        return f"WITH {self.due_cte}{rest}"

    def run(self, text: str, params: Sequence, *, fetch: bool = False):
        with connection.cursor() as cur:
            cur.execute(text, params)
            return cur.fetchall() if fetch else None

    def orders_select(self, *, refunds_from_payments: bool = False) -> tuple[str, list]:
        """SELECT of the batch's eligible, unsettled orders (BATCH_COLUMNS), rule or not (has_rule); needs `due`."""
        text = (f"SELECT o.id AS order_id, o.merchant_id AS merchant_id, o.currency AS currency,"
                f" o.number AS order_number, o.status_changed_at AS eligible_at, d.schedule_id AS schedule_id,"
                f" d.period_end AS period_end, {order_figures_select()}, {rule_terms_select()},"
                f" pi.fee_minor AS actual_fee_minor, CASE WHEN {HAS_RULE} THEN 1 ELSE 0 END AS has_rule"
                f" FROM {T_ORDER} o JOIN due d ON d.merchant_id = o.merchant_id"
                f" JOIN {T_MERCHANT} m ON m.id = o.merchant_id{fee_rule_joins()}"
                f" LEFT JOIN {T_INTENT} pi ON pi.order_id = o.id AND pi.status = 'captured'"
                f" WHERE o.status = %s AND o.status_changed_at < d.cutoff"
                f" AND NOT EXISTS (SELECT 1 FROM {T_LINE} sl WHERE sl.order_id = o.id AND sl.kind = 'order')"
                f"{self.order_where}")
        return text, [settings.CLEARHOUSE_SETTLEMENT_ELIGIBLE_STATUS, *self.order_params]

    def orders(self) -> tuple[str, list]:
        """The FROM item of the batch's orders, alias b: the materialised table, else the SELECT in place."""
        if self.source:
            return f"{self.source} b", []
        text, params = self.orders_select()
        return f"({text}) b", params

    def pending_clawbacks(self) -> tuple[str, list]:
        """FROM ... WHERE of succeeded refunds of this batch's merchants' settled orders, not yet counted (r, ol)."""
        text = (f" FROM {T_REFUND} r JOIN {T_LINE} ol ON ol.order_id = r.order_id AND ol.kind = 'order'"
                f" JOIN due d ON d.merchant_id = ol.merchant_id"
                f" WHERE r.status = 'succeeded'"
                f" AND NOT EXISTS (SELECT 1 FROM {T_SETTLED} sr WHERE sr.refund_id = r.id){self.clawback_where}")
        return text, list(self.clawback_params)

    def new_statements(self, alias: str = "st") -> str:
        return f"{alias}.run_key = %s AND {alias}.id > %s"

    @property
    def new_params(self) -> list:
        return [self.run_key, self.watermark]

    # ---- the steps, in order ----

    def take_watermark(self) -> None:
        rows = self.run(f"SELECT COALESCE(MAX(id), 0) FROM {T_STATEMENT}", [], fetch=True)
        self.watermark = rows[0][0]

    def materialise(self) -> None:
        """Read the eligible orders once, fee rules resolved, into a temporary table."""
        name = temp_table("settlement_batch")
        self.run(f"DROP TABLE IF EXISTS {name}", [])
        select, params = self.orders_select()
        self.run(f"CREATE TEMPORARY TABLE settlement_batch AS {self.with_due(' ' + select)}",
                 [*self.due_params, *params])
        if self.bulk:  # what the next steps filter and join the batch on
            refresh_planner_statistics(name, ("merchant_id", "currency", "has_rule"))
        self.source = name

    def drop_materialised(self) -> None:
        if self.source:
            self.run(f"DROP TABLE IF EXISTS {self.source}", [])
            self.source = ""

    def blocked_count(self) -> int:
        orders, params = self.orders()
        return self.run(self.with_due(f" SELECT COUNT(*) FROM {orders} WHERE b.has_rule = 0"),
                        [*self.due_params, *params], fetch=True)[0][0]

    def eligible_ids(self) -> set[int]:
        orders, params = self.orders()
        return {row[0] for row in self.run(self.with_due(f" SELECT b.order_id FROM {orders} WHERE b.has_rule = 1"),
                                           [*self.due_params, *params], fetch=True)}

    def insert_statements(self) -> None:
        """One statement per (merchant, currency) with an order to settle or (scheduled) a refund to claw back."""
        orders, orders_params = self.orders()
        claw_from, claw_params = self.pending_clawbacks()
        claw_arm = (f" UNION SELECT ol.merchant_id, ol.currency, d.schedule_id, d.period_end{claw_from}"
                    if self.statements_for_clawbacks else "")
        columns = ("number, merchant_id, currency, kind, run_key, schedule_id, period_start, period_end, cutoff_at,"
                   " status, revision, line_count, order_count, order_amount_minor, merchant_coupon_minor,"
                   " collected_minor, platform_funded_minor, service_fee_minor, payment_fee_minor, refunds_minor,"
                   " adjustments_minor, carried_forward_minor, net_minor, confirmed_by, dispute_reason,"
                   " payout_reference, payout_voucher, payout_voucher_type, paid_by, created_by, created_at,"
                   " updated_at")
        text = self.with_due(
            f", cand AS (SELECT b.merchant_id, b.currency, b.schedule_id, b.period_end FROM {orders}"
            f" WHERE b.has_rule = 1 GROUP BY b.merchant_id, b.currency, b.schedule_id, b.period_end{claw_arm}),"
            f" prev AS (SELECT p.merchant_id, p.currency, MAX(p.period_end) AS period_end"
            f" FROM {T_STATEMENT} p JOIN due d ON d.merchant_id = p.merchant_id GROUP BY p.merchant_id, p.currency)"
            f" INSERT INTO {T_STATEMENT} ({columns})"
            f" SELECT {self.number_sql}, c.merchant_id, c.currency, %s, %s, c.schedule_id,"
            # The day after the merchant's latest statement; none when that one ends later (a manual batch of
            # older orders): a period never starts after it ends.
            f" CASE WHEN prev.period_end < c.period_end THEN {day_after('prev.period_end')} END, c.period_end,"
            f" {ts_param()}, 'draft', 1,"
            f" 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '', '', '', '', '', '', %s, {ts_param()}, {ts_param()}"
            f" FROM cand c LEFT JOIN prev ON prev.merchant_id = c.merchant_id AND prev.currency = c.currency"
            f" WHERE NOT EXISTS (SELECT 1 FROM {T_STATEMENT} s WHERE s.merchant_id = c.merchant_id"
            f" AND s.currency = c.currency AND s.run_key = %s)")
        now = ts_value(self.now)
        self.run(text, [*self.due_params, *orders_params, *(claw_params if self.statements_for_clawbacks else []),
                        *self.number_params, self.kind, self.run_key, now, self.actor, now, now, self.run_key])
        if self.bulk:
            refresh_planner_statistics(T_STATEMENT, ("merchant_id", "currency", "run_key"))

    def insert_settled_refunds(self) -> None:
        """The succeeded refunds of the orders being settled: counted on their lines, never clawed back."""
        orders, params = self.orders()
        self.run(self.with_due(
            f" INSERT INTO {T_SETTLED} (refund_id, order_id, merchant_id, amount_minor, statement_id, as_clawback)"
            f" SELECT r.id, b.order_id, b.merchant_id, r.amount_minor, st.id, {false()} FROM {orders}"
            f" JOIN {T_REFUND} r ON r.order_id = b.order_id AND r.status = 'succeeded'"
            f" JOIN {T_STATEMENT} st ON st.merchant_id = b.merchant_id AND st.currency = b.currency"
            f" AND {self.new_statements()}"
            f" WHERE b.has_rule = 1 AND NOT EXISTS (SELECT 1 FROM {T_SETTLED} sr WHERE sr.refund_id = r.id)"),
            [*self.due_params, *params, *self.new_params])

    def insert_order_lines(self) -> None:
        """One line per order, amounts per domain.order_amounts, fee terms frozen, in statement order."""
        orders, params = self.orders()
        refunded = (f"refunded AS (SELECT sr.order_id, SUM(sr.amount_minor) AS amount_minor FROM {T_SETTLED} sr"
                    f" WHERE sr.statement_id > %s AND sr.as_clawback = {false()} GROUP BY sr.order_id)")
        base = (f"SELECT st.id AS statement_id, b.merchant_id AS merchant_id, b.currency AS currency,"
                f" b.order_id AS order_id, b.order_number AS order_number, b.eligible_at AS eligible_at,"
                f" {', '.join(f'b.{c} AS {c}' for c in (*FIGURE_COLUMNS, *TERM_COLUMNS))},"
                f" COALESCE(rf.amount_minor, 0) AS refunds_minor, b.actual_fee_minor AS actual_fee_minor"
                f" FROM {orders} JOIN {T_STATEMENT} st ON st.merchant_id = b.merchant_id"
                f" AND st.currency = b.currency AND {self.new_statements()}"
                f" LEFT JOIN refunded rf ON rf.order_id = b.order_id WHERE b.has_rule = 1")
        amounts = amounts_query(base, ("statement_id", "merchant_id", "currency", "order_id", "order_number",
                                       "eligible_at"))
        select = line_values({c: f"a.{c}" for c in LINE_COLUMNS if c not in ("refund_id", "carried_from_id", "note")}
                             | {"kind": "'order'", "refund_id": "NULL", "carried_from_id": "NULL", "note": "''"})
        # In statement order: the statement indexes then grow at their right edge (much less index work).
        self.run(self.with_due(f", {refunded} INSERT INTO {T_LINE} ({', '.join(LINE_COLUMNS)})"
                               f" SELECT {select} FROM ({amounts}) a ORDER BY a.statement_id, a.order_id"),
                 [*self.due_params, self.watermark, *params, *self.new_params])

    def insert_clawbacks(self) -> None:
        """Refunds of orders settled earlier, not yet counted: counted now, a negative line each."""
        self.run(
            f"INSERT INTO {T_SETTLED} (refund_id, order_id, merchant_id, amount_minor, statement_id, as_clawback)"
            f" SELECT r.id, r.order_id, ol.merchant_id, r.amount_minor, st.id, {true()}"
            f" FROM {T_REFUND} r JOIN {T_LINE} ol ON ol.order_id = r.order_id AND ol.kind = 'order'"
            f" JOIN {T_STATEMENT} st ON st.merchant_id = ol.merchant_id AND st.currency = ol.currency"
            f" AND {self.new_statements()}"
            f" WHERE r.status = 'succeeded' AND ol.statement_id <= %s"
            f" AND NOT EXISTS (SELECT 1 FROM {T_SETTLED} sr WHERE sr.refund_id = r.id)",
            [*self.new_params, self.watermark])
        values = {"kind": "'clawback'", "order_id": "o.id", "order_number": "o.number", "refund_id": "sr.refund_id",
                  "carried_from_id": "NULL", "eligible_at": "NULL", "refunds_minor": "sr.amount_minor",
                  "net_minor": "-sr.amount_minor", "statement_id": "sr.statement_id",
                  "merchant_id": "sr.merchant_id", "currency": "o.currency", "note": "''"}
        self.run(f"INSERT INTO {T_LINE} ({', '.join(LINE_COLUMNS)}) SELECT {line_values(values)}"
                 f" FROM {T_SETTLED} sr JOIN {T_ORDER} o ON o.id = sr.order_id"
                 f" JOIN {T_STATEMENT} st ON st.id = sr.statement_id AND {self.new_statements()}"
                 f" WHERE sr.as_clawback = {true()} AND sr.statement_id > %s", [*self.new_params, self.watermark])

    def insert_carry_forwards(self) -> None:
        """Earlier statements carried forward with a negative net: a line each in this batch's statement of
        their merchant and currency (one that has other lines)."""
        values = {"kind": "'carry_forward'", "order_id": "NULL", "order_number": "''", "refund_id": "NULL",
                  "carried_from_id": "p.id", "eligible_at": "NULL", "refunds_minor": "0", "net_minor": "p.net_minor",
                  "statement_id": "st.id", "merchant_id": "st.merchant_id", "currency": "st.currency", "note": "''"}
        self.run(f"INSERT INTO {T_LINE} ({', '.join(LINE_COLUMNS)}) SELECT {line_values(values)}"
                 f" FROM {T_STATEMENT} p JOIN {T_STATEMENT} st ON st.merchant_id = p.merchant_id"
                 f" AND st.currency = p.currency AND {self.new_statements()}"
                 f" WHERE p.status = 'carried_forward' AND p.net_minor < 0"
                 f" AND NOT EXISTS (SELECT 1 FROM {T_LINE} l"
                 f" WHERE l.carried_from_id = p.id AND l.kind = 'carry_forward')"
                 f" AND EXISTS (SELECT 1 FROM {T_LINE} l2 WHERE l2.statement_id = st.id)", self.new_params)

    def finish(self) -> list[int]:
        """Totals from the lines; statements left without a line removed; a 'generated' event each; their ids."""
        refresh_totals("l.statement_id > %s", [self.watermark], self.now)
        self.run(f"DELETE FROM {T_STATEMENT} WHERE {self.new_statements(T_STATEMENT)} AND line_count = 0",
                 self.new_params)
        parameters = json.dumps({"run_key": self.run_key, "kind": self.kind})
        self.run(f"INSERT INTO {T_EVENT} (statement_id, type, from_status, to_status, parameters, actor, created_at)"
                 f" SELECT st.id, 'generated', '', 'draft', {json_param()}, %s, {ts_param()}"
                 f" FROM {T_STATEMENT} st WHERE {self.new_statements()}",
                 [parameters, self.actor, ts_value(self.now), *self.new_params])
        return [row[0] for row in self.run(f"SELECT st.id FROM {T_STATEMENT} st WHERE {self.new_statements()}"
                                           f" ORDER BY st.id", self.new_params, fetch=True)]

    def line_counts(self) -> dict[str, int]:
        """Lines made, by kind, read off the new statements' totals (not a second pass over the lines)."""
        rows = self.run(
            f"SELECT COALESCE(SUM(st.line_count), 0), COALESCE(SUM(st.order_count), 0),"
            f" (SELECT COUNT(*) FROM {T_SETTLED} sr WHERE sr.statement_id > %s AND sr.as_clawback = {true()})"
            f" FROM {T_STATEMENT} st WHERE {self.new_statements()}", [self.watermark, *self.new_params], fetch=True)
        lines, orders, clawbacks = (int(v) for v in rows[0])
        return {"order": orders, "clawback": clawbacks, "carry_forward": lines - orders - clawbacks}

    # ---- dry run ----

    def preview(self) -> list[dict]:
        """Per (merchant, currency): what the steps would put on the statement; reads only."""
        orders, params = self.orders()
        base = (f"SELECT b.merchant_id AS merchant_id, b.currency AS currency,"
                f" {', '.join(f'b.{c} AS {c}' for c in (*FIGURE_COLUMNS, *TERM_COLUMNS))},"
                f" COALESCE(rf.amount_minor, 0) AS refunds_minor, b.actual_fee_minor AS actual_fee_minor"
                f" FROM {orders} LEFT JOIN refunded rf ON rf.order_id = b.order_id WHERE b.has_rule = 1"
                f" AND NOT EXISTS (SELECT 1 FROM {T_STATEMENT} s WHERE s.merchant_id = b.merchant_id"
                f" AND s.currency = b.currency AND s.run_key = %s)")
        sums = ", ".join(f"SUM(a.{c})" for c in AMOUNT_COLUMNS)
        rows = self.run(self.with_due(
            f", refunded AS (SELECT r.order_id, SUM(r.amount_minor) AS amount_minor FROM {T_REFUND} r"
            f" WHERE r.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM {T_SETTLED} sr"
            f" WHERE sr.refund_id = r.id) GROUP BY r.order_id)"
            f" SELECT a.merchant_id, a.currency, COUNT(*), {sums}"
            f" FROM ({amounts_query(base, ('merchant_id', 'currency'))}) a GROUP BY a.merchant_id, a.currency"),
            [*self.due_params, *params, self.run_key], fetch=True)
        preview = {(r[0], r[1]): _preview_row(r[0], r[1], r[2], dict(zip(AMOUNT_COLUMNS, r[3:], strict=True)))
                   for r in rows}
        self._preview_clawbacks(preview)
        self._preview_carry_forwards(preview)
        return [preview[key] for key in sorted(preview)]

    def _preview_clawbacks(self, preview: dict) -> None:
        claw_from, params = self.pending_clawbacks()
        rows = self.run(self.with_due(
            f" SELECT ol.merchant_id, ol.currency, COUNT(*), SUM(r.amount_minor){claw_from}"
            f" AND NOT EXISTS (SELECT 1 FROM {T_STATEMENT} s WHERE s.merchant_id = ol.merchant_id"
            f" AND s.currency = ol.currency AND s.run_key = %s) GROUP BY ol.merchant_id, ol.currency"),
            [*self.due_params, *params, self.run_key], fetch=True)
        for merchant_id, currency, count, amount in rows:
            if (merchant_id, currency) not in preview:
                if not self.statements_for_clawbacks:
                    continue
                preview[(merchant_id, currency)] = _preview_row(merchant_id, currency, 0, {})
            row = preview[(merchant_id, currency)]
            row["clawbacks"] = int(count)
            row["refunds_minor"] += int(amount)
            row["net_minor"] -= int(amount)

    def _preview_carry_forwards(self, preview: dict) -> None:
        rows = self.run(self.with_due(
            f" SELECT p.merchant_id, p.currency, SUM(p.net_minor) FROM {T_STATEMENT} p"
            f" WHERE p.status = 'carried_forward' AND p.net_minor < 0"
            f" AND p.merchant_id IN (SELECT merchant_id FROM due)"
            f" AND NOT EXISTS (SELECT 1 FROM {T_LINE} l WHERE l.carried_from_id = p.id AND l.kind = 'carry_forward')"
            f" GROUP BY p.merchant_id, p.currency"), self.due_params, fetch=True)
        for merchant_id, currency, amount in rows:
            row = preview.get((merchant_id, currency))
            if row is not None:
                row["carried_forward_minor"] = int(amount)
                row["net_minor"] += int(amount)


def _preview_row(merchant_id: int, currency: str, orders: int, sums: dict) -> dict:
    row = {"merchant_id": merchant_id, "currency": currency, "orders": orders, "clawbacks": 0,
           "carried_forward_minor": 0}
    row.update({c: int(sums.get(c) or 0) for c in AMOUNT_COLUMNS})
    return row
