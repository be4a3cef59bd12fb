"""W1: paid orders per second, end to end over HTTP against a real gunicorn server.

Every simulated customer is its own httpx client with its own session
(logged in at /accounts/login/ before the clock starts) and, per order:

  1. POST /api/v1/cart/checkout {lines, address} -> one order (one merchant): a direct checkout ("buy
                                                 now") of one SKU, quantity 1, as a shop's buy-now button
                                                 does (the cart is not used; adding to the cart first is
                                                 one more request, BENCH_W1_CART=1)
  2. POST /api/v1/orders/{number}/payments    card -> next_action.url, the sandbox's hosted form
                                                 (Clearhouse calls the sandbox API: create)
  3. GET  that form                           (the browser's page load)
  4. POST the form, test card 4242 4242 4242 4242, 12/34, 123 -> 302 with payment_method=pm_...
  5. POST /api/v1/payments/{reference}/confirm {payment_token} -> "captured"
                                                 (Clearhouse calls the sandbox API: confirm; the
                                                 capture is posted to the ledger in that request)

An order counts as paid when step 5 answers `captured`; its latency is steps
1-5. The sandbox's signed webhook (/webhooks/sandbox/) and our payment
notifications (email, SMS) are delivered by the task worker (`db_worker`, a
second process) after commit: the clock of the rate stops at the last
`captured`, and the time the worker then still needed to drain the queue is
printed separately.

Servers: `gunicorn clearhouse.wsgi`, gthread workers (a confirm holds one
thread while the provider request it makes needs another, so there are always
more threads than clients). By default the sandbox provider runs as its own
site (gunicorn + worker + database) beside Clearhouse's, as a real provider
would; BENCH_W1_PROVIDER=same serves it from Clearhouse's own server and
database (PostgreSQL only: see `Topology`). The hosted form is fetched with a
cookie jar of its own (another site). Everything runs on this machine: the
load generator's own CPU time is printed beside the rate.

Statements: a second, untimed phase restarts the server with
CLEARHOUSE_COUNT_QUERIES=1 (clearhouse/core/query_count.py, one JSON line
per request) and the worker under `python -m bench.w1_payments worker`
(the same counter around each task), pays orders one at a time, waits until
the worker is idle after each, and splits the statements into Clearhouse's
(API, webhook, our notification tasks) and the provider simulator's
(/sandbox/ pages and API, its webhook-delivery task). BENCH_W1_SQL=1 prints
every statement of one paid order, grouped by request.

Baseline, same run: the W2 raw-SQL posting rate (bench/w2.py: one journal
entry + its postings by hand-written SQL per commit) at the same
concurrency, measured just before and just after W1 (A B A). Targets
(issue 4): W1 >= 0.1x that rate; <= 30 statements per paid order on
Clearhouse's side.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bench.databases import REPO_ROOT

CURRENCY = "CNY"
MERCHANTS = 2
PRODUCTS_PER_MERCHANT = 4
STOCK = 10_000_000
CLIENTS = (1, 8)
PASSWORD = "w1-bench-Pass-9137"
CARD = {"number": "4242 4242 4242 4242", "expiry": "12/34", "cvc": "123", "cardholder": "Bench Buyer"}
ADDRESS = {"recipient": "Bench Buyer", "phone": "+86 138 0000 0000", "region": "Shanghai", "city": "Shanghai",
           "line": "1 Bench Road", "postal_code": "200000"}
GUNICORN_WORKERS, PROVIDER_WORKERS, GUNICORN_THREADS = 4, 2, 4
PROVIDER_DB = "clearhouse_bench_provider"
WORKER_INTERVAL_S = "0.05"
RAW_ACCOUNTS = 1000
TARGET_RAW, TARGET_STATEMENTS = 0.1, 30
COUNT_ORDERS, COUNT_WARMUP = 10, 3
STEPS = ("cart/lines", "checkout", "start payment", "form GET", "form POST", "confirm")
VIA_CART = os.environ.get("BENCH_W1_CART") == "1"  # the cart line as its own request, then the cart's checkout


# --- setup (untimed, ORM in this process) ------------------------------------------------------

def create_data(customers: int) -> tuple[list[str], list[str], list[int]]:
    """Merchants, SKUs with plenty of stock, customers with passwords, accounts for the raw baseline."""
    from django.db import transaction

    from clearhouse.accounts.models import BusinessType
    from clearhouse.accounts.services import merchant_create, user_create
    from clearhouse.catalog import services as catalog
    from clearhouse.core.money import Money
    from clearhouse.customers.services import customer_profile_ensure
    from clearhouse.inventory.services import stock_receive
    from clearhouse.ledger.models import Account, AccountType

    skus = []
    with transaction.atomic():
        kind = BusinessType.objects.get_or_create(code="w1-retail", defaults={"name": "W1 retail"})[0]
        category = catalog.category_create(name="W1 goods", slug="w1-goods")
        for m in range(MERCHANTS):
            merchant = merchant_create(code=f"w1-m{m}", name=f"W1 merchant {m}", business_type=kind)
            for p in range(PRODUCTS_PER_MERCHANT):
                product = catalog.product_create(merchant=merchant, category=category, name=f"W1 product {m}-{p}")
                sku = f"W1-{m}-{p}"
                variant = catalog.variant_create(product=product, sku=sku, price=Money(1000 + 37 * p, CURRENCY),
                                                 specs={"size": "M"})
                stock_receive(variant_id=variant.pk, quantity=STOCK, reference_type="bench")
                catalog.product_publish(product=product)
                skus.append(sku)
        usernames = [f"w1-buyer-{i}" for i in range(customers)]
        for username in usernames:
            customer_profile_ensure(user=user_create(username=username, password=PASSWORD, role="customer"))
        Account.objects.bulk_create(
            Account(code=f"W1R{i:04d}", name=f"W1 raw {i}", type=AccountType.ASSET, currency=CURRENCY)
            for i in range(RAW_ACCOUNTS)
        )
    accounts = list(Account.objects.filter(code__startswith="W1R").values_list("id", flat=True))
    return usernames, skus, accounts


# --- the servers and the task workers ------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Site:
    """gunicorn + db_worker on one free port, on `database_url` (default: this process's DATABASE_URL)."""

    def __init__(self, *, name: str, counting: bool, log_dir: Path, workers: int, threads: int,
                 database_url: str | None = None, sandbox_base: str | None = None) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.name, self.counting, self.workers, self.threads = name, counting, workers, threads
        self.counts_file = log_dir / "w1-counts.jsonl"
        self.log = open(log_dir / f"w1-{name}-{self.port}.log", "w")  # noqa: SIM115 - closed in stop()
        self.env = {
            **os.environ,
            "CLEARHOUSE_PUBLIC_URL": self.base,
            "CLEARHOUSE_SANDBOX_API_BASE": f"{sandbox_base or self.base}/sandbox/v1",
            "CLEARHOUSE_ORDER_UNPAID_EXPIRY_MINUTES": "1440",
            "CLEARHOUSE_PAYMENT_REMINDER_MINUTES": "1440",
            "CLEARHOUSE_SECURE_COOKIES": "0",
            "CLEARHOUSE_LOGIN_FAILURE_LIMIT": "1000000",
            "CLEARHOUSE_DEBUG": "0",
        }
        if database_url:
            self.env["DATABASE_URL"] = database_url
        if counting:
            self.env |= {"CLEARHOUSE_COUNT_QUERIES": "1", "CLEARHOUSE_COUNT_QUERIES_SQL": "1",
                         "CLEARHOUSE_COUNT_QUERIES_FILE": str(self.counts_file)}
        self.procs: list[subprocess.Popen] = []

    def start(self) -> Site:
        python = sys.executable
        gunicorn = [python, "-m", "gunicorn", "clearhouse.wsgi", "--bind", f"127.0.0.1:{self.port}",
                    "--worker-class", "gthread", "--workers", str(self.workers), "--threads", str(self.threads),
                    "--timeout", "120", "--keep-alive", "120", "--log-level", "warning"]
        worker_module = "bench.w1_payments" if self.counting else "clearhouse.cli"
        worker = [python, "-m", worker_module, "db_worker", "--interval", WORKER_INTERVAL_S, "--no-startup-delay"]
        for argv in (gunicorn, worker):
            self.procs.append(subprocess.Popen(argv, env=self.env, cwd=REPO_ROOT, stdout=self.log,
                                               stderr=subprocess.STDOUT))
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                break
            try:
                if httpx.get(f"{self.base}/accounts/login/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"W1 {self.name} server did not start; see {self.log.name}:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        if not self.log.closed:
            self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []
        if not self.log.closed:
            self.log.close()


class Topology:
    """Clearhouse's site and the provider simulator's: one site, or two with their own databases.

    "separate" (the default): the sandbox provider runs as its own gunicorn +
    worker on its own database (a second SQLite file, or a second database on
    the same PostgreSQL server), as a real provider would. "same"
    (BENCH_W1_PROVIDER=same): the sandbox is served by Clearhouse's own server
    and database. On SQLite "same" cannot work: Clearhouse holds the write
    lock (BEGIN IMMEDIATE) while it waits for the provider's answer, and the
    provider's request needs that lock to answer.
    """

    def __init__(self, *, provider_url: str | None, log_dir: Path) -> None:
        self.provider_url = provider_url
        self.log_dir = log_dir
        self.sites: list[Site] = []

    def start(self, *, counting: bool) -> Site:
        sandbox_base = None
        if self.provider_url:
            provider = Site(name="provider", counting=counting, log_dir=self.log_dir, workers=PROVIDER_WORKERS,
                            threads=GUNICORN_THREADS, database_url=self.provider_url)
            self.sites.append(provider)
            provider.start()
            sandbox_base = provider.base
        site = Site(name="clearhouse", counting=counting, log_dir=self.log_dir, workers=GUNICORN_WORKERS,
                    threads=GUNICORN_THREADS, sandbox_base=sandbox_base)
        self.sites.append(site)
        site.start()
        return site

    def tail(self) -> str:
        return "\n".join(f"--- {s.name}:\n{s.tail()}" for s in self.sites)

    def stop(self) -> None:
        for site in reversed(self.sites):
            site.stop()
        self.sites = []


def provider_database(log_dir: Path) -> str:
    """A fresh, migrated database for the provider simulator, registered here as the `provider` alias."""
    from django.db import connection, connections

    from bench.databases import with_dbname
    from clearhouse import settings as project_settings

    url = os.environ["DATABASE_URL"]
    if connection.vendor == "sqlite":
        url = f"sqlite:///{log_dir / 'provider.sqlite3'}"
    else:
        import psycopg

        with psycopg.connect(with_dbname(url, "postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PROVIDER_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PROVIDER_DB}")
        url = with_dbname(url, PROVIDER_DB)
    subprocess.run([sys.executable, "-m", "clearhouse.cli", "migrate", "--verbosity", "0"], check=True,
                   cwd=REPO_ROOT, env={**os.environ, "DATABASE_URL": url})
    saved = os.environ["DATABASE_URL"]
    os.environ["DATABASE_URL"] = url
    try:
        config = project_settings.database_from_env()
    finally:
        os.environ["DATABASE_URL"] = saved
    connections.settings["provider"] = connections.configure_settings({"default": config})["default"]
    return url


def provider_database_drop() -> None:
    from django.db import connection, connections

    from bench.databases import with_dbname

    if "provider" not in connections.settings:
        return
    connections["provider"].close()
    if connection.vendor == "postgresql":
        import psycopg

        with psycopg.connect(with_dbname(os.environ["DATABASE_URL"], "postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PROVIDER_DB} WITH (FORCE)")


# --- one simulated customer -------------------------------------------------------------------------

class Customer:
    """A browser and API client with one session; pays one order per `pay()`."""

    def __init__(self, base: str, username: str, skus: list[str], seed: int) -> None:
        import httpx

        self.http = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
        # The provider's pages are another site: their own cookies (cookies ignore the port, so on
        # 127.0.0.1 one jar would let the provider's csrftoken replace ours).
        self.provider_http = httpx.Client(timeout=60, follow_redirects=False)
        self.base = base
        self.username = username
        self.skus = skus
        self.rng = random.Random(seed)
        self.latencies: list[float] = []
        self.step_s = [0.0] * len(STEPS)
        self.paid = 0

    def login(self) -> None:
        self.http.get("/accounts/login/").raise_for_status()
        r = self.http.post("/accounts/login/", data={"username": self.username, "password": PASSWORD,
                                                     "csrfmiddlewaretoken": self._csrf()})
        if r.status_code != 302:
            raise RuntimeError(f"W1 login of {self.username} failed: HTTP {r.status_code}")

    def _csrf(self) -> str:
        return self.http.cookies.get("csrftoken", "")

    def _api(self, path: str, body: dict, expect: int) -> dict:
        r = self.http.post(f"/api/v1{path}", json=body, headers={
            "Idempotency-Key": str(uuid.uuid4()), "X-CSRFToken": self._csrf()})
        if r.status_code != expect:
            raise RuntimeError(f"W1 POST {path}: HTTP {r.status_code} {r.text[:500]}")
        return r.json()

    def pay(self) -> None:
        marks = [time.perf_counter()]
        line = {"sku": self.rng.choice(self.skus), "quantity": 1}
        if VIA_CART:
            self._api("/cart/lines", line, 201)
            checkout = {"address": ADDRESS}
        else:
            checkout = {"address": ADDRESS, "lines": [line]}
        marks.append(time.perf_counter())
        number = self._api("/cart/checkout", checkout, 201)["orders"][0]["number"]
        marks.append(time.perf_counter())
        intent = self._api(f"/orders/{number}/payments", {"method": "card"}, 201)
        marks.append(time.perf_counter())
        form_url = intent["next_action"]["url"]
        browser = self.http if form_url.startswith(self.base) else self.provider_http
        browser.get(form_url).raise_for_status()
        marks.append(time.perf_counter())
        r = browser.post(form_url, data=CARD, headers={"X-CSRFToken": browser.cookies.get("csrftoken", "")})
        location = r.headers.get("location", "")
        token = parse_qs(urlsplit(location).query).get("payment_method", [""])[0]
        if r.status_code != 302 or not token:
            raise RuntimeError(f"W1 card form: HTTP {r.status_code}, location {location!r}")
        marks.append(time.perf_counter())
        paid = self._api(f"/payments/{intent['reference']}/confirm", {"payment_token": token}, 200)
        marks.append(time.perf_counter())
        if paid["status"] != "captured":
            raise RuntimeError(f"W1 confirm of {intent['reference']}: {paid['status']} ({paid.get('failure_code')})")
        for i in range(len(STEPS)):
            self.step_s[i] += marks[i + 1] - marks[i]
        self.latencies.append(marks[-1] - marks[0])
        self.paid += 1

    def close(self) -> None:
        self.http.close()
        self.provider_http.close()


def run_clients(customers: list[Customer], orders: int) -> float:
    """Each customer pays its share of `orders` concurrently; seconds from the common start to the last paid."""
    shares = [orders // len(customers) + (i < orders % len(customers)) for i in range(len(customers))]
    barrier = threading.Barrier(len(customers) + 1)
    errors: list[BaseException] = []

    def target(customer: Customer, share: int) -> None:
        try:
            barrier.wait()
            for _ in range(share):
                customer.pay()
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=target, args=(c, s)) for c, s in zip(customers, shares, strict=True)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed


# --- waiting for the worker -------------------------------------------------------------------------

def _aliases() -> list[str]:
    from django.db import connections

    return ["default", "provider"] if "provider" in connections.settings else ["default"]


def queue_busy() -> tuple[int, int]:
    """(sandbox webhook deliveries pending, tasks ready or running), on both sites' databases."""
    from django_tasks_db.models import DBTaskResult

    from clearhouse.sandbox.models import DeliveryState, WebhookDelivery

    aliases = _aliases()
    pending = WebhookDelivery.objects.using(aliases[-1]).filter(state=DeliveryState.PENDING).count()
    tasks = sum(DBTaskResult.objects.using(a).filter(status__in=["READY", "RUNNING"]).count() for a in aliases)
    return pending, tasks


def wait_drained(timeout_s: float = 120) -> float:
    """Seconds until every webhook was delivered and no task is left (polls every 20 ms)."""
    from django.db import connections

    start = time.perf_counter()
    while queue_busy() != (0, 0):
        if time.perf_counter() - start > timeout_s:
            raise RuntimeError(f"W1: worker not drained after {timeout_s} s: {queue_busy()}")
        time.sleep(0.02)
    for alias in _aliases():  # no idle connection of ours during the next measurement (SQLite)
        connections[alias].close()
    return time.perf_counter() - start


def pg_commits() -> int | None:
    """PostgreSQL's own count of committed transactions in this database (None on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    time.sleep(1.2)  # backends flush their statistics at most once a second
    with connection.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        return cur.fetchone()[0]


# --- the baseline -------------------------------------------------------------------------------------

def raw_rate(rng, accounts: list[int], n: int, writers: int, tag: str) -> float:
    """Seconds W2's raw path takes for n entries (entry + postings by hand-written SQL, one commit each)."""
    from bench import w2
    from bench.harness import run_writers

    entries = w2.make_entries(rng, f"w1-raw-{tag}", n, accounts, None)
    return run_writers(w2.one_per_commit("raw"), entries, writers)


# --- the statement count ------------------------------------------------------------------------------

_ID_SEGMENT = re.compile(r"/(payments|orders|checkout|payment_intents)/[^/]+")
_ID_REPLACEMENT = r"/\1/{id}"


def route(row: dict) -> str:
    path = row["path"]
    if path.startswith(("task:", "worker:")):
        return path
    return f"{row['method']} {_ID_SEGMENT.sub(_ID_REPLACEMENT, path)}"


def provider_side(row: dict) -> bool:
    path = row["path"]
    return path.startswith(("/sandbox/", "task:clearhouse.sandbox.", "worker:claim:clearhouse.sandbox."))


def sql_statements(row: dict) -> int:
    """Statements sent, without transaction control (SQLite's BEGIN IMMEDIATE; PostgreSQL's BEGIN is not seen)."""
    return row["statements"] - sum(1 for s in row.get("sql", ()) if s.upper().startswith("BEGIN"))


def read_rows(path: Path, offset: int) -> tuple[list[dict], int]:
    if not path.exists():
        return [], offset
    with open(path, encoding="utf-8") as f:
        f.seek(offset)
        text = f.read()
    return [json.loads(line) for line in text.splitlines() if line.strip()], offset + len(text.encode())


@dataclass
class Tally:
    requests: int = 0
    statements: int = 0
    commits: int = 0
    autocommit_writes: int = 0
    kinds: Counter = field(default_factory=Counter)

    def add(self, row: dict) -> None:
        self.requests += 1
        self.statements += sql_statements(row)
        self.commits += row["commits"]
        self.autocommit_writes += row["autocommit_writes"]
        self.kinds.update(s.split(None, 1)[0].upper() for s in row.get("sql", ()) if s)


def count_statements(report, topology: Topology, usernames: list[str], skus: list[str]) -> None:
    site = topology.start(counting=True)
    try:
        customer = Customer(site.base, usernames[0], skus, seed=99)
        customer.login()
        for _ in range(COUNT_WARMUP):  # first requests of fresh processes: caches, imports
            customer.pay()
        wait_drained()
        _, offset = read_rows(site.counts_file, 0)
        per_order: list[list[dict]] = []
        for _ in range(COUNT_ORDERS):
            customer.pay()
            wait_drained()
            time.sleep(0.1)  # the worker writes its task's row just after the task is marked done
            rows, offset = read_rows(site.counts_file, offset)
            per_order.append(rows)
        customer.close()
    finally:
        topology.stop()
    _print_counts(report, per_order)


def _print_counts(report, per_order: list[list[dict]]) -> None:
    n = len(per_order)
    by_route: dict[str, Tally] = defaultdict(Tally)
    ours, theirs = Tally(), Tally()
    for rows in per_order:
        for row in rows:
            if row["path"] == "worker:idle":
                continue
            by_route[route(row)].add(row)
            (theirs if provider_side(row) else ours).add(row)
    per = ours.statements / n
    mark = report.mark("W1 statements per paid order <= 30", per <= TARGET_STATEMENTS)
    report.line(f"  W1 SQL statements per paid order, Clearhouse side ({n} orders, 1 client): {per:.1f}  "
                f"(target <= {TARGET_STATEMENTS})  {mark}")
    report.line(f"     commits {ours.commits / n:.1f} (+ {ours.autocommit_writes / n:.1f} writes in autocommit), "
                f"{ours.requests / n:.1f} requests/tasks  [{_kinds(ours.kinds, n)}]")
    report.line(f"  W1 provider simulator side (/sandbox/ pages + API, its webhook task): {theirs.statements / n:.1f} "
                f"statements, {theirs.commits / n:.1f} commits  [{_kinds(theirs.kinds, n)}]")
    report.line("     per request or task, per paid order (statements excl. BEGIN; commits; the task queue's claim "
                "of a task is its own line):")
    for name, t in sorted(by_route.items(), key=lambda kv: (provider_side({"path": kv[0].split(" ", 1)[-1]}),
                                                             -kv[1].statements)):
        side = "provider" if provider_side({"path": name.split(" ", 1)[-1]}) else "ours"
        report.line(f"     {side:<8} {name:<58} {t.statements / n:5.1f} stmts {t.commits / n:4.1f} commits"
                    f"  x{t.requests / n:.1f}")
    report.line("     not counted: connection setup (SQLite PRAGMAs), the worker's idle polls; "
                "on PostgreSQL BEGIN is sent by the driver (not seen), COMMIT is counted as commits.")
    if os.environ.get("BENCH_W1_SQL") == "1":
        report.line("  W1 every statement of one paid order, by request (BENCH_W1_SQL=1):")
        for row in per_order[-1]:
            if row["path"] == "worker:idle":
                continue
            report.line(f"   -- {'provider' if provider_side(row) else 'ours'}: {route(row)}  "
                        f"({row['statements']} statements, {row['commits']} commits)")
            for sql in row.get("sql", ()):
                report.line(f"      {sql}")


def _kinds(kinds: Counter, n: int) -> str:
    return ", ".join(f"{k} {v / n:.1f}" for k, v in sorted(kinds.items()))


# --- the workload -------------------------------------------------------------------------------------

def run(report, orders: int, raw_n: int, seed: int = 1) -> None:
    import tempfile

    from django.db import connection

    rng = random.Random(seed)
    started = time.perf_counter()
    usernames, skus, accounts = create_data(max(CLIENTS))
    connection.close()
    log_dir = Path(tempfile.mkdtemp(prefix="clearhouse-bench-w1-"))
    same = os.environ.get("BENCH_W1_PROVIDER", "separate") == "same"
    report.line(f"  W1 paid orders over HTTP: gunicorn gthread {GUNICORN_WORKERS} workers x {GUNICORN_THREADS} "
                f"threads + db_worker (poll {WORKER_INTERVAL_S} s); provider simulator: "
                + ("Clearhouse's own server and database (BENCH_W1_PROVIDER=same)." if same else
                   f"its own gunicorn ({PROVIDER_WORKERS} workers) + worker + database, same machine."))
    report.line(f"     per order: {'cart line, checkout of the cart' if VIA_CART else 'direct checkout (buy now)'}, "
                "start card payment (-> sandbox create), hosted form GET + POST (4242...), confirm (-> sandbox")
    report.line("     confirm; the capture is posted to the ledger). Paid = confirm answered `captured`; the "
                "webhook and notifications are")
    report.line(f"     drained by the workers after the clock stops (printed as drain). {len(skus)} SKUs of "
                f"{MERCHANTS} merchants; setup {time.perf_counter() - started:.1f} s.")
    report.line("     baseline: W2 raw SQL (entry + postings, one commit per entry) at the same concurrency, "
                "before and after each W1 run.")
    if same and connection.vendor == "sqlite":
        report.line("     BENCH_W1_PROVIDER=same on SQLite: expect provider timeouts (see Topology's docstring).")
    expected = 2 * max(CLIENTS) + len(CLIENTS) * orders + COUNT_WARMUP + COUNT_ORDERS
    try:
        topology = Topology(provider_url=None if same else provider_database(log_dir), log_dir=log_dir)
        site = topology.start(counting=False)
        try:
            customers = [Customer(site.base, u, skus, seed=seed + i) for i, u in enumerate(usernames)]
            for c in customers:
                c.login()
            run_clients(customers, 2 * len(customers))  # warm every gunicorn worker
            wait_drained()
            for clients in CLIENTS:
                measure(report, customers[:clients], orders, rng, accounts, max(clients, raw_n // 2))
            for c in customers:
                c.close()
        except BaseException:
            report.line(f"  W1 server log tail:\n{topology.tail()}")
            raise
        finally:
            topology.stop()
        count_statements(report, topology, usernames, skus)
    finally:
        provider_database_drop()
    check_rows(report, expected)
    shutil.rmtree(log_dir, ignore_errors=True)  # kept when something failed: the server logs are there


def measure(report, group: list[Customer], orders: int, rng, accounts: list[int], raw_n: int) -> None:
    """One concurrency level: raw, W1, raw; the rate, latencies, drain and per-request times."""
    from django.db import connection

    from bench.harness import percentile

    clients = len(group)
    for c in group:
        c.latencies, c.step_s, c.paid = [], [0.0] * len(STEPS), 0
    raw_s = raw_rate(rng, accounts, raw_n, clients, f"{clients}-a")
    commits_before = pg_commits()
    connection.close()
    cpu_before = time.process_time()
    elapsed = run_clients(group, orders)
    cpu = time.process_time() - cpu_before
    drain = wait_drained()
    commits_after = pg_commits()
    connection.close()
    raw_s += raw_rate(rng, accounts, raw_n, clients, f"{clients}-b")
    connection.close()
    rate = orders / elapsed
    lat = sorted(x for c in group for x in c.latencies)
    label = f"W1 paid orders {clients} {'client' if clients == 1 else 'clients'}"
    report.ratio(f"{label} vs W2 raw", rate, 2 * raw_n / raw_s, TARGET_RAW)
    report.line(f"     {rate:6.1f} paid orders/s  p50 {1000 * percentile(lat, 50):6.1f} ms  p99 "
                f"{1000 * percentile(lat, 99):6.1f} ms per order ({orders} orders, {elapsed:.1f} s); "
                f"drain after the last: {drain:.2f} s (with it: {orders / (elapsed + drain):6.1f}/s)")
    steps = [sum(c.step_s[i] for c in group) / orders for i in range(len(STEPS))]
    report.line("     ms per order by request (sum over clients / orders): " + ", ".join(
        f"{name} {1000 * s:.1f}" for name, s in zip(STEPS, steps, strict=True)))
    db_side = ""
    if commits_before is not None:
        db_side = (f"; PostgreSQL xact_commit {(commits_after - commits_before) / orders:.1f} per order "
                   "(all processes: read-only transactions, worker polls)")
    report.line(f"     load generator CPU {cpu:.1f} s of {elapsed:.1f} s wall{db_side}")


def check_rows(report, expected: int) -> None:
    from clearhouse.orders.models import Order
    from clearhouse.payments.models import PaymentIntent

    paid = Order.objects.filter(customer__user__username__startswith="w1-buyer-", status="paid").count()
    captured = PaymentIntent.objects.filter(status="captured",
                                            order__customer__user__username__startswith="w1-buyer-").count()
    ok = paid == expected == captured
    report.line(f"  W1 check: {paid} orders paid, {captured} payments captured (expected {expected}): "
                f"{'ok' if ok else 'MISMATCH'}")
    if not ok:
        report.mark("W1 orders paid as expected", False)


# --- the counting task worker: `python -m bench.w1_payments db_worker [args]` ------------------------

def worker_main(argv: list[str]) -> int:
    """db_worker with statements counted per task, per claim and (summed) per idle poll."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clearhouse.settings")
    django.setup()
    from django.core.management import call_command
    from django_tasks.signals import task_finished, task_started
    from django_tasks_db.management.commands import db_worker

    from clearhouse.core.query_count import StatementCounter, append

    counter = StatementCounter(keep_sql=os.environ.get("CLEARHOUSE_COUNT_QUERIES_SQL") == "1")
    mark = {"statements": 0, "commits": 0, "autocommit_writes": 0, "sql": 0}
    idle = Counter()

    def segment() -> dict:
        now = {"statements": counter.statements, "commits": counter.commits,
               "autocommit_writes": counter.autocommit_writes, "sql": len(counter.sql or ())}
        row = {k: now[k] - mark[k] for k in ("statements", "commits", "autocommit_writes")}
        if counter.sql is not None:
            row["sql"] = counter.sql[mark["sql"]:]
        mark.update(now)
        return row

    def started(sender, task_result, **kwargs):
        append({"pid": os.getpid(), "method": "CLAIM", "path": f"worker:claim:{task_result.task.module_path}",
                **segment()})

    def finished(sender, task_result, **kwargs):
        append({"pid": os.getpid(), "method": "TASK", "path": f"task:{task_result.task.module_path}",
                "status": str(task_result.status), **segment()})

    class CountingTime:
        """db_worker's `time`, with every idle sleep closing a segment (the poll that found nothing)."""

        def __getattr__(self, name):
            return getattr(time, name)

        @staticmethod
        def sleep(seconds):
            row = segment()
            idle["polls"] += 1
            idle["statements"] += row["statements"]
            time.sleep(seconds)

    task_started.connect(started, weak=False)
    task_finished.connect(finished, weak=False)
    db_worker.time = CountingTime()
    counter.run(lambda: call_command("db_worker", *argv))
    append({"pid": os.getpid(), "method": "IDLE", "path": "worker:idle", "statements": idle["statements"],
            "commits": 0, "autocommit_writes": 0, "polls": idle["polls"]})
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["db_worker"]:
        sys.exit(worker_main(sys.argv[2:]))
    sys.exit("usage: python -m bench.w1_payments db_worker [db_worker options]")
