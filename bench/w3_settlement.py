"""W3: statement generation (`settlement_run`) over a million completed orders, against one hand-written query.

Seed (untimed, set-based SQL, printed apart): 8 business types with a fee
rule each (rate, fixed, minimum/maximum, one with the payment fee at a
configured rate) and a weekly schedule each (due on the run day,
eligibility delay 7 days); M merchants (two with their own fee rule, one
with its own fixed-delay schedule); customers; N orders in status
`completed`, two per checkout group, `status_changed_at` spread over the
4 weeks before the run day minus 9 days (so every one is eligible), with
merchant coupons (1 in 5), platform coupons (1 in 7), points (1 in 11) and
shipping (2 in 3), satisfying `order_total_adds_up`; a captured
PaymentIntent per order with the provider's fee (1 in 1000 unknown), a
failed intent before it for 1 in 97, a succeeded refund for 1 in 101 and a
failed one for 1 in 103. PostgreSQL: VACUUM ANALYZE; SQLite: ANALYZE and a
WAL checkpoint, as W5 does.

Timed:
  baseline  one hand-written INSERT INTO a scratch table SELECT ... GROUP BY
            merchant, currency over the same rows: the same schedule
            resolution (merchant's own, else its business type's; due on the
            day; eligible before the schedule's cut-off), the same fee rule
            resolution (merchant override, else business type, effective at
            the order's eligibility instant), the same integer ppm arithmetic
            (half up, clamped to minimum/maximum and to collected), the
            captured intent's fee or the configured rate, succeeded refunds.
            Only the totals: no per-order lines, no statements, no
            bookkeeping, no "not yet settled" anti-join. Run A B A around
            ours (after an untimed warm-up); the figure is the mean.
  ours      `settlement_run(day=<run day>)` as shipped; the seconds of each
            SQL statement it sends are printed (those of 3 % of the run or more).
  again     the same call a second time: must add no statement and no line.
  floor     (no target) the same order lines written by one hand-written
            INSERT ... SELECT (the baseline's per-order query joined to the
            run's statements) into an empty copy of the line table with the
            same indexes: what writing the lines costs at least, to read the
            ratio to the baseline (which writes 1 row per merchant) by.

Checked: statements == merchants with orders, order lines == orders, each
statement's totals == the sums of its lines, and per merchant and currency
the statement totals == the baseline's totals (a mismatch count).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from bench.harness import Report
from clearhouse.accounts.models import BusinessType, Merchant, User
from clearhouse.customers.models import CustomerProfile
from clearhouse.orders.models import CheckoutGroup, Coupon, Order
from clearhouse.payments.models import PaymentIntent, Refund
from clearhouse.settlement.domain import Cycle, ScheduleTerms, eligible_before, schedule_is_due
from clearhouse.settlement.models import FeeRule, SettlementSchedule, Statement, StatementLine

CURRENCY = "CNY"
TARGET_RATIO = 2.0  # ours <= 2x the hand-written query
TARGET_PG_SECONDS = 10.0
FULL_ORDERS = 1_000_000  # the size the 10 s target is stated for
ELIGIBILITY_DELAY_DAYS = 7
AGE_SPREAD_S = 28 * 86400  # orders completed over 4 weeks ...
AGE_OFFSET_DAYS = 9  # ... ending 9 days before the run day: past every schedule's cut-off (7 days, 7 + 1)
# Fee rules per business type: (rate ppm, fixed, minimum, maximum, payment fee basis, payment fee ppm).
BUSINESS_RULES = [
    (6000, 0, None, None, "actual", 0),
    (10000, 50, None, None, "actual", 0),
    (25000, 0, 100, 2000, "actual", 0),
    (0, 200, None, None, "actual", 0),
    (6000, 0, None, None, "rate", 6000),
    (12345, 0, 50, None, "actual", 0),
    (8000, 0, None, 500, "actual", 0),
    (30000, 10, 100, 3000, "rate", 3800),
]
MERCHANT_RULES = {0: (1000, 0, None, None, "actual", 0), 1: (0, 0, None, None, "actual", 0)}  # by merchant index
TOTALS = ("order_count", "order_amount_minor", "merchant_coupon_minor", "collected_minor", "platform_funded_minor",
          "service_fee_minor", "payment_fee_minor", "refunds_minor", "net_minor")

# The rows g = 1..n, per database (as W5; bigint: g times a large prime must not overflow int4): %s are
# parameters, %% a literal %.
_GENERATE = {
    "postgresql": "SELECT g FROM generate_series(CAST(1 AS bigint), %s) AS g",
    "sqlite": "WITH RECURSIVE gen(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM gen WHERE g < %s) SELECT g FROM gen",
}
# An instant (parameter) minus `seconds` (an SQL expression), as the engine stores datetimes.
_MINUS_SECONDS = {
    "postgresql": "(CAST(%s AS timestamptz) - ({seconds}) * interval '1 second')",
    "sqlite": "datetime(%s, '-' || ({seconds}) || ' seconds')",
}


@dataclass(frozen=True)
class Seeded:
    orders: int
    merchants: int
    run_day: date
    seconds: float
    due_cutoffs: dict[int, datetime]  # schedule id -> orders eligible before this instant (due schedules only)


# --- seed ---------------------------------------------------------------------------------

def _day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(settings.TIME_ZONE))


def _superuser(cur) -> bool:
    cur.execute("SELECT current_setting('is_superuser')")
    return cur.fetchone()[0] == "on"


def _next_id(model) -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")
        return cur.fetchone()[0]


def _terms(row: tuple) -> dict:
    rate, fixed, minimum, maximum, basis, pay_ppm = row
    return {"rate_ppm": rate, "fixed_fee_minor": fixed, "minimum_fee_minor": minimum, "maximum_fee_minor": maximum,
            "payment_fee_basis": basis, "payment_fee_rate_ppm": pay_ppm}


def seed_master_data(merchants: int, customers: int, run_day: date) -> tuple[int, int, int, int]:
    """Business types, merchants, their rules and schedules, customers, coupons (ORM, explicit ids).

    Returns the id bases (id = base + index + 1) of merchants, customers, merchant coupons and the platform coupon.
    """
    now = timezone.now()
    since = date(2000, 1, 1)
    kinds = [BusinessType.objects.create(code=f"w3-bt-{i}", name=f"W3 business type {i}")
             for i in range(len(BUSINESS_RULES))]
    m_base, u_base, c_base, cp_base = (_next_id(Merchant), _next_id(User), _next_id(CustomerProfile),
                                       _next_id(Coupon))
    Merchant.objects.bulk_create(
        (Merchant(id=m_base + i + 1, code=f"w3-m{i}", name=f"W3 merchant {i}", business_type=kinds[i % len(kinds)])
         for i in range(merchants)), batch_size=2000)
    for i, kind in enumerate(kinds):
        FeeRule.objects.create(business_type=kind, currency=CURRENCY, effective_from=since,
                               starts_at=_day_start(since), note="W3", **_terms(BUSINESS_RULES[i]))
        SettlementSchedule.objects.create(business_type=kind, cycle=Cycle.WEEKLY, weekday=run_day.weekday(),
                                          eligibility_delay_days=ELIGIBILITY_DELAY_DAYS)
    for index, row in MERCHANT_RULES.items():
        if index < merchants:
            FeeRule.objects.create(merchant_id=m_base + index + 1, currency=CURRENCY, effective_from=since,
                                   starts_at=_day_start(since), note="W3 override", **_terms(row))
    if merchants > 2:  # a merchant's own schedule wins over its business type's
        SettlementSchedule.objects.create(merchant_id=m_base + 3, cycle=Cycle.DELAY, delay_days=1,
                                          eligibility_delay_days=ELIGIBILITY_DELAY_DAYS)
    User.objects.bulk_create(
        (User(id=u_base + i + 1, username=f"w3-buyer-{i}", password="!", date_joined=now) for i in range(customers)),
        batch_size=2000)
    CustomerProfile.objects.bulk_create(
        (CustomerProfile(id=c_base + i + 1, user_id=u_base + i + 1, display_name=f"W3 buyer {i}")
         for i in range(customers)), batch_size=2000)
    Coupon.objects.bulk_create(
        (Coupon(id=cp_base + i + 1, code=f"W3-M{i}", funded_by="merchant", merchant_id=m_base + i + 1,
                kind="percent", percent_off=10, currency=CURRENCY) for i in range(merchants)), batch_size=2000)
    Coupon.objects.create(id=cp_base + merchants + 1, code="W3-PLATFORM", funded_by="platform", kind="fixed",
                          value_minor=500, currency=CURRENCY)
    return m_base, c_base, cp_base, cp_base + merchants + 1


def seed_orders(orders: int, merchants: int, customers: int, run_day: date, bases: tuple[int, int, int, int]) -> None:
    """Orders, their checkout groups, intents and refunds: four INSERT ... SELECT statements (plus two small)."""
    vendor = connection.vendor
    ops = connection.ops
    m_base, c_base, cp_base, platform_coupon = bases
    o_base, g_base, pi_base, r_base = (_next_id(Order), _next_id(CheckoutGroup), _next_id(PaymentIntent),
                                       _next_id(Refund))
    newest = _day_start(run_day - timedelta(days=AGE_OFFSET_DAYS))
    completed_at = _MINUS_SECONDS[vendor].format(seconds=f"(g * 31337) %% {AGE_SPREAD_S}")
    created_at = _MINUS_SECONDS[vendor].format(seconds=f"(g * 31337) %% {AGE_SPREAD_S} + 259200")
    # Per order g: a merchant (7919 is prime to every merchant count here: each gets N/M orders, interleaved),
    # a customer shared by the two orders of a group, amounts from cheap hashes of g.
    per_order = (
        f"SELECT g, {m_base} + 1 + (g * 7919) %% {merchants} AS merchant_id, "
        f"{c_base} + 1 + ((g + 1) / 2) %% {customers} AS customer_id, "
        f"1000 + (g * 104729) %% 99001 AS subtotal, CASE WHEN g %% 3 = 0 THEN 0 ELSE 800 END AS shipping, "
        f"CASE WHEN g %% 7 = 0 THEN 500 ELSE 0 END AS platform_coupon, "
        f"CASE WHEN g %% 11 = 0 THEN 100 ELSE 0 END AS points FROM ({_GENERATE[vendor]}) AS gen"
    )
    with transaction.atomic(), connection.cursor() as cur:
        if vendor == "postgresql" and _superuser(cur):
            # As W5: skip the per-row FK triggers; the rows are consistent by construction.
            cur.execute("SET LOCAL session_replication_role = replica")
        newest_param = ops.adapt_datetimefield_value(newest)
        cur.execute(
            "INSERT INTO orders_order (id, number, group_id, customer_id, merchant_id, status, status_changed_at, "
            "currency, subtotal_minor, merchant_coupon_amount_minor, platform_coupon_amount_minor, "
            "points_amount_minor, shipping_fee_minor, total_minor, points_redeemed, merchant_coupon_id, "
            "platform_coupon_id, ship_recipient, ship_phone, ship_region, ship_city, ship_line, ship_postal_code, "
            "carrier, tracking_number, signed_by, cancel_reason, expires_at, created_at, updated_at) "
            f"SELECT {o_base} + g, 'W3-' || g, {g_base} + (g + 1) / 2, customer_id, merchant_id, 'completed', "
            f"{completed_at}, '{CURRENCY}', subtotal, mc, platform_coupon, points, shipping, "
            "subtotal - mc - platform_coupon - points + shipping, points * 10, "
            f"CASE WHEN mc > 0 THEN merchant_id - {m_base} + {cp_base} END, "
            f"CASE WHEN platform_coupon > 0 THEN {platform_coupon} END, "
            "'W3 Buyer', '+86 138 0000 0000', 'Shanghai', 'Shanghai', '1 Bench Road', '200000', 'SF', "
            f"'SF' || g, 'W3 Buyer', '', NULL, {created_at}, {completed_at} "
            f"FROM (SELECT p.*, CASE WHEN g %% 5 = 0 THEN subtotal / 10 ELSE 0 END AS mc FROM ({per_order}) AS p) AS o",
            [newest_param, newest_param, newest_param, orders],
        )
        cur.execute(
            "INSERT INTO orders_checkoutgroup (id, number, customer_id, currency, subtotal_minor, "
            "merchant_coupon_amount_minor, platform_coupon_amount_minor, points_amount_minor, shipping_fee_minor, "
            "total_minor, points_redeemed, platform_coupon_id, created_at) "
            "SELECT group_id, 'W3G-' || group_id, MIN(customer_id), MIN(currency), SUM(subtotal_minor), "
            "SUM(merchant_coupon_amount_minor), SUM(platform_coupon_amount_minor), SUM(points_amount_minor), "
            "SUM(shipping_fee_minor), SUM(total_minor), SUM(points_redeemed), MAX(platform_coupon_id), "
            "MIN(created_at) FROM orders_order WHERE id > %s GROUP BY group_id",
            [o_base],
        )
        intent_columns = (
            "id, reference, order_id, merchant_id, customer_id, method, provider, capture_method, status, currency, "
            "amount_minor, amount_authorized_minor, amount_captured_minor, amount_refunded_minor, fee_minor, "
            "provider_reference, transaction_reference, action_url, qr_code, failure_code, failure_message, "
            "receipt_number, received_reference, paid_at, language, next_query_at, query_count, attention_reason, "
            "created_at, updated_at"
        )
        # The captured intent of every order: id pi_base + g; the provider's fee ~0.6 % (+1), unknown for 1 in 1000.
        cur.execute(
            f"INSERT INTO payments_paymentintent ({intent_columns}) "
            f"SELECT {pi_base} + o.id - {o_base}, 'W3PI' || (o.id - {o_base}), o.id, o.merchant_id, o.customer_id, "
            "'card', 'sandbox', 'automatic', 'captured', o.currency, o.total_minor, o.total_minor, o.total_minor, "
            f"CASE WHEN (o.id - {o_base}) %% 101 = 0 THEN o.total_minor / 4 + 1 ELSE 0 END, "
            f"CASE WHEN (o.id - {o_base}) %% 1000 = 0 THEN NULL "
            "ELSE (o.total_minor * 6000 + 500000) / 1000000 + 1 END, "
            f"'sbx_' || (o.id - {o_base}), '', '', '', '', '', '', '', o.created_at, 'en', NULL, 0, '', "
            "o.created_at, o.created_at FROM orders_order o WHERE o.id > %s",
            [o_base],
        )
        # 1 in 97 orders had a declined card first (a failed intent, no fee): settlement must take the captured one.
        cur.execute(
            f"INSERT INTO payments_paymentintent ({intent_columns}) "
            f"SELECT {pi_base} + {orders} + o.id - {o_base}, 'W3PF' || (o.id - {o_base}), o.id, o.merchant_id, "
            "o.customer_id, 'card', 'sandbox', 'automatic', 'failed', o.currency, o.total_minor, 0, 0, 0, NULL, "
            "'', '', '', '', 'card_declined', 'Declined', '', '', NULL, 'en', NULL, 0, '', o.created_at, o.created_at "
            f"FROM orders_order o WHERE o.id > %s AND (o.id - {o_base}) %% 97 = 0",
            [o_base],
        )
        refund_columns = (
            "id, reference, intent_id, order_id, merchant_id, status, currency, amount_minor, reason, offline, "
            "requested_by, requested_by_user_id, decided_by, decided_at, provider_reference, payout_reference, "
            "failure_code, succeeded_at, next_query_at, query_count, attention_reason, created_at, updated_at"
        )
        # ~1 % succeeded refunds (a quarter of the order, before completion), and ~1 % failed ones (not counted).
        cur.execute(
            f"INSERT INTO payments_refund ({refund_columns}) "
            f"SELECT {r_base} + i.id - {pi_base}, 'W3RF' || (i.id - {pi_base}), i.id, i.order_id, i.merchant_id, "
            "CASE WHEN i.amount_refunded_minor > 0 THEN 'succeeded' ELSE 'failed' END, i.currency, "
            "CASE WHEN i.amount_refunded_minor > 0 THEN i.amount_refunded_minor ELSE i.amount_minor / 2 + 1 END, "
            "'W3', %s, 'customer:w3', NULL, '', NULL, '', '', "
            "CASE WHEN i.amount_refunded_minor > 0 THEN '' ELSE 'provider_error' END, "
            "CASE WHEN i.amount_refunded_minor > 0 THEN i.created_at END, NULL, 0, '', i.created_at, i.created_at "
            f"FROM payments_paymentintent i WHERE i.id > %s AND i.id <= %s AND i.status = 'captured' "
            f"AND (i.amount_refunded_minor > 0 OR (i.id - {pi_base}) %% 103 = 0)",
            [False, pi_base, pi_base + orders],
        )
        for sql in ops.sequence_reset_sql(no_style(), [Order, CheckoutGroup, PaymentIntent, Refund]):
            cur.execute(sql)  # PostgreSQL: explicit ids bypassed the identity sequences


def seed(orders: int, merchants: int) -> Seeded:
    vendor = connection.vendor
    run_day = timezone.localdate()
    customers = max(100, orders // 100)
    start = time.perf_counter()
    with transaction.atomic():
        bases = seed_master_data(merchants, customers, run_day)
    seed_orders(orders, merchants, customers, run_day, bases)
    with connection.cursor() as cur:  # statistics, as autovacuum/ANALYZE would have them in production
        cur.execute("VACUUM ANALYZE" if vendor == "postgresql" else "ANALYZE")
        if vendor == "sqlite":
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cutoffs = {}
    for s in SettlementSchedule.objects.filter(is_active=True):
        terms = ScheduleTerms(cycle=Cycle(s.cycle), day_of_month=s.day_of_month, weekday=s.weekday,
                              delay_days=s.delay_days, eligibility_delay_days=s.eligibility_delay_days)
        if schedule_is_due(terms, run_day):
            cutoffs[s.pk] = _day_start(eligible_before(terms, run_day))
    return Seeded(orders, merchants, run_day, time.perf_counter() - start, cutoffs)


# --- the baseline: one hand-written INSERT ... SELECT ... GROUP BY ---------------------------------

SCRATCH = "w3_baseline"


def create_scratch() -> None:
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
        cur.execute(f"CREATE TABLE {SCRATCH} (merchant_id bigint NOT NULL, currency varchar(3) NOT NULL, "
                    + ", ".join(f"{name} bigint NOT NULL" for name in TOTALS) + ")")


def per_order_sql(seeded: Seeded) -> tuple[str, list]:
    """One row per order a run on the day settles, with a statement line's columns (less statement_id)."""
    ops = connection.ops
    due = sorted(seeded.due_cutoffs)
    cutoff_case = " ".join(f"WHEN {pk} THEN %s" for pk in due)
    params = [ops.adapt_datetimefield_value(seeded.due_cutoffs[pk]) for pk in due]

    def rule(field: str, name: str) -> str:
        return f"CASE WHEN mr.id IS NOT NULL THEN mr.{field} ELSE br.{field} END AS {name}"

    def in_force(alias: str) -> str:
        return (f"{alias}.currency = o.currency AND {alias}.starts_at <= o.status_changed_at "
                f"AND ({alias}.ends_at IS NULL OR o.status_changed_at < {alias}.ends_at)")

    # The order's figures and the fee terms in force (merchant's own rule, else its business type's),
    # for orders of merchants whose schedule (own, else business type's) is due, eligible before its cut-off.
    terms = ("id fee_rule_id", "rate_ppm fee_rate_ppm", "fixed_fee_minor fixed_fee_minor",
             "minimum_fee_minor minimum_fee_minor", "maximum_fee_minor maximum_fee_minor",
             "payment_fee_basis payment_fee_basis", "payment_fee_rate_ppm payment_fee_rate_ppm")
    per_order = (
        "SELECT o.merchant_id, o.currency, o.id AS order_id, o.number AS order_number, "
        "o.status_changed_at AS eligible_at, o.subtotal_minor + o.shipping_fee_minor AS order_amount_minor, "
        "o.merchant_coupon_amount_minor AS merchant_coupon_minor, "
        "o.subtotal_minor + o.shipping_fee_minor - o.merchant_coupon_amount_minor AS collected_minor, "
        "o.platform_coupon_amount_minor + o.points_amount_minor AS platform_funded_minor, o.total_minor AS paid_minor, "
        + ", ".join(rule(*t.split()) for t in terms)
        + ", COALESCE(pi.fee_minor, 0) AS actual_fee, COALESCE(rf.amount, 0) AS refunds_minor "
        "FROM orders_order o "
        "JOIN accounts_merchant m ON m.id = o.merchant_id "
        "LEFT JOIN settlement_settlementschedule ms ON ms.merchant_id = o.merchant_id AND ms.is_active "
        "LEFT JOIN settlement_settlementschedule bs ON bs.business_type_id = m.business_type_id AND bs.is_active "
        f"LEFT JOIN settlement_feerule mr ON mr.merchant_id = o.merchant_id AND {in_force('mr')} "
        f"LEFT JOIN settlement_feerule br ON br.business_type_id = m.business_type_id AND {in_force('br')} "
        "LEFT JOIN payments_paymentintent pi ON pi.order_id = o.id AND pi.status = 'captured' "
        "LEFT JOIN (SELECT order_id, SUM(amount_minor) AS amount FROM payments_refund WHERE status = 'succeeded' "
        "GROUP BY order_id) rf ON rf.order_id = o.id "
        "WHERE o.status = %s AND (mr.id IS NOT NULL OR br.id IS NOT NULL) "
        f"AND o.status_changed_at < CASE COALESCE(ms.id, bs.id) {cutoff_case} END"
    )
    # Then one level per step: the fee by rate and fixed fee, raised to the minimum, lowered to the maximum
    # (domain.service_fee: min(max(fee, minimum), maximum)), held within [0, collected]; the payment fee; net.
    sql = (
        "SELECT e.*, collected_minor - service_fee_minor - payment_fee_minor - refunds_minor AS net_minor FROM ("
        "SELECT d.*, CASE WHEN collected_minor <= 0 OR bounded_fee < 0 THEN 0 "
        "WHEN bounded_fee > collected_minor THEN collected_minor ELSE bounded_fee END AS service_fee_minor FROM ("
        "SELECT c.*, CASE WHEN maximum_fee_minor IS NOT NULL AND at_least_minimum > maximum_fee_minor "
        "THEN maximum_fee_minor ELSE at_least_minimum END AS bounded_fee FROM ("
        "SELECT b.*, CASE WHEN minimum_fee_minor IS NOT NULL AND raw_fee < minimum_fee_minor THEN minimum_fee_minor "
        "ELSE raw_fee END AS at_least_minimum FROM ("
        "SELECT a.*, (collected_minor * fee_rate_ppm + 500000) / 1000000 + fixed_fee_minor AS raw_fee, "
        "CASE WHEN payment_fee_basis = 'rate' THEN (paid_minor * payment_fee_rate_ppm + 500000) / 1000000 "
        f"ELSE actual_fee END AS payment_fee_minor FROM ({per_order}) AS a) AS b) AS c) AS d) AS e"
    )
    return sql, [settings.CLEARHOUSE_SETTLEMENT_ELIGIBLE_STATUS, *params]  # in the order of the %s above


