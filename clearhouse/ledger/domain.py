"""Ledger rules with no I/O: what makes an entry valid, and its fingerprint.

Imports nothing from Django, so these rules are tested without a database.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from clearhouse.core.errors import DomainError, ValidationFailed
from clearhouse.core.money import Money


class UnbalancedEntry(DomainError):
    code = "unbalanced_entry"
    default_message = "Debits and credits of the entry do not balance."


class AccountNotFound(DomainError):
    code = "account_not_found"
    http_status = 400
    default_message = "No such ledger account."


class AccountInactive(DomainError):
    code = "account_inactive"
    default_message = "The ledger account is inactive."


class PeriodClosed(DomainError):
    code = "period_closed"
    http_status = 409
    default_message = "The effective date falls in a closed accounting period."


class EntryAlreadyReversed(DomainError):
    code = "entry_already_reversed"
    http_status = 409
    default_message = "This entry has already been reversed."


@dataclass(frozen=True, slots=True)
class PostingLine:
    """A posting to be made: a signed amount on an account (debit > 0)."""

    account_id: int
    amount: Money

    @classmethod
    def debit(cls, account_id: int, amount: Money) -> PostingLine:
        return cls(account_id, amount)

    @classmethod
    def credit(cls, account_id: int, amount: Money) -> PostingLine:
        return cls(account_id, -amount)


def check_lines(lines: Sequence[PostingLine]) -> None:
    """An entry has at least two non-zero lines that sum to zero per currency."""
    if len(lines) < 2:
        raise UnbalancedEntry("A journal entry needs at least two postings.", param="postings")
    totals: dict[str, int] = defaultdict(int)
    for i, line in enumerate(lines):
        if not isinstance(line.amount, Money):
            raise ValidationFailed("Posting amounts must be Money.", param=f"postings[{i}].amount")
        if line.amount.minor == 0:
            raise ValidationFailed("A posting cannot be zero.", param=f"postings[{i}].amount")
        totals[line.amount.currency] += line.amount.minor
    off = {cur: total for cur, total in totals.items() if total != 0}
    if off:
        detail = ", ".join(f"{cur} off by {Money(total, cur).to_string()}" for cur, total in sorted(off.items()))
        raise UnbalancedEntry(f"Debits and credits do not balance: {detail}.", param="postings")


def reversal_lines(lines: Iterable[PostingLine]) -> list[PostingLine]:
    return [PostingLine(line.account_id, -line.amount) for line in lines]


def entry_fingerprint(
    *, effective_date: date, memo: str, source_type: str, source_id: str,
    lines: Iterable[tuple[int, int, str]],
) -> str:
    """SHA-256 of an entry's meaning: date, memo, source and sorted postings.

    `lines` are (account_id, amount_minor, currency). Order of postings does
    not matter; any change of amount, account or currency changes the hash.
    """
    body = {
        "effective_date": effective_date.isoformat(),
        "memo": memo,
        "source": [source_type, source_id],
        "postings": sorted([int(a), int(m), c] for a, m, c in lines),
    }
    return hashlib.sha256(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()

