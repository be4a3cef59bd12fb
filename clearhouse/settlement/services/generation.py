"""Statement generation, set-based: a few INSERT ... SELECT statements per run, never a loop over orders.

A run (scheduled, for a day) or a manual batch (one merchant, chosen orders)
is a `generation_sql.Batch`: which merchants it covers and the instant before
which their orders count as eligible (the `due` CTE), plus filters. Every
step below is one SQL statement over the whole batch:

0. the eligible, unsettled orders, fee rule resolved, read once into a
   temporary table (those without a rule are counted as blocked);
1. statements: one per (merchant, currency) with an eligible, unsettled order
   that has a fee rule, or a refund to claw back; none where this run's
   statement already exists (run_key unique: running twice creates nothing);
2. settled refunds: the succeeded refunds of the orders being settled;
3. order lines: amounts per `domain.order_amounts`, in SQL (see sql.py), fee
   terms frozen on the line;
4. clawbacks: succeeded refunds of orders settled earlier, not yet counted;
5. carry-forward lines: earlier statements that ended negative;
6. totals = sums of the lines (one UPDATE ... FROM ... GROUP BY), events.

Writers take turns (an advisory lock on PostgreSQL; SQLite has one writer),
so the statements of this batch are those of its run_key with an id above
the highest id seen once the lock was held (the watermark).
"""

# ruff: noqa: S608  table and column names come from the models and this module; every value is a parameter
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clearhouse.core.audit import actor_label
from clearhouse.core.errors import ValidationFailed
from clearhouse.core.money import normalise_currency
from clearhouse.settlement import sql
from clearhouse.settlement.domain import (
    LOCKED,
    NoFeeRule,
    NothingToSettle,
    ScheduleTerms,
    StatementLocked,
    eligible_before,
    schedule_is_due,
)
from clearhouse.settlement.generation_sql import TOTALS, Batch, refresh_totals
from clearhouse.settlement.models import SettlementSchedule, Statement
from clearhouse.settlement.services.rules import day_start

GENERATION_LOCK = 0x43485354  # "CHST": one settlement writer at a time
MAX_RUN_KEY = Statement._meta.get_field("run_key").max_length


@dataclass
class RunResult:
    """What a run made (or, dry run, would make)."""

    day: date
    dry_run: bool
    statements_created: int = 0
    lines_created: int = 0
    orders_settled: int = 0
    clawbacks: int = 0
    blocked_orders: int = 0
    statement_ids: list[int] = field(default_factory=list)
    # dry run: per (merchant id, currency) the totals it would produce
    preview: list[dict] = field(default_factory=list)


# ---- scheduled runs ----


def _due_terms(day: date) -> list[tuple]:
    """Distinct terms of active schedules that are due on `day`, each with its cut-off and period end.

    A loop over the few distinct schedule terms, not over merchants or
    orders; SQL matches schedules to these terms. A stored row that breaks
    the schedule rules is never due.
    """
    rows = (SettlementSchedule.objects.filter(is_active=True)
            .order_by().values_list("cycle", "day_of_month", "weekday", "delay_days", "eligibility_delay_days")
            .distinct())
    due = []
    for cycle, day_of_month, weekday, delay_days, eligibility_delay_days in rows:
        try:
            terms = ScheduleTerms(cycle=cycle, day_of_month=day_of_month, weekday=weekday, delay_days=delay_days,
                                  eligibility_delay_days=eligibility_delay_days)
        except ValidationFailed:
            continue
        if schedule_is_due(terms, day):
            before = eligible_before(terms, day)
            due.append((cycle, _or_minus_one(day_of_month), _or_minus_one(weekday), _or_minus_one(delay_days),
                        eligibility_delay_days, day_start(before), before - timedelta(days=1)))
    return due


def _or_minus_one(value: int | None) -> int:
    return -1 if value is None else value


