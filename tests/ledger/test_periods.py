"""Accounting periods: no overlap; once closed, nothing is posted with a date inside."""

from __future__ import annotations

from datetime import date

import pytest

from clearhouse.core.errors import InvalidTransition, ValidationFailed
from clearhouse.ledger.domain import PeriodClosed
from clearhouse.ledger.models import AccountingPeriod, PeriodStatus
from clearhouse.ledger.services import journal_entry_post, period_close, period_create
from tests.ledger.support import cr, dr, ledger_rows

NOV_1, NOV_30 = date(2026, 11, 1), date(2026, 11, 30)


@pytest.fixture
def november(db):
    return period_create(name="2026-11", start_date=NOV_1, end_date=NOV_30)


def post_on(accounts, day, key=None):
    return journal_entry_post(idempotency_key=key or f"e:{day}", effective_date=day,
                              lines=[dr(accounts["bank"], "1.00"), cr(accounts["sales"], "1.00")])


def test_a_new_period_is_open(november):
    assert november.status == PeriodStatus.OPEN
    assert november.closed_at is None
    assert str(november) == "2026-11 (2026-11-01 to 2026-11-30, open)"


def test_closing_a_period_records_when_and_by_whom(november, manager):
    closed = period_close(period=november, actor=manager)
    stored = AccountingPeriod.objects.get(pk=november.pk)
    assert stored.status == PeriodStatus.CLOSED
    assert stored.closed_at is not None
    assert stored.closed_by == f"user:{manager.pk} manager"
    assert closed.status == PeriodStatus.CLOSED


def test_closing_a_closed_period_is_refused(november):
    first = period_close(period=november)
    with pytest.raises(InvalidTransition) as exc:
        period_close(period=november)
    assert exc.value.code == "invalid_transition"
    assert AccountingPeriod.objects.get(pk=november.pk).closed_at == first.closed_at


@pytest.mark.parametrize("day", [NOV_1, date(2026, 11, 15), NOV_30])
def test_posting_into_a_closed_period_is_refused(november, accounts_cny, day):
    post_on(accounts_cny, day, key="before-close")
    period_close(period=november)
    before = ledger_rows()
    with pytest.raises(PeriodClosed) as exc:
        post_on(accounts_cny, day)
    assert exc.value.code == "period_closed"
    assert exc.value.http_status == 409
    assert ledger_rows() == before


@pytest.mark.parametrize("day", [date(2026, 10, 31), date(2026, 12, 1)])
def test_posting_outside_a_closed_period_is_fine(november, accounts_cny, day):
    period_close(period=november)
    entry = post_on(accounts_cny, day)
    assert entry.effective_date == day


def test_posting_into_an_open_period_is_fine(november, accounts_cny):
    assert post_on(accounts_cny, date(2026, 11, 15)).pk


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 10, 15), date(2026, 11, 1)),  # ends on its first day
        (date(2026, 11, 30), date(2026, 12, 31)),  # starts on its last day
        (date(2026, 11, 10), date(2026, 11, 20)),  # inside
        (date(2026, 10, 1), date(2026, 12, 31)),  # around
        (NOV_1, NOV_30),  # the same span
    ],
)
def test_overlapping_periods_are_refused(november, start, end):
    with pytest.raises(ValidationFailed) as exc:
        period_create(name="other", start_date=start, end_date=end)
    assert "2026-11" in exc.value.message
    assert exc.value.param == "start_date"
    assert AccountingPeriod.objects.count() == 1


def test_adjacent_periods_are_fine(november):
    period_create(name="2026-10", start_date=date(2026, 10, 1), end_date=date(2026, 10, 31))
    period_create(name="2026-12", start_date=date(2026, 12, 1), end_date=date(2026, 12, 31))
    assert AccountingPeriod.objects.count() == 3


def test_a_period_cannot_end_before_it_starts(db):
    with pytest.raises(ValidationFailed) as exc:
        period_create(name="backwards", start_date=NOV_30, end_date=NOV_1)
    assert exc.value.param == "end_date"
    assert not AccountingPeriod.objects.exists()


def test_a_one_day_period_is_fine(db, accounts_cny):
    day = period_close(period=period_create(name="day", start_date=NOV_1, end_date=NOV_1))
    with pytest.raises(PeriodClosed):
        post_on(accounts_cny, NOV_1)
    assert post_on(accounts_cny, date(2026, 11, 2)).pk
    assert day.status == PeriodStatus.CLOSED


def test_the_database_refuses_an_entry_into_a_closed_period_even_past_the_service_check(accounts_cny):
    """A period closed between the service's check and its insert: the insert trigger still refuses."""
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    from clearhouse.ledger import journal_sql
    from clearhouse.ledger.models import JournalEntry

    period = period_create(name="2026-09", start_date=date(2026, 9, 1), end_date=date(2026, 9, 30))
    period_close(period=period)
    with pytest.raises(IntegrityError, match="period_closed"), transaction.atomic():
        journal_sql.insert_entry(effective_date=date(2026, 9, 15), posted_at=timezone.now(), memo="", source_type="",
                                 source_id="", idempotency_key="late", fingerprint="x", posted_by="", reverses_id=None)
    assert not JournalEntry.objects.filter(idempotency_key="late").exists()
