"""The chart of accounts the posting recipes use.

Codes follow the usual layout (1xxx assets, 2xxx liabilities, 3xxx equity,
4xxx income, 6xxx expenses). Sub-ledger accounts exist once per party and
currency; clearing accounts once per provider and currency. They are opened
on first use.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from clearhouse.ledger.models import Account, AccountType


@dataclass(frozen=True)
class ChartAccount:
    code: str
    name: str
    type: AccountType


BANK = ChartAccount("1000", "Bank", AccountType.ASSET)
CASH = ChartAccount("1050", "Cash", AccountType.ASSET)
CLEARING = ChartAccount("1100", "Clearing", AccountType.ASSET)
RECEIVABLE = ChartAccount("1200", "Customer receivable", AccountType.ASSET)
MERCHANT_PAYABLE = ChartAccount("2100", "Merchant payable", AccountType.LIABILITY)
SETTLEMENT_DUE = ChartAccount("2200", "Settlement due", AccountType.LIABILITY)
OPENING_EQUITY = ChartAccount("3000", "Opening balance equity", AccountType.EQUITY)
SALES = ChartAccount("4000", "Sales", AccountType.INCOME)
SERVICE_FEE_INCOME = ChartAccount("4100", "Service fee income", AccountType.INCOME)
PAYMENT_FEES = ChartAccount("6100", "Payment processing fees", AccountType.EXPENSE)
# Coupons and points the platform funds: owed to the merchant at settlement, a cost of the platform.
PLATFORM_PROMOTIONS = ChartAccount("6200", "Platform-funded discounts", AccountType.EXPENSE)
# Finance's corrections of statements after a merchant's dispute.
SETTLEMENT_ADJUSTMENTS = ChartAccount("6300", "Settlement adjustments", AccountType.EXPENSE)


# Accounts of the chart, once known to be committed, by (code, currency, merchant id, customer id): posting a
# payment needs three or four of them, and they never change or go away (deactivation is checked at posting).
_known: dict[tuple[str, str, int | None, int | None], Account] = {}


def chart_cache_clear() -> None:
    """Forget the accounts seen (tests, after the database is emptied)."""
    _known.clear()


def ledger_account(chart: ChartAccount, currency: str, *, suffix: str = "", merchant=None,
                   customer=None) -> Account:
    """The account for a chart line (per party / provider / bank), opened on first use."""
    code = f"{chart.code}.{suffix}" if suffix else chart.code
    key = (code, currency, getattr(merchant, "pk", merchant), getattr(customer, "pk", customer))
    account = _known.get(key)
    if account is not None:
        return account
    lookup = dict(code=code, currency=currency, merchant_id=key[2], customer_id=key[3])
    account = Account.objects.filter(**lookup).first()
    if account is None:
        account = _open(chart, suffix, merchant, lookup)
    # Remember it only once it is surely committed: a rolled-back account must not be handed out later.
    transaction.on_commit(lambda: _known.__setitem__(key, account))
    return account


def _open(chart: ChartAccount, suffix: str, merchant, lookup: dict) -> Account:
    name = f"{chart.name}: {suffix}" if suffix else chart.name
    if merchant is not None:
        merchant_name = getattr(merchant, "name", None) or _merchant_name(lookup["merchant_id"])
        name = f"{name} — {merchant_name}"
    try:
        with transaction.atomic():
            return Account.objects.create(name=name, type=chart.type, **lookup)
    except IntegrityError:  # opened concurrently by another writer
        return Account.objects.get(**lookup)


def _merchant_name(merchant_id: int) -> str:
    from clearhouse.accounts.models import Merchant

    return Merchant.objects.values_list("name", flat=True).get(pk=merchant_id)
