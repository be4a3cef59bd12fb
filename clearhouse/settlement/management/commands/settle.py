"""`clearhouse settle [--date YYYY-MM-DD] [--dry-run] [--merchant CODE ...]`: run the schedules due on a day.

Prints what the run made (statements, lines, orders, clawbacks, blocked
orders); with `--dry-run`, what it would make per merchant, writing nothing.
On a terminal a progress bar follows the run; piped or in cron it stays quiet.
Running it twice for one day makes nothing twice. Exit 0; a bad date or an
unknown merchant exits 2 with a message.
"""

from __future__ import annotations

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clearhouse.accounts.models import Merchant
from clearhouse.core.money import Money
from clearhouse.settlement.models import Statement
from clearhouse.settlement.services import RunResult, settlement_run

USAGE_ERROR = 2
BAR_WIDTH = 30
PREVIEW_AMOUNTS = ("collected_minor", "service_fee_minor", "payment_fee_minor", "refunds_minor",
                   "carried_forward_minor", "net_minor")


class ProgressBar:
    """A one-line text bar redrawn in place (`\\r`); silent unless the stream is a terminal."""

    def __init__(self, stream, *, enabled: bool):
        self.stream = stream
        self.enabled = enabled
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        done = max(0, min(done, total))
        filled = BAR_WIDTH * done // total
        self.stream.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {100 * done // total:3d}% "
                          f"{done}/{total}")
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _date(text: str | None) -> date:
    if text is None:
        return timezone.localdate()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--date {text!r} is not a valid date: write it YYYY-MM-DD (e.g. 2026-11-23).",
                           returncode=USAGE_ERROR) from None


def _merchant_ids(codes: list[str] | None) -> list[int] | None:
    if not codes:
        return None
    found = dict(Merchant.objects.filter(code__in=codes).values_list("code", "pk"))
    missing = [c for c in codes if c not in found]
    if missing:
        raise CommandError(f"No merchant {', '.join(missing)}.", returncode=USAGE_ERROR)
    return sorted(set(found.values()))


def _money(minor, currency: str) -> str:
    return Money(int(minor or 0), currency).to_string()


class Command(BaseCommand):
    help = "Run the settlement schedules due on a day: generate statements (or, --dry-run, preview them)."

    def add_arguments(self, parser):
        parser.add_argument("--date", dest="day", metavar="YYYY-MM-DD",
                            help="The run day (default: today in the platform's time zone).")
        parser.add_argument("--dry-run", action="store_true", help="Show what would be made; write nothing.")
        parser.add_argument("--merchant", action="append", metavar="CODE",
                            help="Only this merchant (repeat for more).")

    def handle(self, *args, day: str | None = None, dry_run: bool = False, merchant: list[str] | None = None,
               **options):
        run_day = _date(day)
        merchant_ids = _merchant_ids(merchant)
        bar = ProgressBar(sys.stderr, enabled=sys.stderr.isatty() and self.stdout.isatty())
        try:
            result = settlement_run(day=run_day, dry_run=dry_run, merchant_ids=merchant_ids, progress=bar,
                                    actor="system:clearhouse settle")
        finally:
            bar.finish()
        if dry_run:
            self._preview(result)
        else:
            self._made(result)

    def _summary(self, result: RunResult) -> str:
        return (f"{result.statements_created} statement(s), {result.lines_created} line(s), "
                f"{result.orders_settled} order(s), {result.clawbacks} clawback(s), "
                f"{result.blocked_orders} blocked order(s)")

    def _made(self, result: RunResult) -> None:
        self.stdout.write(f"settlement run for {result.day.isoformat()}: {self._summary(result)}")
        statements = Statement.objects.filter(pk__in=result.statement_ids).select_related("merchant").order_by("id")
        for s in statements:
            self.stdout.write(f"  {s.number}  {s.merchant.code}  {s.currency}  {s.line_count} line(s)  "
                              f"net {_money(s.net_minor, s.currency)}  ({s.status})")
        if result.blocked_orders:
            self.stdout.write(self.style.WARNING(
                f"  {result.blocked_orders} order(s) blocked (no fee rule): see /finance/settlement/blocked/ "
                f"or GET /api/v1/settlement/blocked-orders"))

    def _preview(self, result: RunResult) -> None:
        self.stdout.write(f"dry run for {result.day.isoformat()} (nothing written): would make "
                          f"{self._summary(result)}")
        codes = dict(Merchant.objects.filter(pk__in={p.get("merchant_id") for p in result.preview})
                     .values_list("pk", "code"))
        for p in result.preview:
            currency = p.get("currency", "")
            amounts = "  ".join(f"{name.removesuffix('_minor').replace('_', ' ')} {_money(p[name], currency)}"
                                for name in PREVIEW_AMOUNTS if name in p)
            counts = "  ".join(f"{p[name]} {name.removesuffix('s')}(s)" for name in ("orders", "clawbacks")
                               if name in p)
            self.stdout.write(f"  {codes.get(p.get('merchant_id'), p.get('merchant_id'))}  {currency}  {counts}  "
                              f"{amounts}".rstrip())
