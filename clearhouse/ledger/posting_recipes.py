"""Posting recipes: the one place where debits and credits are decided.

Each business event has one function here. It names the accounts, signs the
amounts and posts exactly one entry through `journal_entry_post`, keyed by
the source event so posting the same event twice has one effect.
"""

from __future__ import annotations

from datetime import date

from clearhouse.core.errors import CurrencyMismatch, ValidationFailed
from clearhouse.core.money import Money
from clearhouse.ledger import chart
from clearhouse.ledger.domain import PostingLine
from clearhouse.ledger.models import JournalEntry
from clearhouse.ledger.services import EntryDraft, journal_entries_post, journal_entry_post


def _positive(amount: Money, what: str) -> None:
    if amount.minor <= 0:
        raise ValidationFailed(f"The {what} must be positive.", param="amount")


def _post(key: str, day: date, memo: str, source: tuple[str, str], debit, credit, amount: Money,
          actor=None) -> JournalEntry:
    return journal_entry_post(
        idempotency_key=key, effective_date=day, memo=memo, source_type=source[0], source_id=source[1],
        lines=[PostingLine.debit(debit.pk, amount), PostingLine.credit(credit.pk, amount)], actor=actor,
    )


def _draft(key: str, day: date, memo: str, source: tuple[str, str], debit, credit, amount: Money) -> EntryDraft:
    return EntryDraft(idempotency_key=key, effective_date=day, memo=memo, source_type=source[0],
                      source_id=source[1],
                      lines=[PostingLine.debit(debit.pk, amount), PostingLine.credit(credit.pk, amount)])


def _owed_to(merchant, currency: str):
    if merchant is not None:
        return chart.ledger_account(chart.MERCHANT_PAYABLE, currency, merchant=merchant)
    return chart.ledger_account(chart.SALES, currency)


def payment_captured_draft(*, payment_id: str, provider: str, amount: Money, day: date,
                           merchant=None) -> EntryDraft:
    """Money captured by a provider: Dr clearing:<provider> / Cr merchant payable (or sales for own goods)."""
    _positive(amount, "captured amount")
    clearing = chart.ledger_account(chart.CLEARING, amount.currency, suffix=provider)
    return _draft(f"payment_captured:{payment_id}", day, f"Payment {payment_id} captured via {provider}",
                  ("payment", payment_id), clearing, _owed_to(merchant, amount.currency), amount)


def payment_captured(*, payment_id: str, provider: str, amount: Money, day: date, merchant=None,
                     actor=None) -> JournalEntry:
    """Post `payment_captured_draft` alone."""
    draft = payment_captured_draft(payment_id=payment_id, provider=provider, amount=amount, day=day,
                                   merchant=merchant)
    return journal_entries_post(drafts=[draft], actor=actor)[0]


def provider_fee_draft(*, payment_id: str, provider: str, fee: Money, day: date) -> EntryDraft:
    """The provider keeps its fee: Dr payment fees / Cr clearing:<provider>."""
    _positive(fee, "fee")
    return _draft(f"provider_fee:{payment_id}", day, f"{provider} fee on payment {payment_id}",
                  ("payment", payment_id), chart.ledger_account(chart.PAYMENT_FEES, fee.currency),
                  chart.ledger_account(chart.CLEARING, fee.currency, suffix=provider), fee)


def provider_fee_charged(*, payment_id: str, provider: str, fee: Money, day: date, actor=None) -> JournalEntry:
    """Post `provider_fee_draft` alone."""
    draft = provider_fee_draft(payment_id=payment_id, provider=provider, fee=fee, day=day)
    return journal_entries_post(drafts=[draft], actor=actor)[0]


def offline_payment_received(*, payment_id: str, method: str, amount: Money, day: date, merchant=None,
                             bank_account: str = "main", actor=None) -> JournalEntry:
    """An order paid by bank transfer or cash: Dr bank:<account> (or cash on hand) / Cr merchant payable."""
    _positive(amount, "received amount")
    if method == "cash":
        received_into = chart.ledger_account(chart.CASH, amount.currency, suffix="on_hand")
    else:
        received_into = chart.ledger_account(chart.BANK, amount.currency, suffix=bank_account)
    draft = _draft(f"offline_payment:{payment_id}", day, f"Payment {payment_id} received by {method}",
                   ("payment", payment_id), received_into, _owed_to(merchant, amount.currency), amount)
    return journal_entries_post(drafts=[draft], actor=actor)[0]