def baseline_sql(seeded: Seeded) -> tuple[str, list]:
    """Per merchant and currency, the totals a run on the day produces, in one statement."""
    orders, params = per_order_sql(seeded)
    sums = ", ".join(f"SUM({name})" for name in TOTALS[1:])
    return (f"INSERT INTO {SCRATCH} (merchant_id, currency, {', '.join(TOTALS)}) "
            f"SELECT merchant_id, currency, COUNT(*), {sums} FROM ({orders}) AS f GROUP BY merchant_id, currency",
            params)


def run_baseline(seeded: Seeded) -> float:
    """Seconds for the hand-written statement (the scratch table emptied first, untimed), committed."""
    sql, params = baseline_sql(seeded)
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {SCRATCH}")
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)
    return time.perf_counter() - start


def baseline_totals() -> dict[tuple[int, str], tuple[int, ...]]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT merchant_id, currency, {', '.join(TOTALS)} FROM {SCRATCH}")
        return {(row[0], row[1]): tuple(row[2:]) for row in cur.fetchall()}


# --- the floor of writing the lines: the same lines by one hand-written INSERT ... SELECT ---------------

FLOOR = "w3_lines_floor"
LINE_COLUMNS = ("statement_id", "merchant_id", "currency", "kind", "order_id", "order_number", "refund_id",
                "carried_from_id", "eligible_at", "order_amount_minor", "merchant_coupon_minor", "collected_minor",
                "platform_funded_minor", "paid_minor", "service_fee_minor", "payment_fee_minor", "refunds_minor",
                "net_minor", "fee_rule_id", "fee_rate_ppm", "fixed_fee_minor", "minimum_fee_minor",
                "maximum_fee_minor", "payment_fee_basis", "payment_fee_rate_ppm", "note")


