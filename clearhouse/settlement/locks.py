"""Row locks of settlement, taken inside services only (DESIGN §12.7).

A statement's life (issue, confirm, dispute, adjust, re-issue, payout) locks
the statement row first, so two merchants' clicks, a finance clerk and a
retried request take turns and each change applies once.
"""

from __future__ import annotations

from clearhouse.settlement.models import Statement


def statement_select_for_update(*, statement_id: int) -> Statement:
    """The statement, locked, with its merchant read alongside (not locked: only the statement is)."""
    return Statement.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=statement_id)
