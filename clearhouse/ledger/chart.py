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


def ledger_account(chart: ChartAccount, currency: str, *, suffix: str = "", merchant=None,
                   customer=None) -> Account:
    """The account for a chart line (per party / provider / bank), opened on first use."""
    code = f"{chart.code}.{suffix}" if suffix else chart.code
    lookup = dict(code=code, currency=currency, merchant=merchant, customer=customer)
    account = Account.objects.filter(**lookup).first()
    if account is not None:
        return account
    name = f"{chart.name}: {suffix}" if suffix else chart.name
    if merchant is not None:
        name = f"{name} — {merchant.name}"
    try:
        with transaction.atomic():
            return Account.objects.create(name=name, type=chart.type, **lookup)
    except IntegrityError:  # opened concurrently by another writer
        return Account.objects.get(**lookup)
