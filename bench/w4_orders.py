"""W4: checkouts per second through `checkout_submit` (pricing, order rows, stock reservation).

Setup (untimed): 3 merchants, ~200 published variants with plenty of stock,
N customers. Before every timed run each customer's cart is filled (1-3
lines from 1-2 merchants, by `cart_line_add`, outside the clock); the timed
part is `checkout_submit` only, one transaction per checkout, with 1 and 8
threads (each its own connection, see `harness.run_writers`).

Paths, interleaved palindromically (A B C C B A, n/2 carts each):

  ours       checkout_submit as shipped.
  no-ctr     the same, with `order_numbers_take` swapped (in this process
             only) for a lock-free number source: what the per-day
             order-number counter row costs (its statements, and at 8 threads
             the serialisation: the row stays locked until the checkout commits).
  raw        hand-written SQL of the same rows: the checkout group, one order
             per merchant, its lines, and the conditional stock UPDATE per line
             (the reservation itself), one transaction per checkout. No
             pricing, no timeline/event/reservation rows, no cart: a floor.

No target is set for W4 in issue 3, so every figure is printed without PASS/MISS.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.harness import Report, percentile, run_writers
from clearhouse.accounts.models import BusinessType
from clearhouse.accounts.services import merchant_create, user_create
from clearhouse.catalog import services as catalog
from clearhouse.catalog.models import Variant
from clearhouse.core.money import Money
from clearhouse.customers.services import customer_profile_ensure
from clearhouse.inventory.models import StockItem
from clearhouse.inventory.services import stock_receive
from clearhouse.orders import domain
from clearhouse.orders.models import CheckoutGroup, Order, OrderLine
from clearhouse.orders.services import ShippingAddress, cart_line_add, checkout_submit
from clearhouse.orders.services import checkout as checkout_module

CURRENCY = "CNY"
MERCHANTS = 3
PRODUCTS_PER_MERCHANT = 34  # 2 variants each: 204 variants
STOCK = 10_000_000
ADDRESS = ShippingAddress(recipient="Bench Buyer", phone="+86 138 0000 0000", region="Shanghai",
                          city="Shanghai", line="1 Bench Road", postal_code="200000")


@dataclass(frozen=True, slots=True)
class Sku:
    id: int
    merchant_id: int
    product_id: int
    sku: str
    name: str
    price_minor: int


@dataclass(frozen=True, slots=True)
class Cart:
    customer: object  # CustomerProfile
    lines: tuple[tuple[Sku, int], ...]  # (variant, quantity)

    @property
    def orders(self) -> int:
        return len({sku.merchant_id for sku, _ in self.lines})


# --- setup ---------------------------------------------------------------------------

def create_catalog() -> list[Sku]:
    with transaction.atomic():
        kind = BusinessType.objects.get_or_create(code="bench-retail", defaults={"name": "Bench retail"})[0]
        category = catalog.category_create(name="Bench goods", slug="bench-goods")
        for m in range(MERCHANTS):
            merchant = merchant_create(code=f"bench-m{m}", name=f"Bench merchant {m}", business_type=kind)
            for p in range(PRODUCTS_PER_MERCHANT):
                product = catalog.product_create(merchant=merchant, category=category, name=f"Bench product {m}-{p}")
                for v in range(2):
                    variant = catalog.variant_create(product=product, sku=f"BENCH-{m}-{p}-{v}",
                                                     price=Money(1000 + 37 * p + 11 * v, CURRENCY),
                                                     specs={"size": "SML"[v]})
                    stock_receive(variant_id=variant.pk, quantity=STOCK, reference_type="bench")
                catalog.product_publish(product=product)
    return [Sku(v.pk, v.merchant_id, v.product_id, v.sku, v.product.name, v.price_minor)
            for v in Variant.objects.select_related("product").filter(sku__startswith="BENCH-").order_by("pk")]


def create_customers(n: int) -> list:
    with transaction.atomic():
        return [customer_profile_ensure(user=user_create(username=f"bench-buyer-{i}", password=None,
                                                         role="customer"))
                for i in range(n)]


def make_carts(rng: random.Random, customers: list, skus: list[Sku]) -> list[Cart]:
    by_merchant: dict[int, list[Sku]] = {}
    for sku in skus:
        by_merchant.setdefault(sku.merchant_id, []).append(sku)
    merchants = sorted(by_merchant)
    carts = []
    for customer in customers:
        chosen = rng.sample(merchants, rng.randint(1, 2))
        count = rng.randint(max(1, len(chosen)), 3)
        picks = [rng.choice(by_merchant[m]) for m in chosen]  # at least one line per chosen merchant
        pool = [s for m in chosen for s in by_merchant[m] if s not in picks]
        picks += rng.sample(pool, count - len(picks))
        carts.append(Cart(customer, tuple((sku, rng.randint(1, 3)) for sku in picks)))
    return carts


_expected = Counter()  # orders and units written in this run, checked against the database at the end


def _expect(carts: list[Cart]) -> None:
    _expected["orders"] += sum(c.orders for c in carts)
    _expected["units"] += sum(q for c in carts for _, q in c.lines)


def fill_carts(carts: list[Cart]) -> None:
    """Untimed: put each cart's lines in the customer's (empty) cart."""
    with transaction.atomic():
        for cart in carts:
            for sku, quantity in cart.lines:
                cart_line_add(customer=cart.customer, quantity=quantity, variant_id=sku.id)


# --- the order-number counter, and a lock-free stand-in ---------------------------------

_real_numbers_take = checkout_module.order_numbers_take
_free_sequence = itertools.count(500_001)  # far above the counter's values in this run; next() is atomic
_numbers_lock = threading.Lock()
_numbers_seconds = [0.0]
_held = threading.local()  # per thread: when this checkout first took the counter row




def _timed_numbers_take(*, prefix, day, count):
    """The shipped function, with its wall time (lock waits included) summed."""
    start = time.perf_counter()
    try:
        return _real_numbers_take(prefix=prefix, day=day, count=count)
    finally:
        end = time.perf_counter()
        elapsed = end - start
        if getattr(_held, "since", None) is None:
            _held.since = end  # the row is ours from here until the checkout commits
        with _numbers_lock:
            _numbers_seconds[0] += elapsed


def _free_numbers_take(*, prefix, day, count):
    return [domain.format_order_number(day=day, sequence=next(_free_sequence), prefix=prefix) for _ in range(count)]


# --- the two ways of checking out ---------------------------------------------------------

def checkout_work(latencies: list[float], holds: list[float] | None = None):
    def work(carts: list[Cart]) -> None:
        for cart in carts:
            _held.since = None
            start = time.perf_counter()
            checkout_submit(customer=cart.customer, address=ADDRESS)
            end = time.perf_counter()
            latencies.append(end - start)
            if holds is not None and _held.since is not None:
                holds.append(end - _held.since)  # counter row taken -> committed
    return work


class RawSql:
    """INSERTs of the same columns the ORM writes, built from the models' fields."""

    def __init__(self) -> None:
        self.sql = {model: self._insert_sql(model) for model in (CheckoutGroup, Order, OrderLine)}
        self.stock_sql = (f"UPDATE {StockItem._meta.db_table} SET reserved = reserved + %s, updated_at = %s "
                          "WHERE variant_id = %s AND on_hand - reserved >= %s")
        self.numbers = itertools.count(1)

    @staticmethod
    def _fields(model):
        return [f for f in model._meta.concrete_fields if not f.primary_key]

    def _insert_sql(self, model) -> str:
        qn = connection.ops.quote_name
        fields = self._fields(model)
        return (f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
                f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {qn(model._meta.pk.column)}")

    def insert(self, cur, model, values: dict) -> int:
        params = []
        for f in self._fields(model):
            value = values[f.attname] if f.attname in values else f.get_default()
            params.append(f.get_db_prep_save(value, connection))
        cur.execute(self.sql[model], params)
        return cur.fetchone()[0]

    def checkout(self, cart: Cart, latencies: list[float]) -> None:
        start = time.perf_counter()
        now = timezone.now()
        by_merchant: dict[int, list[tuple[Sku, int]]] = {}
        for sku, quantity in cart.lines:
            by_merchant.setdefault(sku.merchant_id, []).append((sku, quantity))
        money = {"currency": CURRENCY, "merchant_coupon_amount_minor": 0, "platform_coupon_amount_minor": 0,
                 "points_amount_minor": 0, "shipping_fee_minor": 0, "points_redeemed": 0, "created_at": now}
        total = sum(sku.price_minor * q for sku, q in cart.lines)
        with transaction.atomic(), connection.cursor() as cur:
            group = self.insert(cur, CheckoutGroup, {**money, "number": f"RAW-CG-{next(self.numbers)}",
                                                     "customer_id": cart.customer.pk, "subtotal_minor": total,
                                                     "total_minor": total, "platform_coupon_id": None})
            for merchant_id, lines in by_merchant.items():
                subtotal = sum(sku.price_minor * q for sku, q in lines)
                order = self.insert(cur, Order, {
                    **money, "number": f"RAW-SO-{next(self.numbers)}", "group_id": group,
                    "customer_id": cart.customer.pk, "merchant_id": merchant_id, "status": "submitted",
                    "subtotal_minor": subtotal, "total_minor": subtotal, "merchant_coupon_id": None,
                    "platform_coupon_id": None, "ship_recipient": ADDRESS.recipient, "ship_phone": ADDRESS.phone,
                    "ship_region": ADDRESS.region, "ship_city": ADDRESS.city, "ship_line": ADDRESS.line,
                    "ship_postal_code": ADDRESS.postal_code, "expires_at": now + timedelta(minutes=30),
                    "updated_at": now})
                for sku, quantity in lines:
                    self.insert(cur, OrderLine, {
                        "order_id": order, "merchant_id": merchant_id, "variant_id": sku.id,
                        "product_id": sku.product_id, "sku": sku.sku, "name": sku.name, "currency": CURRENCY,
                        "unit_price_minor": sku.price_minor, "quantity": quantity,
                        "subtotal_minor": sku.price_minor * quantity, "line_total_minor": sku.price_minor * quantity})
            for sku, quantity in sorted(cart.lines, key=lambda line: line[0].id):
                cur.execute(self.stock_sql, [quantity, connection.ops.adapt_datetimefield_value(now), sku.id,
                                             quantity])
                if cur.rowcount != 1:
                    raise RuntimeError(f"raw reservation of {sku.sku} failed")
        latencies.append(time.perf_counter() - start)

    def work(self, latencies: list[float]):
        def work(carts: list[Cart]) -> None:
            for cart in carts:
                self.checkout(cart, latencies)
        return work


# --- the cases ------------------------------------------------------------------------------

@dataclass
class Result:
    seconds: float = 0.0
    checkouts: int = 0
    orders: int = 0
    numbers_seconds: float = 0.0
    latencies: list[float] | None = None
    holds: list[float] | None = None

    def add(self, seconds: float, carts: list[Cart]) -> None:
        _expect(carts)
        self.seconds += seconds
        self.checkouts += len(carts)
        self.orders += sum(c.orders for c in carts)

    @property
    def rate(self) -> float:
        return self.checkouts / self.seconds

    @property
    def order_rate(self) -> float:
        return self.orders / self.seconds

    def lat(self, q: float) -> float:
        return 1000 * percentile(sorted(self.latencies), q)


def measure(rng, customers, skus, raw: RawSql, writers: int, n: int) -> dict[str, Result]:
    paths = ["ours", "no-ctr", "raw"]
    half = max(writers, n // 2)
    results = {p: Result(latencies=[], holds=[]) for p in paths}
    for path in [*paths, *reversed(paths)]:
        carts = make_carts(rng, customers[:half], skus)
        result = results[path]
        if path == "raw":
            result.add(run_writers(raw.work(result.latencies), carts, writers), carts)
            continue
        fill_carts(carts)
        checkout_module.order_numbers_take = _timed_numbers_take if path == "ours" else _free_numbers_take
        _numbers_seconds[0] = 0.0
        try:
            result.add(run_writers(checkout_work(result.latencies, result.holds), carts, writers), carts)
        finally:
            checkout_module.order_numbers_take = _real_numbers_take
        result.numbers_seconds += _numbers_seconds[0]
    return results


def statements_per_checkout(rng, customers, skus, count: int) -> tuple[float, Counter, float]:
    carts = make_carts(rng, customers[:count], skus)
    fill_carts(carts)
    with CaptureQueriesContext(connection) as ctx:
        checkout_work([])(carts)
    _expect(carts)
    kinds = Counter(q["sql"].split(None, 1)[0].upper() for q in ctx.captured_queries)
    return len(ctx.captured_queries) / count, kinds, sum(c.orders for c in carts) / count


def run(report: Report, n: int, seed: int = 4) -> None:
    rng = random.Random(seed)
    started = time.perf_counter()
    skus = create_catalog()
    customers = create_customers(max(n // 2, 8))
    report.line(f"  W4 orders: checkout_submit (price, order rows, stock reservation), one transaction per checkout;"
                f" {MERCHANTS} merchants,")
    report.line(f"     {len(skus)} variants, {len(customers)} customers, carts of 1-3 lines from 1-2 merchants "
                f"(filled untimed); setup {time.perf_counter() - started:.1f} s")
    report.line("     ours = as shipped; no-ctr = order_numbers_take swapped for a lock-free number source; raw = "
                "group/order/line INSERTs")
    report.line("     + conditional stock UPDATE per line by hand-written SQL (no pricing, events, reservation rows).")
    report.line("     No target in issue 3: figures only.")
    raw = RawSql()
    # Warm-up outside every measurement.
    warm = make_carts(rng, customers[:min(20, len(customers))], skus)
    fill_carts(warm)
    checkout_work([])(warm)
    raw.work([])(warm)
    _expect(warm)
    _expect(warm)

    by_writers = {}
    for writers in (1, 8):
        results = by_writers[writers] = measure(rng, customers, skus, raw, writers, n)
        for path in ("ours", "no-ctr", "raw"):
            r = results[path]
            report.line(f"  W4 {_writers(writers)} {path:<7} {r.rate:7.0f} checkouts/s {r.order_rate:7.0f} orders/s"
                        f"   p50 {r.lat(50):6.1f} ms  p99 {r.lat(99):6.1f} ms  ({r.checkouts} checkouts)")
        ours = results["ours"]
        hold = sorted(ours.holds)
        report.line(f"  W4 {_writers(writers)} ours/raw {ours.rate / results['raw'].rate:5.2f}   "
                    f"ours/no-ctr {ours.rate / results['no-ctr'].rate:5.2f}   "
                    f"in order_numbers_take {1000 * ours.numbers_seconds / ours.checkouts:6.2f} ms/checkout "
                    "(wall, lock waits included)")
        report.line(f"     counter row held (first number taken -> commit): mean {1000 * sum(hold) / len(hold):6.2f} "
                    f"ms, p50 {1000 * percentile(hold, 50):6.2f} ms  ->  at most {len(hold) / sum(hold):5.0f} "
                    "checkouts/s per day, however many workers")
    if connection.vendor == "sqlite":
        report.line("     (SQLite: BEGIN IMMEDIATE already serialises whole checkouts on the database write lock; the "
                    "counter adds only its statements)")
    for path in ("ours", "no-ctr", "raw"):
        scale = by_writers[8][path].rate / by_writers[1][path].rate
        report.line(f"  W4 scaling 8 vs 1 writer, {path:<7} {scale:5.2f}x")

    count = min(50, len(customers))
    per, kinds, orders = statements_per_checkout(rng, customers, skus, count)
    detail = ", ".join(f"{k} {v / count:.2f}" for k, v in sorted(kinds.items()))
    report.line(f"  W4 SQL statements per checkout, ours ({count} checkouts, {orders:.2f} orders each): "
                f"{per:.1f}  [{detail}]")
    report.line("     raw: 1 + orders + lines INSERTs and 1 UPDATE per line, + BEGIN/COMMIT")
    check_rows(report)


def check_rows(report: Report) -> None:
    """Every checkout wrote its orders and reserved its units (else the rates above mean nothing)."""
    orders = Order.objects.count()
    units = sum(StockItem.objects.values_list("reserved", flat=True))
    ok = orders == _expected["orders"] and units == _expected["units"]
    report.line(f"  W4 check: {orders} orders (expected {_expected['orders']}), {units} units reserved "
                f"(expected {_expected['units']}): {'ok' if ok else 'MISMATCH'}")
    if not ok:
        report.mark("W4 rows written as expected", False)


def _writers(k: int) -> str:
    return f"{k} {'writer' if k == 1 else 'writers':<7}"
