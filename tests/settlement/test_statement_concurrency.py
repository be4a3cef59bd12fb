"""Exactly once under concurrency, on PostgreSQL with real row locks: one confirmation (one entry), one payout
(one entry, one stored voucher), and a confirm racing a dispute ends in one of the two, never both."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.core.files.base import ContentFile

from clearhouse.core.errors import DomainError
from clearhouse.ledger.models import JournalEntry
from clearhouse.ledger.verify import ledger_verify
from clearhouse.settlement.models import Statement, StatementEvent
from clearhouse.settlement.services import statement_confirm, statement_dispute, statement_record_payout
from clearhouse.settlement.verify import settlement_verify
from tests.settlement.lifecycle_support import (  # noqa: F401 (fixture)
    PDF,
    due_balance,
    media_root,
    merchant_principal,
    order_line,
    statement_make,
)
from tests.support import run_threads

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("media_root")]
LINES = [order_line(order_id=1, collected=10000, service_fee=500, payment_fee=60)]
NET = 9440


def codes(errors) -> set[str]:
    assert all(isinstance(e, DomainError) for e in errors), errors
    return {e.code for e in errors}


def test_twenty_concurrent_confirmations_confirm_once_and_post_once(merchant):
    statement = statement_make(merchant, number="ST-C", lines=LINES)
    staff = merchant_principal(merchant, "tea")

    results, errors = run_threads(20, lambda i: statement_confirm(statement=statement, actor=staff).status)
    assert [r for r in results if r] == ["confirmed"]
    assert len(errors) == 19 and codes(errors) == {"invalid_transition"}
    assert Statement.objects.get(pk=statement.pk).status == "confirmed"
    assert StatementEvent.objects.filter(statement=statement, type="confirmed").count() == 1
    assert JournalEntry.objects.filter(idempotency_key="statement_confirmed:ST-C").count() == 1
    assert due_balance(merchant) == -NET
    assert ledger_verify().ok and settlement_verify() == []


def test_ten_concurrent_payouts_pay_once_and_keep_one_voucher(merchant, manager):
    statement = statement_make(merchant, number="ST-P", lines=LINES)
    statement_confirm(statement=statement, actor=merchant_principal(merchant, "tea"))

    def pay(i: int):
        return statement_record_payout(statement=statement, amount_minor=NET, payout_date=date(2026, 11, 20),
                                       reference=f"REF-{i}", voucher=ContentFile(PDF), actor=manager).status

    results, errors = run_threads(10, pay)
    assert [r for r in results if r] == ["paid"]
    assert len(errors) == 9 and codes(errors) == {"invalid_transition"}
    assert JournalEntry.objects.filter(idempotency_key="merchant_paid_out:ST-P").count() == 1
    assert len([p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]) == 1
    assert due_balance(merchant) == 0
    assert ledger_verify().ok and settlement_verify() == []


def test_a_confirmation_racing_a_dispute_ends_in_exactly_one(merchant):
    statement = statement_make(merchant, number="ST-R", lines=LINES)
    staff = merchant_principal(merchant, "tea")

    def act(i: int):
        if i % 2:
            return statement_dispute(statement=statement, reason="Wrong", actor=staff).status
        return statement_confirm(statement=statement, actor=staff).status

    results, errors = run_threads(10, act)
    winners = [r for r in results if r]
    assert len(winners) == 1 and len(errors) == 9
    assert codes(errors) <= {"invalid_transition", "statement_locked"}
    final = Statement.objects.get(pk=statement.pk).status
    assert final == winners[0]
    assert StatementEvent.objects.filter(statement=statement).count() == 1
    assert JournalEntry.objects.count() == (1 if final == "confirmed" else 0)