def create_floor_table() -> None:
    """An empty copy of the statement line table with the same columns and indexes."""
    line_table = StatementLine._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {FLOOR}")
        if connection.vendor == "postgresql":
            cur.execute(f"CREATE TABLE {FLOOR} (LIKE {line_table} INCLUDING ALL)")
            return
        cur.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL "
                    "ORDER BY type = 'index'", [line_table])
        for kind, name, sql in cur.fetchall():
            sql = sql.replace(f'"{line_table}"', f'"{FLOOR}"')
            if kind == "index":
                sql = sql.replace(f'"{name}"', f'"w3f_{name}"', 1)
            cur.execute(sql)


def run_floor(seeded: Seeded, statement_ids: list[int], expected: int) -> float:
    """Seconds to write the run's order lines by hand: the per-order query joined to the run's statements."""
    orders, params = per_order_sql(seeded)
    values = ", ".join("'order'" if c == "kind" else "NULL" if c in ("refund_id", "carried_from_id")
                       else "''" if c == "note" else "st.id" if c == "statement_id" else f"f.{c}"
                       for c in LINE_COLUMNS)
    sql = (f"INSERT INTO {FLOOR} ({', '.join(LINE_COLUMNS)}) SELECT {values} FROM ({orders}) AS f "
           "JOIN settlement_statement st ON st.merchant_id = f.merchant_id AND st.currency = f.currency "
           "AND st.id >= %s AND st.id <= %s")
    create_floor_table()
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, [*params, min(statement_ids), max(statement_ids)])
        written = cur.rowcount
    seconds = time.perf_counter() - start
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE {FLOOR}")
    if written != expected:
        raise AssertionError(f"W3 floor wrote {written} lines, expected {expected}")
    return seconds