def scheduled_due_cte(due_terms: list[tuple], merchant_ids: Sequence[int] | None) -> tuple[str, list]:
    """`terms` (the due terms as VALUES) and `due`: each merchant whose effective schedule is due.

    A merchant's own active schedule wins over its business type's active one.
    """
    i = sql.int_param()
    row = f"(%s, {i}, {i}, {i}, {i}, {sql.ts_param()}, {sql.date_param()})"
    params: list = []
    for cycle, dom, wd, dd, ed, cutoff, period_end in due_terms:
        params += [cycle, dom, wd, dd, ed, sql.ts_value(cutoff), sql.date_value(period_end)]
    match = ("s.cycle = t.cycle AND COALESCE(s.day_of_month, -1) = t.day_of_month"
             " AND COALESCE(s.weekday, -1) = t.weekday AND COALESCE(s.delay_days, -1) = t.delay_days"
             " AND s.eligibility_delay_days = t.eligibility_delay_days")
    active = f"= {sql.true()}"
    only = ""
    if merchant_ids is not None:
        only = f" WHERE x.merchant_id IN ({', '.join(['%s'] * len(merchant_ids))})"
        params += [int(m) for m in merchant_ids]
    cte = (f"terms (cycle, day_of_month, weekday, delay_days, eligibility_delay_days, cutoff, period_end) AS"
           f" (VALUES {', '.join([row] * len(due_terms))}),"
           f" due AS (SELECT x.merchant_id, x.schedule_id, x.cutoff, x.period_end FROM ("
           f"SELECT s.merchant_id AS merchant_id, s.id AS schedule_id, t.cutoff AS cutoff, t.period_end AS period_end"
           f" FROM {sql.T_SCHEDULE} s JOIN terms t ON {match}"
           f" WHERE s.is_active {active} AND s.merchant_id IS NOT NULL"
           f" UNION ALL SELECT m.id, s.id, t.cutoff, t.period_end"
           f" FROM {sql.T_SCHEDULE} s JOIN terms t ON {match}"
           f" JOIN {sql.T_MERCHANT} m ON m.business_type_id = s.business_type_id"
           f" WHERE s.is_active {active} AND s.business_type_id IS NOT NULL"
           f" AND NOT EXISTS (SELECT 1 FROM {sql.T_SCHEDULE} own WHERE own.merchant_id = m.id"
           f" AND own.is_active {active})) x{only})")
    return cte, params


def _statement_number_sql(prefix: str, *, manual: bool) -> tuple[str, list]:
    text = "%s || CAST(c.merchant_id AS VARCHAR(20)) || '-' || c.currency"
    if manual:
        # A sequence per merchant and currency: manual statements are never deleted, so it never repeats.
        text += (f" || '-' || CAST((SELECT COUNT(*) + 1 FROM {sql.T_STATEMENT} n WHERE n.merchant_id = c.merchant_id"
                 f" AND n.currency = c.currency AND n.kind = 'manual') AS VARCHAR(20))")
    return text, [prefix]


@transaction.atomic
def settlement_run(*, day: date, dry_run: bool = False, merchant_ids: Sequence[int] | None = None,
                   progress: Callable[[int, int], None] | None = None, actor=None) -> RunResult:
    """Generate the statements due on `day` for every merchant whose schedule is due (idempotent per day).

    A merchant's schedule is its own active one, else its business type's
    active one, else none (manual statements only). Orders in the settle
    state since before the start of `domain.eligible_before(terms, day)`,
    not yet on a statement and with a fee rule (merchant's own, else its
    business type's, in force when the order reached the settle state) go
    onto one statement per merchant and currency, run key
    `scheduled:<day>`; orders with no fee rule are counted as blocked.
    Pending clawbacks and carried-forward balances join those statements.
    `dry_run`: the same selection as aggregates in `preview`, nothing written.
    """
    due_terms = _due_terms(day)
    result = RunResult(day=day, dry_run=dry_run)
    if not due_terms or (merchant_ids is not None and not merchant_ids):
        return result
    due_cte, due_params = scheduled_due_cte(due_terms, merchant_ids)
    number_sql, number_params = _statement_number_sql(f"ST-{day:%Y%m%d}-", manual=False)
    batch = Batch(due_cte=due_cte, due_params=due_params, run_key=f"scheduled:{day.isoformat()}",
                      kind="scheduled", number_sql=number_sql, number_params=number_params, now=timezone.now(),
                      actor=actor_label(actor), bulk=True)
    if dry_run:
        with sql.bulk_plans():
            return _dry_run(batch, result, progress)
    sql.advisory_lock(GENERATION_LOCK)
    with sql.bulk_plans():
        made = _generate(batch, progress)
    made.day = day
    return made


