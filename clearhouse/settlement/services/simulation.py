"""What a fee rule or a schedule would have produced over past dates: set-based SELECTs that write nothing.

Both look at the orders that reached the settle state in the date range
(settled since or not: a settled order counts from the instant frozen on its
line), with all their succeeded refunds, per merchant and currency, using
the same SQL amounts as generation (sql.py = domain.order_amounts). Orders
no fee rule covers are counted apart (`orders_without_rule`,
`blocked_orders`) and left out of the amounts, as generation leaves them out.
"""

# ruff: noqa: S608  table and column names come from the models and sql.py; every value is a parameter
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from clearhouse.core.errors import ValidationFailed
from clearhouse.core.money import normalise_currency
from clearhouse.settlement import sql
from clearhouse.settlement.domain import FeeTerms, ScheduleTerms, due_days, eligible_before, schedule_is_due
from clearhouse.settlement.services.rules import day_start

MAX_DAYS = 366
AMOUNTS = ("collected_minor", "platform_funded_minor", "refunds_minor", "service_fee_minor", "payment_fee_minor",
           "net_minor")
FEES = ("service_fee_minor", "payment_fee_minor", "net_minor")
_AT = "COALESCE(ol.eligible_at, o.status_changed_at)"  # when the order reached the settle state
_REFUNDED = (f"refunded AS (SELECT r.order_id, SUM(r.amount_minor) AS amount_minor FROM {sql.T_REFUND} r"
             f" WHERE r.status = 'succeeded' GROUP BY r.order_id)")
_READ = "COALESCE(rf.amount_minor, 0) AS refunds_minor, pi.fee_minor AS actual_fee_minor"


@dataclass(frozen=True)
class ProposedFeeRule:
    """A fee rule that does not exist yet: its terms, for one merchant or one business type, in one currency."""

    terms: FeeTerms
    currency: str
    merchant_id: int | None = None
    business_type_id: int | None = None


@dataclass
class ScheduleSimulation:
    """The run days a schedule would have had in the range, and per run day the statements it would have made."""

    run_days: list[date]
    statements: list[dict] = field(default_factory=list)


def simulate_fee_rule(*, proposed: ProposedFeeRule, start: date, end: date) -> list[dict]:
    """Per merchant: the orders that reached the settle state from `start` to `end` (inclusive, platform time
    zone) in the proposed rule's scope and currency, under the fee rules in force and under the proposed rule.

    The proposed rule takes the place of its scope's rule; for a business
    type, merchants with a rule of their own in force keep it. Rows:
    merchant_id, currency, orders, orders_without_rule (no rule in force now:
    left out of the current_* amounts), collected_minor,
    platform_funded_minor, refunds_minor, then current_* and proposed_*
    service_fee_minor, payment_fee_minor, net_minor.
    """
    _check_range(start, end)
    currency = normalise_currency(proposed.currency)
    scope, scope_params = _scope(proposed.merchant_id, proposed.business_type_id)
    where = f"{scope} AND o.currency = %s AND {_AT} >= {sql.ts_param()} AND {_AT} < {sql.ts_param()}"
    where_params = [*scope_params, currency, sql.ts_value(day_start(start)),
                    sql.ts_value(day_start(end + timedelta(days=1)))]
    keys = ("merchant_id", "currency")
    current = _totals(terms=sql.rule_terms_select(), terms_params=[], blocked=sql.NO_RULE, where=where,
                      params=where_params, keys=keys)
    proposed_terms, proposed_params = sql.proposed_terms_select(
        proposed.terms, own_rule_wins=proposed.business_type_id is not None)
    new = _totals(terms=proposed_terms, terms_params=proposed_params, blocked="1 = 0", where=where,
                  params=where_params, keys=keys)
    rows = []
    for key in sorted(new):
        then, now = new[key], current.get(key, {})
        rows.append({"merchant_id": key[0], "currency": key[1], "orders": then["orders"],
                     "orders_without_rule": now.get("blocked_orders", 0),
                     **{c: then[c] for c in ("collected_minor", "platform_funded_minor", "refunds_minor")},
                     **{f"current_{c}": now.get(c, 0) for c in FEES},
                     **{f"proposed_{c}": then[c] for c in FEES}})
    return rows