# --- ours -------------------------------------------------------------------------------------------

def counts() -> tuple[int, int]:
    return Statement.objects.count(), StatementLine.objects.count()


def statement_totals() -> dict[tuple[int, str], tuple[int, ...]]:
    """Per merchant and currency, the sums of the statements' totals (order lines only here)."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT merchant_id, currency, {', '.join(f'SUM({t})' for t in TOTALS)} "
                    "FROM settlement_statement GROUP BY merchant_id, currency")
        return {(row[0], row[1]): tuple(int(v) for v in row[2:]) for row in cur.fetchall()}


def lines_disagreeing_with_totals() -> int:
    """Statements whose stored totals differ from the sums of their lines."""
    sums = ("COUNT(*)", "SUM(l.order_amount_minor)", "SUM(l.merchant_coupon_minor)", "SUM(l.collected_minor)",
            "SUM(l.platform_funded_minor)", "SUM(l.service_fee_minor)", "SUM(l.payment_fee_minor)",
            "SUM(l.refunds_minor)", "SUM(l.net_minor)")
    stored = ("s.line_count", "s.order_amount_minor", "s.merchant_coupon_minor", "s.collected_minor",
              "s.platform_funded_minor", "s.service_fee_minor", "s.payment_fee_minor", "s.refunds_minor", "s.net_minor")
    differs = " OR ".join(f"x.v{i} <> {col}" for i, col in enumerate(stored))
    with connection.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM settlement_statement s LEFT JOIN (SELECT l.statement_id, "
            + ", ".join(f"{expr} AS v{i}" for i, expr in enumerate(sums))
            + " FROM settlement_statementline l GROUP BY l.statement_id) x ON x.statement_id = s.id "
            f"WHERE x.statement_id IS NULL OR {differs}"
        )
        return cur.fetchone()[0]


_STEP = re.compile(r"\b(INSERT INTO [\w.]+|UPDATE [\w.]+|DELETE FROM [\w.]+|ANALYZE [\w.]+|"
                   r"CREATE (?:TEMP |TEMPORARY )?TABLE (?:IF NOT EXISTS )?[\w.]+|DROP TABLE (?:IF EXISTS )?[\w.]+)",
                   re.IGNORECASE)


def _step_label(sql: str) -> str:
    found = _STEP.search(sql)
    return found.group(1) if found else "SELECT"


def _timed_run(day: date) -> tuple[object, float, list[tuple[float, str]]]:
    """settlement_run(day=day): its result, seconds, and seconds per SQL statement it sent (a handful)."""
    from clearhouse.settlement.services import settlement_run

    steps: list[tuple[float, str]] = []

    def timing(execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            steps.append((time.perf_counter() - t, _step_label(sql)))

    with connection.execute_wrapper(timing):
        start = time.perf_counter()
        result = settlement_run(day=day)
        seconds = time.perf_counter() - start
    return result, seconds, steps


def _breakdown(report: Report, steps: list[tuple[float, str]], seconds: float) -> None:
    """The statements that took 3 % of the run or more, in the order sent; the rest summed."""
    shown = [(t, label) for t, label in steps if t >= 0.03 * seconds]
    rest = sum(t for t, _label in steps) - sum(t for t, _label in shown)
    parts = [f"{label} {t:.2f}" for t, label in shown] + [f"{len(steps) - len(shown)} others {rest:.2f}"]
    report.line(f"     ours by statement ({len(steps)} sent), s: " + "; ".join(parts))


# --- the workload -------------------------------------------------------------------------------------

def run(report: Report, orders: int, merchants: int) -> None:
    postgres = connection.vendor == "postgresql"
    seeded = seed(orders, merchants)
    report.line(f"  W3 seed: {orders:,} completed orders across {merchants:,} merchants, "
                f"{Refund.objects.filter(status='succeeded').count():,} succeeded refunds, run day "
                f"{seeded.run_day} ({len(seeded.due_cutoffs)} schedules due), {seeded.seconds:.1f} s (not timed)")
    create_scratch()
    run_baseline(seeded)  # warm-up: pages into cache, plans
    base_before = run_baseline(seeded)
    expected = baseline_totals()
    settled = sum(v[0] for v in expected.values())
    report.line(f"  W3 baseline check: {settled:,} orders of {len(expected):,} merchants eligible "
                f"({'all' if settled == orders else 'NOT ALL'})")

    try:
        result, seconds, steps = _timed_run(seeded.run_day)
    except NotImplementedError:
        report.line("  W3 ours: settlement_run is not implemented yet: not measured")
        report.mark("W3 settlement_run implemented", False)
        return
    base_after = run_baseline(seeded)
    base = (base_before + base_after) / 2
    statements, lines = counts()
    got = statement_totals()
    mismatches = sum(1 for key in expected.keys() | got.keys() if expected.get(key) != got.get(key))
    bad_sums = lines_disagreeing_with_totals()
    order_lines = StatementLine.objects.filter(kind="order").count()
    ok = (statements == len(expected) and order_lines == settled and mismatches == 0 and bad_sums == 0)
    report.line(f"  W3 check: statements {statements:,} (merchants with orders {len(expected):,}), order lines "
                f"{order_lines:,} (orders {settled:,}), run says {result.statements_created:,} statements / "
                f"{result.lines_created:,} lines; per-merchant totals vs baseline: {mismatches} mismatches; "
                f"statements whose lines do not sum to their totals: {bad_sums}  {'ok' if ok else 'WRONG'}")
    if not ok:
        report.mark("W3 result check", False)

    ratio = seconds / base
    mark = report.mark("W3 ours/baseline", ratio <= TARGET_RATIO)
    report.line(f"  {'W3 settlement_run, ' + format(settled, ',') + ' orders':<38} ours {seconds:7.2f} s "
                f"{settled / seconds:9,.0f} orders/s   baseline {base:6.2f} s {settled / base:9,.0f} orders/s "
                f"(A {base_before:.2f} / A {base_after:.2f})   ratio {ratio:5.2f}  "
                f"(target <= {TARGET_RATIO:g})  {mark}")
    _breakdown(report, steps, seconds)
    if postgres and orders >= FULL_ORDERS:
        mark = report.mark("W3 under 10 s on PostgreSQL", seconds < TARGET_PG_SECONDS)
        report.line(f"  {'W3 settlement_run on PostgreSQL':<38} {seconds:7.2f} s   (target < {TARGET_PG_SECONDS:g} s)"
                    f"  {mark}")
    elif postgres:
        report.line(f"  {'W3 settlement_run on PostgreSQL':<38} {seconds:7.2f} s   (target < {TARGET_PG_SECONDS:g} s "
                    f"at {FULL_ORDERS:,} orders: not judged at this size)")

    again, seconds_again, _steps = _timed_run(seeded.run_day)
    statements_after, lines_after = counts()
    added_rows = (statements_after - statements, lines_after - lines)
    nothing = added_rows == (0, 0) and again.statements_created == 0 and again.lines_created == 0
    mark = report.mark("W3 second run adds nothing", nothing)
    report.line(f"  {'W3 second run of the same day':<38} {seconds_again:7.2f} s   +{added_rows[0]} statements, "
                f"+{added_rows[1]} lines (run says +{again.statements_created}/+{again.lines_created})   "
                f"(target adds nothing)  {mark}")

    if result.statement_ids:  # what writing the lines costs at least, to read the ratio above by
        floor = run_floor(seeded, result.statement_ids, order_lines)
        report.line(f"  {'W3 floor: the same lines, hand-written':<38} {floor:7.2f} s {settled / floor:9,.0f} orders/s"
                    f"   ours/floor {seconds / floor:5.2f}  (no target: one INSERT ... SELECT of the order lines into "
                    "a copy of the line table with its indexes, no statements)")