def _generate(batch: Batch, progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Every step of a generation, in order; the caller holds the transaction and the lock."""
    steps = [batch.materialise, batch.insert_statements, batch.insert_settled_refunds, batch.insert_order_lines,
             batch.insert_clawbacks, batch.insert_carry_forwards]
    tick = progress or (lambda done, total: None)
    total = len(steps) + 2
    batch.take_watermark()
    result = RunResult(day=timezone.localdate(batch.now), dry_run=False)
    for done, step in enumerate(steps, start=1):
        step()
        if step == batch.materialise:
            result.blocked_orders = batch.blocked_count()
        tick(done, total)
    batch.drop_materialised()
    result.statement_ids = batch.finish()
    tick(total - 1, total)
    result.statements_created = len(result.statement_ids)
    # Counted afterwards: a cursor's rowcount of WITH ... INSERT is not reliable on every driver.
    counts = batch.line_counts()
    result.orders_settled = counts.get("order", 0)
    result.clawbacks = counts.get("clawback", 0)
    result.lines_created = sum(counts.values())
    tick(total, total)
    return result


def _dry_run(batch: Batch, result: RunResult, progress) -> RunResult:
    result.blocked_orders = batch.blocked_count()
    if progress:
        progress(1, 2)
    result.preview = batch.preview()
    result.statements_created = len(result.preview)
    result.orders_settled = sum(r["orders"] for r in result.preview)
    result.clawbacks = sum(r["clawbacks"] for r in result.preview)
    carried = sum(1 for r in result.preview if r["carried_forward_minor"])
    result.lines_created = result.orders_settled + result.clawbacks + carried
    if progress:
        progress(2, 2)
    return result


# ---- manual batches ----


def merchant_eligibility_delay_days(merchant) -> int:
    """How long an order of this merchant waits in the settle state: its schedule's delay, else the default."""
    for schedule in (SettlementSchedule.objects.filter(merchant_id=merchant.pk, is_active=True).first(),
                     SettlementSchedule.objects.filter(business_type_id=merchant.business_type_id,
                                                       is_active=True).first()):
        if schedule is not None:
            return schedule.eligibility_delay_days
    return settings.CLEARHOUSE_SETTLEMENT_DEFAULT_DELAY_DAYS


def manual_cutoff(merchant, now: datetime | None = None) -> datetime:
    """Orders in the settle state since before this instant are eligible for a manual statement."""
    return (now or timezone.now()) - timedelta(days=merchant_eligibility_delay_days(merchant))


@transaction.atomic
def statement_generate_manual(*, merchant, currency: str | None = None, order_ids: Sequence[int] | None = None,
                              completed_from: date | None = None, completed_to: date | None = None,
                              business_type=None, actor=None, run_key: str | None = None) -> list[Statement]:
    """Finance's batch statement from eligible, unsettled orders of one merchant chosen by ids or filters.

    Eligible: in the settle state for at least the merchant's eligibility
    delay (its schedule's, else the default), on no statement yet, with a
    fee rule. One statement per currency (kind manual, run key
    `manual:<run_key or a fresh id>`; the same run key again returns the
    statements it made). The merchant's pending clawbacks and carried-forward
    balances join them. Ids given that are not eligible are refused by name
    and nothing is written; nothing to settle raises NothingToSettle.
    """
    key = _manual_run_key(run_key)
    sql.advisory_lock(GENERATION_LOCK)  # first: a replay racing the original then finds what it made
    done = list(Statement.objects.filter(merchant_id=merchant.pk, run_key=key).order_by("id"))
    if done:
        return done
    batch = _manual_batch(merchant=merchant, currency=currency, order_ids=order_ids, completed_from=completed_from,
                          completed_to=completed_to, business_type=business_type, actor=actor, run_key=key)
    if batch is None:
        raise NothingToSettle()
    if order_ids:
        _check_ids_eligible(batch, order_ids)
    result = _generate(batch)
    if not result.statement_ids:
        raise NothingToSettle()
    return list(Statement.objects.filter(pk__in=result.statement_ids).order_by("id"))


def _manual_run_key(run_key: str | None) -> str:
    """manual:<the caller's key>, or a fresh one; a key too long for the column is kept as its digest."""
    key = str(run_key) if run_key else uuid.uuid4().hex
    if len(key) > MAX_RUN_KEY - len("manual:"):
        key = "sha256-" + hashlib.sha256(key.encode()).hexdigest()[:64]
    return f"manual:{key}"


def _manual_batch(*, merchant, currency, order_ids, completed_from, completed_to, business_type, actor,
                  run_key) -> Batch | None:
    if business_type is not None and business_type.pk != merchant.business_type_id:
        return None
    if completed_from and completed_to and completed_from > completed_to:
        raise ValidationFailed(_("The date range ends before it starts."), param="completed_to")
    now = timezone.now()
    cutoff = manual_cutoff(merchant, now)
    period_end = timezone.localdate(cutoff)
    if completed_to is not None:
        period_end = min(period_end, completed_to)
    where, params, claw_where, claw_params = "", [], "", []
    if currency:
        currency = normalise_currency(currency)
        where, params = " AND o.currency = %s", [currency]
        claw_where, claw_params = " AND ol.currency = %s", [currency]
    if order_ids:
        ids = _ids(order_ids)
        where += f" AND o.id IN ({', '.join(['%s'] * len(ids))})"
        params += ids
    if completed_from is not None:
        where += f" AND o.status_changed_at >= {sql.ts_param()}"
        params.append(sql.ts_value(day_start(completed_from)))
    if completed_to is not None:
        where += f" AND o.status_changed_at < {sql.ts_param()}"
        params.append(sql.ts_value(day_start(completed_to + timedelta(days=1))))
    i = sql.int_param()
    due_cte = (f"due (merchant_id, schedule_id, cutoff, period_end) AS"
               f" (VALUES ({i}, {i}, {sql.ts_param()}, {sql.date_param()}))")
    number_sql, number_params = _statement_number_sql(f"MS-{timezone.localdate(now):%Y%m%d}-", manual=True)
    return Batch(due_cte=due_cte, due_params=[merchant.pk, None, sql.ts_value(cutoff), sql.date_value(period_end)],
                  run_key=run_key, kind="manual", number_sql=number_sql, number_params=number_params, now=now,
                  actor=actor_label(actor), order_where=where, order_params=params, clawback_where=claw_where,
                  clawback_params=claw_params, statements_for_clawbacks=not order_ids)


def _ids(order_ids: Sequence) -> list[int]:
    try:
        ids = sorted({int(i) for i in order_ids if not isinstance(i, bool)})
    except (TypeError, ValueError):
        raise ValidationFailed(_("Order ids are whole numbers."), param="order_ids") from None
    if len(ids) != len(set(order_ids)):
        raise ValidationFailed(_("Order ids are whole numbers."), param="order_ids")
    return ids


def _check_ids_eligible(batch: Batch, order_ids: Sequence[int]) -> None:
    refused = sorted(set(_ids(order_ids)) - batch.eligible_ids())
    if refused:
        raise ValidationFailed(
            _("These orders cannot be settled now (not eligible, already settled, or without a fee rule): %(ids)s")
            % {"ids": ", ".join(str(i) for i in refused)}, param="order_ids", order_ids=refused)


# ---- after a dispute ----


@transaction.atomic
def statement_lines_recompute(*, statement: Statement) -> Statement:
    """Recompute a statement's order lines under the fee rules in force now (re-issue after a dispute).

    Each order line takes the rule that now covers its order at the instant
    it reached the settle state (merchant's own, else business type's), its
    terms frozen anew, and the provider's fee as now known; refunds counted
    stay as they were. Then the totals. A locked statement is refused, and so
    is one with an order that no rule covers any more (nothing changes).
    """
    statement = Statement.objects.select_for_update().get(pk=statement.pk)
    if statement.status in LOCKED:
        raise StatementLocked(param="statement")
    joins = (f" JOIN {sql.T_MERCHANT} m ON m.id = l.merchant_id"
             f"{sql.fee_rule_joins(order='l', merchant='m', at='l.eligible_at')}")
    with connection.cursor() as cur:
        cur.execute(f"SELECT l.order_number FROM {sql.T_LINE} l{joins} WHERE l.statement_id = %s"
                    f" AND l.kind = 'order' AND {sql.NO_RULE} ORDER BY l.id", [statement.pk])
        uncovered = [row[0] for row in cur.fetchall()]
        if uncovered:
            raise NoFeeRule(param="fee_rule", orders=uncovered)
        figures = ", ".join(f"l.{c} AS {c}" for c in sql.FIGURE_COLUMNS)
        base = (f"SELECT l.id AS line_id, {figures}, {sql.rule_terms_select()}, l.refunds_minor AS refunds_minor,"
                f" pi.fee_minor AS actual_fee_minor FROM {sql.T_LINE} l{joins}"
                f" LEFT JOIN {sql.T_INTENT} pi ON pi.order_id = l.order_id AND pi.status = 'captured'"
                f" WHERE l.statement_id = %s AND l.kind = 'order'")
        changed = ("service_fee_minor", "payment_fee_minor", "net_minor", *sql.TERM_COLUMNS)
        cur.execute(f"UPDATE {sql.T_LINE} SET {', '.join(f'{c} = t.{c}' for c in changed)}"
                    f" FROM ({sql.amounts_query(base, ('line_id',))}) t WHERE {sql.T_LINE}.id = t.line_id",
                    [statement.pk])
    statement_totals_refresh(statement_ids=[statement.pk])
    statement.refresh_from_db()
    return statement


@transaction.atomic
def statement_totals_refresh(*, statement_ids: Sequence[int]) -> None:
    """Set each statement's totals to the sums of its lines (set-based; after a line was added or changed)."""
    ids = [int(i) for i in statement_ids]
    if not ids:
        return
    marks = ", ".join(["%s"] * len(ids))
    now = timezone.now()
    zero = ", ".join(f"{c} = 0" for c in TOTALS)
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {sql.T_STATEMENT} SET {zero}, updated_at = {sql.ts_param()} WHERE id IN ({marks})"
                    f" AND NOT EXISTS (SELECT 1 FROM {sql.T_LINE} l WHERE l.statement_id = {sql.T_STATEMENT}.id)",
                    [sql.ts_value(now), *ids])
    refresh_totals(f"l.statement_id IN ({marks})", ids, now)