def simulate_schedule(*, terms: ScheduleTerms, start: date, end: date, merchant_id: int | None = None,
                      business_type_id: int | None = None) -> ScheduleSimulation:
    """The run days of `terms` from `start` to `end` and, per run day, the statements it would have made:
    run_day, merchant_id, currency, orders, blocked_orders and the AMOUNTS, under the fee rules in force.

    The run before `start` is taken to have settled everything before its
    cut-off; each run day then takes what reached the settle state between
    the previous run's cut-off and its own. For a business type, merchants
    with an active schedule of their own are left out (theirs applies).
    """
    _check_range(start, end)
    days = due_days(terms, start, end)
    result = ScheduleSimulation(run_days=days)
    if not days:
        return result
    scope, scope_params = _scope(merchant_id, business_type_id)
    if business_type_id is not None:
        scope += (f" AND NOT EXISTS (SELECT 1 FROM {sql.T_SCHEDULE} own WHERE own.merchant_id = o.merchant_id"
                  f" AND own.is_active = {sql.true()})")
    windows, window_params = _windows(terms, days)
    totals = _totals(terms=sql.rule_terms_select(), terms_params=[], blocked=sql.NO_RULE, where=scope,
                     params=scope_params, keys=("run_day", "merchant_id", "currency"),
                     windows=(windows, window_params))
    for (run_day, merchant, currency), row in sorted(totals.items(), key=lambda kv: (str(kv[0][0]), *kv[0][1:])):
        if not isinstance(run_day, date):
            run_day = date.fromisoformat(run_day)
        result.statements.append({"run_day": run_day, "merchant_id": merchant, "currency": currency, **row})
    return result


# ---- the one query ----


def _totals(*, terms: str, terms_params: list, blocked: str, where: str, params: list, keys: tuple[str, ...],
            windows: tuple[str, list] | None = None) -> dict[tuple, dict]:
    """Sum the amounts of the orders in scope per `keys`: {key values: {orders, blocked_orders, AMOUNTS...}}.

    orders counts those a rule covers; blocked_orders those it does not (not summed).
    """
    window_join, ctes, cte_params = "", _REFUNDED, []
    if windows is not None:
        window_join = f" JOIN windows w ON {_AT} >= w.lo AND {_AT} < w.hi"
        ctes, cte_params = f"{windows[0]}, {_REFUNDED}", windows[1]
    key_select = ", ".join("w.run_day AS run_day" if k == "run_day" else f"o.{k} AS {k}" for k in keys)
    base = (f"SELECT {key_select}, {sql.order_figures_select()}, {terms}, {_READ},"
            f" CASE WHEN {blocked} THEN 1 ELSE 0 END AS blocked"
            f" FROM {sql.T_ORDER} o JOIN {sql.T_MERCHANT} m ON m.id = o.merchant_id"
            f" LEFT JOIN {sql.T_LINE} ol ON ol.order_id = o.id AND ol.kind = 'order'{window_join}"
            f" LEFT JOIN refunded rf ON rf.order_id = o.id"
            f" LEFT JOIN {sql.T_INTENT} pi ON pi.order_id = o.id AND pi.status = 'captured'"
            f"{sql.fee_rule_joins(at=_AT)} WHERE (o.status = %s OR ol.id IS NOT NULL){where}")
    group = ", ".join(f"a.{k}" for k in keys)
    sums = ", ".join(f"SUM(CASE WHEN a.blocked = 1 THEN 0 ELSE a.{c} END)" for c in AMOUNTS)
    text = (f"WITH {ctes} SELECT {group}, SUM(1 - a.blocked), SUM(a.blocked), {sums}"
            f" FROM ({sql.amounts_query(base, (*keys, 'blocked'))}) a GROUP BY {group}")
    with connection.cursor() as cur:
        cur.execute(text, [*cte_params, *terms_params, settings.CLEARHOUSE_SETTLEMENT_ELIGIBLE_STATUS, *params])
        rows = cur.fetchall()
    n = len(keys)
    return {tuple(r[:n]): {"orders": int(r[n] or 0), "blocked_orders": int(r[n + 1] or 0),
                           **{c: int(v or 0) for c, v in zip(AMOUNTS, r[n + 2:], strict=True)}} for r in rows}


def _check_range(start: date, end: date) -> None:
    if end < start:
        raise ValidationFailed(_("The date range ends before it starts."), param="end")
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed(_("Simulate at most a year at a time."), param="end")


def _scope(merchant_id, business_type_id) -> tuple[str, list]:
    if (merchant_id is None) == (business_type_id is None):
        raise ValidationFailed(_("Give either a merchant or a business type, not both and not neither."),
                               param="scope")
    if merchant_id is not None:
        return " AND o.merchant_id = %s", [int(merchant_id)]
    return " AND m.business_type_id = %s", [int(business_type_id)]


def _windows(terms: ScheduleTerms, days: list[date]) -> tuple[str, list]:
    """VALUES (run day, from, to): each run day takes what reached the state between two cut-offs."""
    previous = days[0] - timedelta(days=1)
    for _day in range(MAX_DAYS):
        if schedule_is_due(terms, previous):
            break
        previous -= timedelta(days=1)
    bounds = [day_start(eligible_before(terms, d)) for d in [previous, *days]]
    row = f"({sql.date_param()}, {sql.ts_param()}, {sql.ts_param()})"
    params: list = []
    for day, lo, hi in zip(days, bounds, bounds[1:], strict=False):
        params += [sql.date_value(day), sql.ts_value(lo), sql.ts_value(hi)]
    return f"windows (run_day, lo, hi) AS (VALUES {', '.join([row] * len(days))})", params
