"""The scheduler: each periodic job is enqueued once per period, however many times or places it ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django_tasks import default_task_backend, task

from clearhouse.core import scheduler
from clearhouse.core.models import ScheduledRun
from clearhouse.core.scheduler import Job, schedule_register, scheduler_tick

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 14, 0, 0, tzinfo=UTC)  # a whole minute: 14:00:00 starts a 60 s period


@task()
def sweep() -> int:
    """A stand-in periodic job."""
    return 0


@task()
def daily_report() -> int:
    return 0


@pytest.fixture(autouse=True)
def jobs(monkeypatch, settings):
    """An empty registry (the apps' real jobs stay out of these tests) and a backend that only records."""
    monkeypatch.setattr(scheduler, "JOBS", [])
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    return scheduler.JOBS


def enqueued_paths() -> list[str]:
    return [result.task.module_path for result in default_task_backend.results]


def test_two_ticks_in_one_period_enqueue_the_job_once():
    schedule_register(name="sweep", task_path="tests.core.test_scheduler.sweep", every_s=60)
    assert scheduler_tick(now=T0) == ["sweep"]
    assert scheduler_tick(now=T0 + timedelta(seconds=59)) == []
    assert enqueued_paths() == ["tests.core.test_scheduler.sweep"]


def test_the_next_period_enqueues_again():
    schedule_register(name="sweep", task_path="tests.core.test_scheduler.sweep", every_s=60)
    scheduler_tick(now=T0 + timedelta(seconds=30))
    assert scheduler_tick(now=T0 + timedelta(seconds=60)) == ["sweep"]
    assert len(enqueued_paths()) == 2
    assert list(ScheduledRun.objects.order_by("period_key").values_list("job", "period_key")) == [
        ("sweep", int(T0.timestamp()) // 60), ("sweep", int(T0.timestamp()) // 60 + 1)]


def test_jobs_keep_their_own_periods():
    schedule_register(name="sweep", task_path="tests.core.test_scheduler.sweep", every_s=60)
    schedule_register(name="daily", task_path="tests.core.test_scheduler.daily_report", every_s=86400)
    assert scheduler_tick(now=T0) == ["sweep", "daily"]
    assert scheduler_tick(now=T0 + timedelta(minutes=1)) == ["sweep"]
    assert scheduler_tick(now=T0 + timedelta(hours=9, minutes=59)) == ["sweep"]  # still 23 November (UTC)
    assert scheduler_tick(now=datetime(2026, 11, 24, 0, 0, 5, tzinfo=UTC)) == ["sweep", "daily"]


def test_a_run_another_scheduler_already_inserted_is_not_enqueued_again():
    # Two schedulers racing: the other one's row is there first; our INSERT hits the unique constraint.
    job = schedule_register(name="sweep", task_path="tests.core.test_scheduler.sweep", every_s=60)
    ScheduledRun.objects.create(job="sweep", period_key=job.period_key(T0), enqueued_at=T0)
    assert scheduler_tick(now=T0) == []
    assert enqueued_paths() == []
    assert ScheduledRun.objects.count() == 1


def test_a_failed_enqueue_leaves_no_run_so_the_next_tick_retries(monkeypatch):
    schedule_register(name="sweep", task_path="tests.core.test_scheduler.sweep", every_s=60)

    def refuse(*args, **kwargs):
        raise ConnectionError("task queue down")

    with monkeypatch.context() as m:
        m.setattr(type(sweep.get_backend()), "enqueue", refuse)
        assert scheduler_tick(now=T0) == []
    assert not ScheduledRun.objects.exists()
    assert scheduler_tick(now=T0) == ["sweep"]


def test_a_broken_job_does_not_stop_the_others():
    schedule_register(name="broken", task_path="tests.core.test_scheduler.no_such_task", every_s=60)
    schedule_register(name="sweep", task_path="tests.core.test_scheduler.sweep", every_s=60)
    assert scheduler_tick(now=T0) == ["sweep"]


def test_old_runs_are_pruned_once_past_the_history():
    schedule_register(name="sweep", task_path="tests.core.test_scheduler.sweep", every_s=60)
    scheduler_tick(now=T0)
    scheduler_tick(now=T0 + scheduler.RUN_HISTORY + timedelta(minutes=1))
    assert ScheduledRun.objects.count() == 1


def test_registering_is_idempotent_but_a_name_cannot_change_meaning(jobs):
    first = schedule_register(name="sweep", task_path="tests.core.test_scheduler.sweep", every_s=60)
    assert schedule_register(name="sweep", task_path="tests.core.test_scheduler.sweep", every_s=60) is first
    assert jobs == [Job(name="sweep", task_path="tests.core.test_scheduler.sweep", every_s=60)]
    with pytest.raises(ValueError, match="already registered"):
        schedule_register(name="sweep", task_path="tests.core.test_scheduler.sweep", every_s=120)
    with pytest.raises(ValueError, match="every_s"):
        schedule_register(name="never", task_path="tests.core.test_scheduler.sweep", every_s=0)


def test_the_command_ticks_once_and_reports_what_it_enqueued(capsys):
    schedule_register(name="sweep", task_path="tests.core.test_scheduler.sweep", every_s=60)
    call_command("scheduler", "--once")
    call_command("scheduler", "--once")
    out = capsys.readouterr().out
    assert out.count("enqueued: sweep") == 1


def test_the_apps_register_their_sweeps(monkeypatch):
    # The real registry, filled by the apps' ready(): nothing in core names another app.
    monkeypatch.undo()
    names = {job.name: job for job in scheduler.JOBS}
    assert names["orders.expire_unpaid"].task_path == "clearhouse.orders.tasks.expire_unpaid_orders"
    assert names["inventory.release_expired_reservations"].every_s == 60
    assert names["customers.points_expire"].every_s == 86400
