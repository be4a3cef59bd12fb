"""`clearhouse settle`: runs the schedules due on a day, says what it made, previews with --dry-run, and refuses
a bad date with exit code 2.

The world (conftest): the Tea House settles weekly on Mondays, orders eligible 7 days after completion; run day
Monday 2026-11-23.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import call_command

from clearhouse.cli import main
from clearhouse.settlement.management.commands import settle
from clearhouse.settlement.models import Statement
from tests.settlement.factories import at, completed_order, make_business_type, make_merchant, settlement_row_counts


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def orders(weekly_merchant, other_merchant, buyer):
    """Two of the Tea House's orders due on the run day, one too recent; the Noodle Bar has no schedule."""
    return [completed_order(weekly_merchant, buyer, subtotal_minor=minor, completed_at=at(day), fee_minor=fee)
            for minor, day, fee in ((10000, date(2026, 11, 9), 60), (5000, date(2026, 11, 12), 30),
                                    (7000, date(2026, 11, 20), 42))]


@pytest.fixture
def cli(monkeypatch):
    """`clearhouse ...` in this process; Django's command runner closes every connection when it ends, which
    would take the test's transaction with it, so that is skipped here."""
    from django.core.management import base

    monkeypatch.setattr(base.connections, "close_all", lambda: None)
    return main


def _settle(*args: str) -> str:
    out = io.StringIO()
    call_command("settle", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_settle_runs_the_due_schedules_and_says_what_it_made(orders, run_day):
    out = _settle("--date", run_day.isoformat())
    statement = Statement.objects.get()
    assert "settlement run for 2026-11-23: 1 statement(s), 2 line(s), 2 order(s), 0 clawback(s), " \
           "0 blocked order(s)" in out
    assert statement.number in out and "teahouse" in out and "net 148.20" in out  # 150.00 - 0.90 - 0.90
    assert statement.status == "draft" and statement.line_count == 2


def test_settling_a_day_twice_makes_nothing_twice(orders, run_day):
    _settle("--date", run_day.isoformat())
    out = _settle("--date", run_day.isoformat())
    assert "0 statement(s), 0 line(s)" in out
    assert Statement.objects.count() == 1


def test_a_dry_run_shows_each_merchant_and_writes_nothing(orders, run_day):
    before = settlement_row_counts()
    out = _settle("--date", run_day.isoformat(), "--dry-run")
    assert "dry run for 2026-11-23 (nothing written): would make 1 statement(s)" in out
    [row] = [line for line in out.splitlines() if line.startswith("  teahouse")]
    assert "CNY" in row and "2 order(s)" in row and "net 148.20" in row and "service fee 0.90" in row
    assert settlement_row_counts() == before


def test_blocked_orders_are_counted_and_pointed_at(orders, run_day, buyer):
    from tests.settlement.factories import weekly_schedule

    crafts = make_merchant("papercut", business_type=make_business_type("crafts"))
    weekly_schedule(crafts, weekday=0)
    completed_order(crafts, buyer, subtotal_minor=2000, completed_at=at(date(2026, 11, 2)))
    out = _settle("--date", run_day.isoformat())
    assert "1 blocked order(s)" in out and "order(s) blocked (no fee rule)" in out


def test_only_the_merchants_named(orders, run_day):
    out = _settle("--date", run_day.isoformat(), "--merchant", "noodles")
    assert "0 statement(s)" in out and Statement.objects.count() == 0
    _settle("--date", run_day.isoformat(), "--merchant", "teahouse")
    assert Statement.objects.count() == 1


def test_the_day_defaults_to_today_in_the_platforms_time_zone(orders, run_day, monkeypatch):
    monkeypatch.setattr(settle.timezone, "localdate", lambda *args: run_day)
    assert "settlement run for 2026-11-23: 1 statement(s)" in _settle()


def test_a_terminal_sees_a_progress_bar(orders, run_day, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(settle.sys, "stderr", terminal)
    call_command("settle", "--date", run_day.isoformat(), stdout=Terminal())
    bar = terminal.getvalue()
    assert "\r[" in bar and "100%" in bar and bar.endswith("\n")
    assert "#" * settle.BAR_WIDTH in bar


def test_piped_output_has_no_progress_bar(orders, run_day, monkeypatch):
    stderr = io.StringIO()
    monkeypatch.setattr(settle.sys, "stderr", stderr)
    out = _settle("--date", run_day.isoformat())
    assert stderr.getvalue() == "" and "\r" not in out


def test_the_progress_bar_draws_fractions():
    stream = Terminal()
    bar = settle.ProgressBar(stream, enabled=True)
    bar(1, 4)
    bar(4, 4)
    bar.finish()
    first, last = stream.getvalue().split("\r")[1:]
    assert first.startswith("[" + "#" * 7 + "." * 23 + "]  25% 1/4")
    assert last.startswith("[" + "#" * 30 + "] 100% 4/4")


def test_clearhouse_settle_exits_0(orders, run_day, capsys, cli):
    assert cli(["settle", "--date", run_day.isoformat()]) == 0
    assert "1 statement(s)" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-02-30", "23/11/2026", "yesterday", ""])
def test_a_bad_date_is_refused_with_exit_code_2(db, bad, capsys, cli):
    with pytest.raises(SystemExit) as exit_:
        cli(["settle", "--date", bad])
    assert exit_.value.code == 2
    assert "is not a valid date: write it YYYY-MM-DD" in capsys.readouterr().err
    assert Statement.objects.count() == 0


def test_an_unknown_merchant_is_refused_with_exit_code_2(db, capsys, cli):
    with pytest.raises(SystemExit) as exit_:
        cli(["settle", "--date", "2026-11-23", "--merchant", "nobody"])
    assert exit_.value.code == 2 and "No merchant nobody" in capsys.readouterr().err
