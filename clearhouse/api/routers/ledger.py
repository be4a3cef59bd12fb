"""Ledger endpoints: accounts, entries, reversals, balances, trial balance, periods."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import WithJsonSchema

from clearhouse.accounts.models import Merchant
from clearhouse.accounts.roles import CLOSE_PERIOD, MANAGE_ACCOUNTS, POST_ENTRY, REVERSE_ENTRY, VIEW_LEDGER
from clearhouse.api.pagination import Page, paginate
from clearhouse.api.schemas import IsoDate, RequestBody
from clearhouse.core.errors import NotFound, PermissionDenied
from clearhouse.core.money import Money
from clearhouse.ledger import selectors, services
from clearhouse.ledger.domain import PostingLine
from clearhouse.ledger.models import AccountType

router = Router(tags=["ledger"])

MAX_ID = 2**63 - 1  # ids are 64-bit; anything larger is a 400, not a database error
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]

AmountString = Annotated[
    Any,
    WithJsonSchema({"type": "string", "example": "-12.34",
                    "description": "Decimal string in major units; debit > 0, credit < 0. Never a float."}),
]


# --- schemas -----------------------------------------------------------------
class AccountIn(RequestBody):
    code: str = Field(..., max_length=50, examples=["1000.main"])
    name: str = Field(..., max_length=200)
    type: AccountType
    currency: str = Field(..., min_length=3, max_length=3, examples=["CNY"])
    merchant: str | None = Field(None, description="Merchant code: makes this that merchant's sub-ledger account")


class AccountOut(Schema):
    id: int
    code: str
    name: str
    type: str
    currency: str
    merchant: str | None
    customer_id: int | None
    is_active: bool


class PostingIn(RequestBody):
    account_id: Id
    amount: AmountString
    currency: str = Field(..., min_length=1, max_length=3)


class EntryIn(RequestBody):
    effective_date: IsoDate
    memo: str = Field("", max_length=500)
    source_type: str = Field("", max_length=50)
    source_id: str = Field("", max_length=100)
    idempotency_key: str | None = Field(
        None, max_length=200,
        description="Key of the source event; defaults to the request's Idempotency-Key header",
    )
    postings: list[PostingIn] = Field(..., min_length=1, max_length=500)


class PostingOut(Schema):
    id: int
    account_id: int
    account_code: str
    amount: str
    amount_minor: int
    currency: str


class EntryOut(Schema):
    id: int
    effective_date: date
    posted_at: str
    memo: str
    source_type: str
    source_id: str
    idempotency_key: str
    posted_by: str
    reverses_id: int | None
    postings: list[PostingOut]


class ReverseIn(RequestBody):
    effective_date: IsoDate | None = None
    memo: str = Field("", max_length=500)


class BalanceOut(Schema):
    account_id: int
    account_code: str
    account_name: str
    account_type: str
    merchant: str | None
    currency: str
    balance: str
    balance_minor: int
    debit: str
    credit: str


class TrialBalanceTotal(Schema):
    currency: str
    debit: str
    credit: str
    balanced: bool


class TrialBalanceOut(Schema):
    as_of: date | None
    rows: list[BalanceOut]
    totals: list[TrialBalanceTotal]
    balanced: bool


class PeriodIn(RequestBody):
    name: str = Field(..., max_length=50, examples=["2026-10"])
    start_date: IsoDate
    end_date: IsoDate


class PeriodOut(Schema):
    id: int
    name: str
    start_date: date
    end_date: date
    status: str
    closed_at: str | None
    closed_by: str


# --- mapping -----------------------------------------------------------------
def _account_out(account) -> dict:
    return dict(id=account.pk, code=account.code, name=account.name, type=account.type,
                currency=account.currency, merchant=account.merchant.code if account.merchant_id else None,
                customer_id=account.customer_id, is_active=account.is_active)


def _entries_out(entries, merchant_id) -> list[dict]:
    postings = selectors.entry_postings(entries, merchant_id=merchant_id)
    return [
        dict(
            id=e.pk, effective_date=e.effective_date, posted_at=e.posted_at.isoformat(), memo=e.memo,
            source_type=e.source_type, source_id=e.source_id, idempotency_key=e.idempotency_key,
            posted_by=e.posted_by, reverses_id=e.reverses_id,
            postings=[
                dict(id=p.pk, account_id=p.account_id, account_code=p.account.code,
                     amount=Money(p.amount_minor, p.currency).to_string(), amount_minor=p.amount_minor,
                     currency=p.currency)
                for p in postings[e.pk]
            ],
        )
        for e in entries
    ]


def _balance_out(row) -> dict:
    a = row.account
    return dict(account_id=a.pk, account_code=a.code, account_name=a.name, account_type=a.type,
                merchant=a.merchant.code if a.merchant_id else None, currency=a.currency,
                balance=row.balance.to_string(), balance_minor=row.balance.minor,
                debit=row.debit.to_string(), credit=row.credit.to_string())


def _period_out(p) -> dict:
    return dict(id=p.pk, name=p.name, start_date=p.start_date, end_date=p.end_date, status=p.status,
                closed_at=p.closed_at.isoformat() if p.closed_at else None, closed_by=p.closed_by)


def _merchant_by_code(code: str | None) -> Merchant | None:
    if not code:
        return None
    merchant = Merchant.objects.filter(code=code).first()
    if merchant is None:
        raise NotFound(f"No merchant {code!r}.", param="merchant")
    return merchant


# --- accounts ------------------------------------------------------------------
@router.post("/accounts", response={201: AccountOut}, summary="Open a ledger account")
def create_account(request, payload: AccountIn):
    principal = request.auth
    principal.require(MANAGE_ACCOUNTS)
    if principal.merchant_id is not None:
        raise PermissionDenied("Merchant keys cannot open ledger accounts.")
    account = services.account_create(
        code=payload.code, name=payload.name, type=payload.type, currency=payload.currency,
        merchant=_merchant_by_code(payload.merchant), actor=principal,
    )
    return Status(201, _account_out(account))


@router.get("/accounts", response=Page[AccountOut], summary="List ledger accounts")
def list_accounts(request, type: AccountType | None = None, currency: str | None = None,
                  code: str | None = None, merchant: str | None = None,
                  page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(50, ge=1, le=500)):
    principal = request.auth
    principal.require(VIEW_LEDGER)
    merchant_id = principal.merchant_id
    qs = selectors.account_list(merchant_id=merchant_id, type=type, currency=currency, code=code)
    if merchant and merchant_id is None:
        qs = qs.filter(merchant=_merchant_by_code(merchant))
    return paginate(qs.select_related("merchant"), page, page_size, _account_out)


@router.get("/accounts/{account_id}", response=AccountOut, summary="Get a ledger account")
def get_account(request, account_id: PathId):
    request.auth.require(VIEW_LEDGER)
    return _account_out(selectors.account_get(account_id=account_id, merchant_id=request.auth.merchant_id))


@router.get("/accounts/{account_id}/balance", response=BalanceOut, summary="Balance of one account")
def get_account_balance(request, account_id: PathId, as_of: IsoDate | None = None):
    request.auth.require(VIEW_LEDGER)
    account = selectors.account_get(account_id=account_id, merchant_id=request.auth.merchant_id)
    return _balance_out(selectors.BalanceRow(account, selectors.account_balance(account=account, as_of=as_of)))


# --- entries -------------------------------------------------------------------
@router.post("/entries", response={201: EntryOut}, summary="Post a journal entry")
def post_entry(request, payload: EntryIn):
    principal = request.auth
    principal.require(POST_ENTRY)
    lines = [
        PostingLine(p.account_id, Money.parse(p.amount, p.currency, param=f"postings[{i}].amount"))
        for i, p in enumerate(payload.postings)
    ]
    key = payload.idempotency_key or f"api:{principal.scope_key}:{request.headers.get('Idempotency-Key')}"
    entry = services.journal_entry_post(
        idempotency_key=key, effective_date=payload.effective_date, lines=lines, memo=payload.memo,
        source_type=payload.source_type, source_id=payload.source_id, actor=principal,
    )
    return Status(201, _entries_out([entry], None)[0])


@router.get("/entries", response=Page[EntryOut], summary="List journal entries")
def list_entries(request, account_id: QueryId = None, source_type: str | None = None,
                 source_id: str | None = None, effective_from: IsoDate | None = None,
                 effective_to: IsoDate | None = None,
                 page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(50, ge=1, le=500)):
    principal = request.auth
    principal.require(VIEW_LEDGER)
    qs = selectors.entry_list(merchant_id=principal.merchant_id, account_id=account_id, source_type=source_type,
                              source_id=source_id, effective_from=effective_from, effective_to=effective_to)
    return paginate(qs, page, page_size, lambda entries: _entries_out(entries, principal.merchant_id), batch=True)


@router.get("/entries/{entry_id}", response=EntryOut, summary="Get a journal entry")
def get_entry(request, entry_id: PathId):
    principal = request.auth
    principal.require(VIEW_LEDGER)
    entry = selectors.entry_get(entry_id=entry_id, merchant_id=principal.merchant_id)
    return _entries_out([entry], principal.merchant_id)[0]


@router.post("/entries/{entry_id}/reverse", response={201: EntryOut}, summary="Reverse a journal entry")
def reverse_entry(request, entry_id: PathId, payload: ReverseIn):
    principal = request.auth
    principal.require(REVERSE_ENTRY)
    entry = selectors.entry_get(entry_id=entry_id, merchant_id=principal.merchant_id)
    reversal = services.journal_entry_reverse(entry=entry, effective_date=payload.effective_date,
                                              memo=payload.memo, actor=principal)
    return Status(201, _entries_out([reversal], None)[0])


# --- balances ------------------------------------------------------------------
@router.get("/balances", response=list[BalanceOut], summary="Balances per account")
def list_balances(request, as_of: IsoDate | None = None, currency: str | None = None, merchant: str | None = None,
                  customer_id: QueryId = None, include_zero: bool = False):
    principal = request.auth
    principal.require(VIEW_LEDGER)
    merchant_id = principal.merchant_id
    if merchant_id is None and merchant:
        merchant_id = _merchant_by_code(merchant).pk
    rows = selectors.balances(as_of=as_of, merchant_id=merchant_id, currency=currency, customer_id=customer_id,
                              include_zero=include_zero)
    return [_balance_out(r) for r in rows]


@router.get("/trial-balance", response=TrialBalanceOut, summary="Trial balance")
def get_trial_balance(request, as_of: IsoDate | None = None, currency: str | None = None):
    principal = request.auth
    principal.require(VIEW_LEDGER)
    if principal.merchant_id is not None:
        raise PermissionDenied("The trial balance covers every party; merchant keys see their own balances.")
    tb = selectors.trial_balance(as_of=as_of, currency=currency)
    totals = [
        dict(currency=cur, debit=d.to_string(), credit=c.to_string(), balanced=d == c)
        for cur, (d, c) in sorted(tb.totals().items())
    ]
    return dict(as_of=as_of, rows=[_balance_out(r) for r in tb.rows], totals=totals, balanced=tb.is_balanced)


# --- periods -------------------------------------------------------------------
@router.get("/periods", response=list[PeriodOut], summary="Accounting periods")
def list_periods(request):
    request.auth.require(VIEW_LEDGER)
    return [_period_out(p) for p in selectors.period_list()]


@router.post("/periods", response={201: PeriodOut}, summary="Open an accounting period")
def create_period(request, payload: PeriodIn):
    request.auth.require(CLOSE_PERIOD)
    period = services.period_create(name=payload.name, start_date=payload.start_date, end_date=payload.end_date,
                                    actor=request.auth)
    return Status(201, _period_out(period))


@router.post("/periods/{period_id}/close", response=PeriodOut, summary="Close an accounting period")
def close_period(request, period_id: PathId):
    request.auth.require(CLOSE_PERIOD)
    period = services.period_close(period=selectors.period_get(period_id=period_id), actor=request.auth)
    return _period_out(period)


