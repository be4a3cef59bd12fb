"""Reading back what a payment did: ledger balances by account code, entries per source."""

from __future__ import annotations

from clearhouse.core.money import Money
from clearhouse.ledger.selectors import balances, trial_balance
from clearhouse.ledger.verify import ledger_verify
from clearhouse.payments.models import PaymentIntent


def ledger(currency: str = "CNY") -> dict[str, int]:
    """Balance (minor units, debit positive) per account code, e.g. {"1100.sandbox": 20000, "2100": -20000}."""
    return {row.account.code: row.balance.minor for row in balances(currency=currency)}


def books_balance() -> bool:
    return trial_balance().is_balanced and ledger_verify().ok


def cny(text: str) -> Money:
    return Money.parse(text, "CNY")


def fresh(intent: PaymentIntent) -> PaymentIntent:
    return PaymentIntent.objects.select_related("order").get(pk=intent.pk)