def offline_refund_paid(*, refund_id: str, amount: Money, day: date, merchant=None, bank_account: str = "main",
                        actor=None) -> JournalEntry:
    """Finance transferred a refund of an offline payment: Dr merchant payable (or sales) / Cr bank:<account>."""
    _positive(amount, "refund amount")
    draft = _draft(f"refund:{refund_id}", day, f"Refund {refund_id} paid out by bank transfer", ("refund", refund_id),
                   _owed_to(merchant, amount.currency),
                   chart.ledger_account(chart.BANK, amount.currency, suffix=bank_account), amount)
    return journal_entries_post(drafts=[draft], actor=actor)[0]


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


def statement_confirmed_legs(*, merchant, merchant_payable: Money, platform_funded: Money, adjustments: Money,
                             service_fee: Money, payment_fee: Money, settlement_due: Money) -> list[tuple]:
    """The confirmation entry's legs as (chart account, merchant or None, signed amount; debit > 0).

    Dr merchant payable:<m>    what the customers paid for the statement's orders, less refunds (signed:
                               a clawback-only statement credits it back)
    Dr platform promotions     coupons and points the platform funded, now owed to the merchant
    Dr settlement adjustments  finance's adjustment lines (signed)
    Cr service fee income      the platform's fee
    Cr payment fees            the processing fee charged to the merchant: recovers our expense
    Cr settlement due:<m>      the statement's net, excluding balances carried forward (posted before)
    A negative amount lands on the other side; zero amounts are left out. Shared with
    `clearhouse verify`, which checks posted entries against the statement's lines.
    """
    legs = [
        (chart.MERCHANT_PAYABLE, merchant, merchant_payable),
        (chart.PLATFORM_PROMOTIONS, None, platform_funded),
        (chart.SETTLEMENT_ADJUSTMENTS, None, adjustments),
        (chart.SERVICE_FEE_INCOME, None, -service_fee),
        (chart.PAYMENT_FEES, None, -payment_fee),
        (chart.SETTLEMENT_DUE, merchant, -settlement_due),
    ]
    currencies = {amount.currency for _, _, amount in legs}
    if len(currencies) != 1:
        raise CurrencyMismatch("A statement's amounts are in one currency.", param="currency")
    return [leg for leg in legs if leg[2].minor]


def statement_confirmed(*, statement_number: str, merchant, merchant_payable: Money, platform_funded: Money,
                        adjustments: Money, service_fee: Money, payment_fee: Money, settlement_due: Money,
                        day: date, actor=None) -> JournalEntry | None:
    """A merchant confirms its statement: one balanced entry of `statement_confirmed_legs`, once per statement.

    Nothing is posted (None) when every amount is zero. The amounts must
    balance (debits = credits), else UnbalancedEntry and nothing is written.
    """
    legs = statement_confirmed_legs(merchant=merchant, merchant_payable=merchant_payable,
                                    platform_funded=platform_funded, adjustments=adjustments,
                                    service_fee=service_fee, payment_fee=payment_fee, settlement_due=settlement_due)
    if not legs:
        return None
    lines = [PostingLine(chart.ledger_account(account, amount.currency, merchant=party).pk, amount)
             for account, party, amount in legs]
    return journal_entry_post(
        idempotency_key=f"statement_confirmed:{statement_number}", effective_date=day,
        memo=f"Statement {statement_number} confirmed", source_type="statement", source_id=statement_number,
        lines=lines, actor=actor,
    )


def merchant_paid_out(*, statement_number: str, merchant, amount: Money, day: date, bank_account: str = "main",
                      actor=None) -> JournalEntry:
    """Finance pays a confirmed statement's net to the merchant: Dr settlement due:<merchant> / Cr bank:<account>.

    Once per statement (keyed by its number).
    """
    _positive(amount, "payout amount")
    return _post(f"merchant_paid_out:{statement_number}", day, f"Payout of statement {statement_number}",
                 ("statement", statement_number),
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
