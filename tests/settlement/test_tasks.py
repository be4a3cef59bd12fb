"""The daily settlement job: registered with the scheduler, enqueued once a day however many schedulers tick, and
running it twice for a day creates nothing twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django_tasks import default_task_backend

from clearhouse.core import scheduler
from clearhouse.core.models import ScheduledRun
from clearhouse.core.scheduler import scheduler_tick
from clearhouse.settlement import tasks
from clearhouse.settlement.models import Statement
from tests.settlement.factories import at, completed_order

T0 = datetime(2026, 11, 23, 0, 0, 5, tzinfo=UTC)


@pytest.fixture
def due_order(weekly_merchant, buyer):
    """The Tea House's order completed on 9 November: due on Monday 23 November."""
    return completed_order(weekly_merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 9)),
                           fee_minor=60)


@pytest.fixture
def today_is(monkeypatch):
    def set_day(day: date) -> None:
        monkeypatch.setattr(tasks.timezone, "localdate", lambda *args: day)

    return set_day


def test_the_settlement_run_is_a_daily_scheduled_job():
    job = {j.name: j for j in scheduler.JOBS}["settlement.run"]
    assert (job.task_path, job.every_s) == ("clearhouse.settlement.tasks.settlement_run_due", 86400)


def test_two_schedulers_ticking_all_day_enqueue_the_run_once_a_day(db, monkeypatch, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    job = {j.name: j for j in scheduler.JOBS}["settlement.run"]
    monkeypatch.setattr(scheduler, "JOBS", [job])
    ticks = [T0 + timedelta(minutes=m) for m in (0, 0, 1, 90, 600, 1439)]
    assert [scheduler_tick(now=t) for t in ticks] == [["settlement.run"], [], [], [], [], []]
    assert scheduler_tick(now=T0 + timedelta(days=1)) == ["settlement.run"]
    assert [r.task.module_path for r in default_task_backend.results] == [job.task_path] * 2
    assert ScheduledRun.objects.filter(job="settlement.run").count() == 2


def test_the_task_settles_what_is_due_today(due_order, today_is, run_day):
    today_is(run_day)
    made = tasks.settlement_run_due.call()
    assert made == {"day": "2026-11-23", "statements_created": 1, "lines_created": 1, "orders_settled": 1,
                    "clawbacks": 0, "blocked_orders": 0}
    statement = Statement.objects.get()
    assert (statement.run_key, statement.created_by) == ("scheduled:2026-11-23", tasks.SCHEDULER_ACTOR)


def test_running_the_task_twice_in_a_day_creates_nothing_twice(due_order, today_is, run_day):
    today_is(run_day)
    tasks.settlement_run_due.call()
    again = tasks.settlement_run_due.call()
    assert (again["statements_created"], again["lines_created"]) == (0, 0)
    assert Statement.objects.count() == 1


def test_on_a_day_no_schedule_is_due_nothing_is_made(due_order, today_is):
    today_is(date(2026, 11, 24))  # a Tuesday
    assert tasks.settlement_run_due.call()["statements_created"] == 0
    assert not Statement.objects.exists()


def test_a_missed_day_can_be_run_later(due_order, today_is):
    today_is(date(2026, 11, 25))
    assert tasks.settlement_run_due.call(day="2026-11-23")["statements_created"] == 1
    assert Statement.objects.get().run_key == "scheduled:2026-11-23"


def test_the_enqueued_task_runs_on_the_worker(due_order, today_is, run_day, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    today_is(run_day)
    result = tasks.settlement_run_due.enqueue()
    assert result.return_value["statements_created"] == 1
