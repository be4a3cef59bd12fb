"""A statement's life: issue, confirm or dispute, adjust or re-issue, payout. Ledger postings on confirm and payout."""

from __future__ import annotations

from datetime import date

from clearhouse.settlement.models import Statement


def statement_issue(*, statement: Statement, actor=None) -> Statement:
    raise NotImplementedError


def statement_confirm(*, statement: Statement, actor=None) -> Statement:
    """The merchant confirms: locked; posts the confirmation entry; net <= 0 carries forward."""
    raise NotImplementedError


def statement_dispute(*, statement: Statement, reason: str, actor=None) -> Statement:
    raise NotImplementedError


def statement_adjust(*, statement: Statement, amount_minor: int, note: str, actor=None) -> Statement:
    """Finance answers a dispute with an adjustment line (either sign) and issues the statement again."""
    raise NotImplementedError


def statement_reissue(*, statement: Statement, actor=None) -> Statement:
    """Finance answers a dispute by recomputing the lines under the current fee rules and issuing again."""
    raise NotImplementedError


def statement_record_payout(*, statement: Statement, amount_minor: int, payout_date: date, reference: str,
                            voucher, actor=None) -> Statement:
    """Record the payout of a confirmed statement with its voucher (PDF or image); posts the payout entry."""
    raise NotImplementedError
