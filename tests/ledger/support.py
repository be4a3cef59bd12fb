"""Small builders for ledger tests: posting lines from readable amounts, row counts."""

from __future__ import annotations

from django.db.models import Count, Sum

from clearhouse.core.money import Money
from clearhouse.ledger.domain import PostingLine
from clearhouse.ledger.models import Account, BalanceBucket, JournalEntry, Posting


def dr(account: Account, amount: str, currency: str | None = None) -> PostingLine:
    """A debit of `amount` (major units, e.g. "12.34") on `account`, in its currency unless given."""
    return PostingLine.debit(account.pk, Money.parse(amount, currency or account.currency))


def cr(account: Account, amount: str, currency: str | None = None) -> PostingLine:
    return PostingLine.credit(account.pk, Money.parse(amount, currency or account.currency))


def money(amount: str, currency: str = "CNY") -> Money:
    return Money.parse(amount, currency)


def ledger_rows() -> dict[str, int]:
    """Everything a refused posting must leave untouched: row counts and cached sums."""
    buckets = BalanceBucket.objects.aggregate(amount=Sum("amount_minor"), count=Sum("posting_count"))
    return {
        "entries": JournalEntry.objects.count(),
        "postings": Posting.objects.count(),
        "buckets": BalanceBucket.objects.count(),
        "bucket_amount": int(buckets["amount"] or 0),
        "bucket_postings": int(buckets["count"] or 0),
    }


def bucket_totals_by_account() -> dict[int, tuple[int, int]]:
    return {
        r["account_id"]: (int(r["amount"]), int(r["n"]))
        for r in BalanceBucket.objects.values("account_id").annotate(amount=Sum("amount_minor"),
                                                                     n=Sum("posting_count"))
    }


def posting_totals_by_account() -> dict[int, tuple[int, int]]:
    return {
        r["account_id"]: (int(r["amount"]), int(r["n"]))
        for r in Posting.objects.values("account_id").annotate(amount=Sum("amount_minor"), n=Count("id"))
    }
