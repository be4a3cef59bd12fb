"""Reads of the ledger: accounts, entries, balances and the trial balance.

Merchant scoping happens here and only here: pass `merchant_id` for a
merchant-scoped caller and every read is limited to that merchant's
sub-ledger accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet, Sum

from clearhouse.core.errors import NotFound
from clearhouse.core.money import Money
from clearhouse.ledger.models import Account, AccountingPeriod, BalanceBucket, JournalEntry, Posting


def account_list(*, merchant_id: int | None = None, type: str | None = None, currency: str | None = None,
                 code: str | None = None) -> QuerySet[Account]:
    qs = Account.objects.all()
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    if type:
        qs = qs.filter(type=type)
    if currency:
        qs = qs.filter(currency=currency.upper())
    if code:
        qs = qs.filter(code=code)
    return qs.order_by("code", "currency", "id")


def account_get(*, account_id: int, merchant_id: int | None = None) -> Account:
    """An account the caller may see (another merchant's looks like no account at all)."""
    account = account_list(merchant_id=merchant_id).filter(pk=account_id).first()
    if account is None:
        raise NotFound(f"No ledger account {account_id}.", param="account_id")
    return account


def account_balance(*, account: Account, as_of: date | None = None) -> Money:
    """Balance (debits minus credits) of an account, at the end of `as_of` (default: all time)."""
    qs = BalanceBucket.objects.filter(account_id=account.pk)
    if as_of is not None:
        qs = qs.filter(effective_date__lte=as_of)
    total = qs.aggregate(total=Sum("amount_minor"))["total"] or 0
    return Money(int(total), account.currency)


@dataclass(frozen=True)
class BalanceRow:
    """One account's line in a balance list or trial balance."""

    account: Account
    balance: Money

    @property
    def debit(self) -> Money:
        return self.balance if self.balance.minor > 0 else Money.zero(self.balance.currency)

    @property
    def credit(self) -> Money:
        return -self.balance if self.balance.minor < 0 else Money.zero(self.balance.currency)


def balances(*, as_of: date | None = None, merchant_id: int | None = None, currency: str | None = None,
             customer_id: int | None = None, include_zero: bool = False) -> list[BalanceRow]:
    """Balance of every account (of a party, of a currency) as of a date. One aggregate query."""
    bucket_filter = Q()
    if as_of is not None:
        bucket_filter &= Q(effective_date__lte=as_of)
    sums = BalanceBucket.objects.filter(bucket_filter)
    accounts = account_list(merchant_id=merchant_id, currency=currency)
    if customer_id is not None:
        accounts = accounts.filter(customer_id=customer_id)
    sums = sums.filter(account__in=accounts).values("account_id").annotate(total=Sum("amount_minor"))
    totals = {row["account_id"]: int(row["total"] or 0) for row in sums}
    rows = []
    for account in accounts.select_related("merchant", "customer"):
        total = totals.get(account.pk, 0)
        if total or include_zero:
            rows.append(BalanceRow(account, Money(total, account.currency)))
    return rows


@dataclass(frozen=True)
class TrialBalance:
    """Debit and credit balances of every account; per currency, the columns agree."""

    as_of: date | None
    rows: list[BalanceRow]

    def totals(self) -> dict[str, tuple[Money, Money]]:
        out: dict[str, tuple[Money, Money]] = {}
        for row in self.rows:
            cur = row.balance.currency
            debit, credit = out.get(cur, (Money.zero(cur), Money.zero(cur)))
            out[cur] = (debit + row.debit, credit + row.credit)
        return out

    @property
    def is_balanced(self) -> bool:
        return all(debit == credit for debit, credit in self.totals().values())


def trial_balance(*, as_of: date | None = None, currency: str | None = None) -> TrialBalance:
    return TrialBalance(as_of, balances(as_of=as_of, currency=currency))


def entry_list(*, merchant_id: int | None = None, account_id: int | None = None, source_type: str | None = None,
               source_id: str | None = None, effective_from: date | None = None,
               effective_to: date | None = None) -> QuerySet[JournalEntry]:
    qs = JournalEntry.objects.all()
    if merchant_id is not None:
        qs = qs.filter(pk__in=Posting.objects.filter(account__merchant_id=merchant_id).values("entry_id"))
    if account_id is not None:
        qs = qs.filter(pk__in=Posting.objects.filter(account_id=account_id).values("entry_id"))
    if source_type:
        qs = qs.filter(source_type=source_type)
    if source_id:
        qs = qs.filter(source_id=source_id)
    if effective_from:
        qs = qs.filter(effective_date__gte=effective_from)
    if effective_to:
        qs = qs.filter(effective_date__lte=effective_to)
    return qs.order_by("-id")


def entry_get(*, entry_id: int, merchant_id: int | None = None) -> JournalEntry:
    entry = entry_list(merchant_id=merchant_id).filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(f"No journal entry {entry_id}.", param="entry_id")
    return entry


def entry_postings(entries: list[JournalEntry], *, merchant_id: int | None = None) -> dict[int, list[Posting]]:
    """Postings of the given entries (a merchant sees only its own accounts' lines)."""
    qs = Posting.objects.filter(entry_id__in=[e.pk for e in entries]).select_related("account")
    if merchant_id is not None:
        qs = qs.filter(account__merchant_id=merchant_id)
    out: dict[int, list[Posting]] = {e.pk: [] for e in entries}
    for posting in qs.order_by("entry_id", "id"):
        out[posting.entry_id].append(posting)
    return out


def period_list() -> QuerySet[AccountingPeriod]:
    return AccountingPeriod.objects.order_by("start_date")


def period_get(*, period_id: int) -> AccountingPeriod:
    period = AccountingPeriod.objects.filter(pk=period_id).first()
    if period is None:
        raise NotFound(f"No accounting period {period_id}.", param="period_id")
    return period
