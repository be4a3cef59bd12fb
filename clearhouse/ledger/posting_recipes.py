"""Posting recipes: the one place where debits and credits are decided.

Each business event has one function here. It names the accounts, signs the
amounts and posts exactly one entry through `journal_entry_post`, keyed by
the source event so posting the same event twice has one effect.
"""

from __future__ import annotations

from datetime import date

from clearhouse.core.errors import ValidationFailed
from clearhouse.core.money import Money
from clearhouse.ledger import chart
from clearhouse.ledger.domain import PostingLine
from clearhouse.ledger.models import JournalEntry
from clearhouse.ledger.services import journal_entry_post


def _positive(amount: Money, what: str) -> None:
    if amount.minor <= 0:
        raise ValidationFailed(f"The {what} must be positive.", param="amount")


def _post(key: str, day: date, memo: str, source: tuple[str, str], debit, credit, amount: Money,
          actor=None) -> JournalEntry:
    return journal_entry_post(
        idempotency_key=key, effective_date=day, memo=memo, source_type=source[0], source_id=source[1],
        lines=[PostingLine.debit(debit.pk, amount), PostingLine.credit(credit.pk, amount)], actor=actor,
    )


def payment_captured(*, payment_id: str, provider: str, amount: Money, day: date, merchant=None,
                     actor=None) -> JournalEntry:
    """Money captured by a provider: Dr clearing:<provider> / Cr merchant payable (or sales for own goods)."""
    _positive(amount, "captured amount")
    clearing = chart.ledger_account(chart.CLEARING, amount.currency, suffix=provider)
    if merchant is not None:
        owed = chart.ledger_account(chart.MERCHANT_PAYABLE, amount.currency, merchant=merchant)
    else:
        owed = chart.ledger_account(chart.SALES, amount.currency)
    return _post(f"payment_captured:{payment_id}", day, f"Payment {payment_id} captured via {provider}",
                 ("payment", payment_id), clearing, owed, amount, actor)


def provider_fee_charged(*, payment_id: str, provider: str, fee: Money, day: date, actor=None) -> JournalEntry:
    """The provider keeps its fee: Dr payment fees / Cr clearing:<provider>."""
    _positive(fee, "fee")
    return _post(f"provider_fee:{payment_id}", day, f"{provider} fee on payment {payment_id}",
                 ("payment", payment_id), chart.ledger_account(chart.PAYMENT_FEES, fee.currency),
                 chart.ledger_account(chart.CLEARING, fee.currency, suffix=provider), fee, actor)


def provider_payout_received(*, payout_id: str, provider: str, amount: Money, day: date,
                             bank_account: str = "main", actor=None) -> JournalEntry:
    """The provider pays out to our bank: Dr bank:<account> / Cr clearing:<provider>."""
    _positive(amount, "payout amount")
    return _post(f"provider_payout:{provider}:{payout_id}", day, f"{provider} payout {payout_id}",
                 ("provider_payout", payout_id), chart.ledger_account(chart.BANK, amount.currency, suffix=bank_account),
                 chart.ledger_account(chart.CLEARING, amount.currency, suffix=provider), amount, actor)


def refund_paid(*, refund_id: str, provider: str, amount: Money, day: date, merchant=None,
                actor=None) -> JournalEntry:
    """Money returned to the customer: Dr merchant payable (or sales) / Cr clearing:<provider>."""
    _positive(amount, "refund amount")
    if merchant is not None:
        owed = chart.ledger_account(chart.MERCHANT_PAYABLE, amount.currency, merchant=merchant)
    else:
        owed = chart.ledger_account(chart.SALES, amount.currency)
    return _post(f"refund:{refund_id}", day, f"Refund {refund_id} via {provider}", ("refund", refund_id),
                 owed, chart.ledger_account(chart.CLEARING, amount.currency, suffix=provider), amount, actor)


def statement_confirmed(*, statement_id: str, merchant, gross: Money, service_fee: Money, day: date,
                        actor=None) -> JournalEntry:
    """A merchant confirms its statement: Dr merchant payable / Cr service fee income, Cr settlement due."""
    _positive(gross, "statement gross")
    net = gross - service_fee
    payable = chart.ledger_account(chart.MERCHANT_PAYABLE, gross.currency, merchant=merchant)
    lines = [PostingLine.debit(payable.pk, gross)]
    if service_fee.minor:
        lines.append(PostingLine.credit(chart.ledger_account(chart.SERVICE_FEE_INCOME, gross.currency).pk,
                                        service_fee))
    if net.minor:
        lines.append(PostingLine.credit(
            chart.ledger_account(chart.SETTLEMENT_DUE, gross.currency, merchant=merchant).pk, net))
    return journal_entry_post(
        idempotency_key=f"statement_confirmed:{statement_id}", effective_date=day,
        memo=f"Statement {statement_id} confirmed", source_type="statement", source_id=statement_id,
        lines=lines, actor=actor,
    )


def merchant_paid_out(*, payout_id: str, merchant, amount: Money, day: date, bank_account: str = "main",
                      actor=None) -> JournalEntry:
    """Finance pays the merchant: Dr settlement due:<merchant> / Cr bank:<account>."""
    _positive(amount, "payout amount")
    return _post(f"merchant_payout:{payout_id}", day, f"Payout {payout_id} to {merchant.name}",
                 ("merchant_payout", payout_id),
                 chart.ledger_account(chart.SETTLEMENT_DUE, amount.currency, merchant=merchant),
                 chart.ledger_account(chart.BANK, amount.currency, suffix=bank_account), amount, actor)


def offline_transfer_received(*, transfer_id: str, customer, amount: Money, day: date,
                              bank_account: str = "main", actor=None) -> JournalEntry:
    """A customer's bank transfer arrives: Dr bank / Cr receivable:<customer>."""
    _positive(amount, "transfer amount")
    return _post(f"offline_transfer:{transfer_id}", day, f"Bank transfer {transfer_id} received",
                 ("offline_transfer", transfer_id),
                 chart.ledger_account(chart.BANK, amount.currency, suffix=bank_account),
                 chart.ledger_account(chart.RECEIVABLE, amount.currency, customer=customer), amount, actor)
