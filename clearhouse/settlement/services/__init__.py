"""Settlement writes. One module per concern; callers import the functions from here."""

from clearhouse.settlement.services.generation import RunResult, settlement_run, statement_generate_manual
from clearhouse.settlement.services.rules import (
    fee_rule_create,
    fee_rule_end,
    schedule_deactivate,
    schedule_set,
)
from clearhouse.settlement.services.statements import (
    statement_adjust,
    statement_confirm,
    statement_dispute,
    statement_issue,
    statement_record_payout,
    statement_reissue,
)

__all__ = [
    "RunResult", "fee_rule_create", "fee_rule_end", "schedule_deactivate", "schedule_set", "settlement_run",
    "statement_adjust", "statement_confirm", "statement_dispute", "statement_generate_manual", "statement_issue",
    "statement_record_payout", "statement_reissue",
]
