"""Property tests against the database: whatever balanced entries are posted, the books agree.

Each example runs in its own savepoint, rolled back at the end, so examples
do not see one another's entries.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearhouse.core.money import Money
from clearhouse.ledger.domain import PostingLine
from clearhouse.ledger.models import JournalEntry
from clearhouse.ledger.selectors import account_balance, trial_balance
from clearhouse.ledger.services import account_create, journal_entry_post, journal_entry_reverse
from clearhouse.ledger.verify import ledger_verify
from tests.ledger.support import bucket_totals_by_account, ledger_rows, posting_totals_by_account

START = date(2026, 11, 1)
DB_PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def chart(db):
    """Three accounts in CNY, two in JPY: entries may touch both currencies."""
    return {
        "CNY": [account_create(code=f"{i}", name=f"CNY {i}", type="asset", currency="CNY") for i in range(3)],
        "JPY": [account_create(code=f"{i}", name=f"JPY {i}", type="asset", currency="JPY") for i in range(2)],
    }


def balanced_part(currency: str, accounts: int):
    """Lines of one currency that sum to zero: some debits, one or two credits taking them back."""
    return st.tuples(
        st.lists(st.tuples(st.integers(0, accounts - 1), st.integers(1, 10**9)), min_size=1, max_size=4),
        st.lists(st.integers(0, accounts - 1), min_size=1, max_size=2),
        st.just(currency),
    )


entry_shapes = st.lists(
    st.tuples(
        st.integers(0, 6),  # day offset
        st.booleans(),  # flip signs
        balanced_part("CNY", 3),
        st.none() | balanced_part("JPY", 2),
    ),
    min_size=1,
    max_size=8,
)


def lines_for(chart, flip, *parts) -> list[PostingLine]:
    lines = []
    for part in parts:
        if part is None:
            continue
        debits, creditors, currency = part
        total = sum(amount for _, amount in debits)
        if total < len(creditors):
            creditors = creditors[:1]
        accounts = chart[currency]
        lines += [PostingLine.debit(accounts[i].pk, Money(amount, currency)) for i, amount in debits]
        shares = Money(total, currency).allocate([1] * len(creditors))
        lines += [PostingLine.credit(accounts[i].pk, share) for i, share in zip(creditors, shares, strict=True)]
    return [PostingLine(line.account_id, -line.amount) for line in lines] if flip else lines


@DB_PROPERTY
@given(shapes=entry_shapes)
def test_random_balanced_entries_keep_the_books_agreeing(chart, shapes):
    with transaction.atomic():
        entries = []
        for n, (offset, flip, cny, jpy) in enumerate(shapes):
            day = START + timedelta(days=offset)
            entries.append(journal_entry_post(idempotency_key=f"p{n}", effective_date=day,
                                              lines=lines_for(chart, flip, cny, jpy)))
        # A replay of every entry changes nothing.
        before = ledger_rows()
        for n, (offset, flip, cny, jpy) in enumerate(shapes):
            again = journal_entry_post(idempotency_key=f"p{n}", effective_date=START + timedelta(days=offset),
                                       lines=lines_for(chart, flip, cny, jpy))
            assert again.pk == entries[n].pk
        assert ledger_rows() == before

        assert bucket_totals_by_account() == posting_totals_by_account()
        for offset in range(-1, 8):
            assert trial_balance(as_of=START + timedelta(days=offset)).is_balanced
        for currency, accounts in chart.items():
            assert sum(account_balance(account=a).minor for a in accounts) == 0, currency
        assert ledger_verify().ok
        transaction.set_rollback(True)


@DB_PROPERTY
@given(shapes=entry_shapes, reverse=st.lists(st.booleans(), min_size=8, max_size=8))
def test_reversing_any_entries_leaves_exactly_the_others(chart, shapes, reverse):
    with transaction.atomic():
        expected: dict[int, int] = {}
        for n, (offset, flip, cny, jpy) in enumerate(shapes):
            lines = lines_for(chart, flip, cny, jpy)
            entry = journal_entry_post(idempotency_key=f"p{n}", effective_date=START + timedelta(days=offset),
                                       lines=lines)
            if reverse[n]:
                journal_entry_reverse(entry=entry, effective_date=START + timedelta(days=7))
            else:
                for line in lines:
                    expected[line.account_id] = expected.get(line.account_id, 0) + line.amount.minor
        for accounts in chart.values():
            for account in accounts:
                assert account_balance(account=account).minor == expected.get(account.pk, 0)
        assert JournalEntry.objects.filter(reverses__isnull=False).count() == sum(reverse[: len(shapes)])
        assert trial_balance().is_balanced
        assert ledger_verify().ok
        transaction.set_rollback(True)
