"""Statement generation, set-based: a few INSERT ... SELECT statements per run, never a loop over orders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from clearhouse.settlement.models import Statement


@dataclass
class RunResult:
    """What a run made (or, dry run, would make)."""

    day: date
    dry_run: bool
    statements_created: int = 0
    lines_created: int = 0
    orders_settled: int = 0
    clawbacks: int = 0
    blocked_orders: int = 0
    statement_ids: list[int] = field(default_factory=list)
    # dry run: per (merchant id, currency) the totals it would produce
    preview: list[dict] = field(default_factory=list)


def settlement_run(*, day: date, dry_run: bool = False, merchant_ids: Sequence[int] | None = None,
                   progress: Callable[[int, int], None] | None = None, actor=None) -> RunResult:
    """Generate the statements due on `day` for every merchant whose schedule is due (idempotent per day)."""
    raise NotImplementedError


def statement_generate_manual(*, merchant, currency: str | None = None, order_ids: Sequence[int] | None = None,
                              completed_from: date | None = None, completed_to: date | None = None,
                              business_type=None, actor=None, run_key: str | None = None) -> list[Statement]:
    """Finance's batch statement from eligible, unsettled orders of one merchant chosen by ids or filters."""
    raise NotImplementedError
