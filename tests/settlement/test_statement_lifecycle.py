"""A statement's life: issued by finance, confirmed or disputed by its merchant, adjusted or re-issued, paid.

Every move of the state machine, and every refusal with its error code, leaving everything as it was.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.base import ContentFile

from clearhouse.accounts.roles import Role
from clearhouse.core.errors import DomainError
from clearhouse.core.models import AuditEvent
from clearhouse.ledger.models import JournalEntry
from clearhouse.settlement.models import Statement, StatementEvent, StatementLine
from clearhouse.settlement.services import (
    statement_adjust,
    statement_confirm,
    statement_dispute,
    statement_issue,
    statement_record_payout,
    statement_reissue,
)
from tests.settlement.lifecycle_support import (  # noqa: F401 (fixture)
    PDF,
    everything,
    media_root,
    merchant_principal,
    order_line,
    statement_make,
)

pytestmark = pytest.mark.usefixtures("media_root")

LINES = [order_line(order_id=1, collected=10000, service_fee=500, payment_fee=60),
         order_line(order_id=2, collected=5000, service_fee=250, payment_fee=30, refunds=1000)]
NET = 9440 + 3720  # 100.00 - 5.00 - 0.60, and 50.00 - 2.50 - 0.30 - 10.00


@pytest.fixture
def tea_staff(merchant):
    return merchant_principal(merchant, "tea-admin")


@pytest.fixture
def noodle_staff(other_merchant):
    return merchant_principal(other_merchant, "noodle-admin")


def make(merchant, status: str = "issued", number: str = "ST-1") -> Statement:
    return statement_make(merchant, number=number, lines=LINES, status=status)


def fresh(statement: Statement) -> Statement:
    return Statement.objects.get(pk=statement.pk)


def events(statement: Statement) -> list[tuple]:
    return list(StatementEvent.objects.filter(statement=statement).order_by("id").values_list(
        "type", "from_status", "to_status", "actor"))


def refused(call, code: str, statement: Statement) -> DomainError:
    """`call` raises a domain error with `code` and changes nothing at all."""
    before = everything(statement)
    with pytest.raises(DomainError) as caught:
        call()
    assert caught.value.code == code, caught.value
    assert everything(statement) == before
    return caught.value


# ---- the happy paths ---------------------------------------------------------------------------------


def test_finance_issues_a_draft_and_the_merchant_can_then_see_it(merchant, clerk):
    statement = make(merchant, "draft")
    issued = statement_issue(statement=statement, actor=clerk)
    assert (issued.status, fresh(statement).status) == ("issued", "issued")
    assert fresh(statement).issued_at is not None
    assert events(statement) == [("issued", "draft", "issued", f"user:{clerk.pk} clerk")]
    audit = AuditEvent.objects.get(action="settlement.statement_issued")
    assert (audit.object_type, audit.object_id, audit.payload["number"]) == ("statement", str(statement.pk), "ST-1")


def test_the_merchant_confirms_its_issued_statement_and_it_waits_for_its_payout(merchant, tea_staff):
    statement = make(merchant)
    confirmed = statement_confirm(statement=statement, actor=tea_staff)
    row = fresh(statement)
    assert (confirmed.status, row.status) == ("confirmed", "confirmed")
    assert row.confirmed_at is not None and row.confirmed_by == tea_staff.label
    assert events(statement) == [("confirmed", "issued", "confirmed", tea_staff.label)]
    entry = JournalEntry.objects.get(idempotency_key="statement_confirmed:ST-1")
    assert StatementEvent.objects.get(statement=statement).parameters == {
        "net_minor": NET, "revision": 1, "journal_entry": entry.pk}


def test_a_merchant_user_without_a_principal_may_confirm_its_own_statement(merchant):
    from clearhouse.accounts.services import user_create

    user = user_create(username="tea-staff", password="x-tea-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant)
    statement = make(merchant)
    assert statement_confirm(statement=statement, actor=user).status == "confirmed"


def test_the_merchant_disputes_with_a_reason(merchant, tea_staff):
    statement = make(merchant)
    disputed = statement_dispute(statement=statement, reason="  Order 2 was refunded 20.00, not 10.00  ",
                                 actor=tea_staff)
    row = fresh(statement)
    assert (disputed.status, row.status, row.dispute_reason) == (
        "disputed", "disputed", "Order 2 was refunded 20.00, not 10.00")
    assert row.disputed_at is not None
    assert events(statement) == [("disputed", "issued", "disputed", tea_staff.label)]
    assert StatementEvent.objects.get(statement=statement).parameters == {
        "reason": "Order 2 was refunded 20.00, not 10.00"}
    assert JournalEntry.objects.count() == 0


def test_finance_answers_a_dispute_with_an_adjustment_line_and_issues_again(merchant, tea_staff, clerk):
    statement = make(merchant)
    statement_dispute(statement=statement, reason="Order 2 was refunded 20.00", actor=tea_staff)
    adjusted = statement_adjust(statement=statement, amount_minor=-1000, note="Second refund of order 2",
                                actor=clerk)
    row = fresh(statement)
    assert (adjusted.status, row.status, row.revision) == ("issued", "issued", 2)
    line = StatementLine.objects.get(statement=statement, kind="adjustment")
    assert (line.net_minor, line.note, line.merchant_id, line.currency) == (
        -1000, "Second refund of order 2", merchant.pk, "CNY")
    assert (row.adjustments_minor, row.net_minor, row.line_count, row.order_count) == (-1000, NET - 1000, 3, 2)
    assert (row.collected_minor, row.service_fee_minor) == (15000, 750)  # the orders' figures stay
    assert events(statement)[-1] == ("adjusted", "disputed", "issued", f"user:{clerk.pk} clerk")
    assert StatementEvent.objects.filter(statement=statement).last().parameters == {
        "amount_minor": -1000, "note": "Second refund of order 2", "line": line.pk, "revision": 2,
        "net_minor": NET - 1000}
    assert AuditEvent.objects.filter(action="settlement.statement_adjusted").count() == 1
    # The merchant confirms the adjusted statement.
    assert statement_confirm(statement=statement, actor=tea_staff).net_minor == NET - 1000


def test_an_adjustment_in_the_merchants_favour_raises_the_net(merchant, tea_staff, clerk):
    statement = make(merchant)
    statement_dispute(statement=statement, reason="Missing order 3", actor=tea_staff)
    statement_adjust(statement=statement, amount_minor=4999, note="Order 3, settled by hand", actor=clerk)
    assert fresh(statement).net_minor == NET + 4999


def test_finance_records_the_payout_of_a_confirmed_statement(merchant, tea_staff, manager):
    statement = make(merchant)
    statement_confirm(statement=statement, actor=tea_staff)
    paid = statement_record_payout(statement=statement, amount_minor=NET, payout_date=date(2026, 11, 20),
                                   reference="ICBC-2026-1120-01", voucher=ContentFile(PDF, name="x.pdf"),
                                   actor=manager)
    assert paid.status == "paid"
    assert events(statement)[-1] == ("paid", "confirmed", "paid", f"user:{manager.pk} manager")


# ---- the transition table: every action in every status ---------------------------------------------

OK = "ok"
ACTIONS = ("issue", "confirm", "dispute", "adjust", "reissue", "payout")
TABLE = {
    #                  issue                  confirm                dispute                adjust / reissue      payout
    "draft": ("ok", "not_found", "not_found", "invalid_transition", "invalid_transition", "invalid_transition"),
    "issued": ("invalid_transition", "ok", "ok", "invalid_transition", "invalid_transition", "invalid_transition"),
    "disputed": ("invalid_transition", "invalid_transition", "invalid_transition", "ok", "ok",
                 "invalid_transition"),
    "confirmed": ("statement_locked", "invalid_transition", "statement_locked", "statement_locked",
                  "statement_locked", "ok"),
    "paid": ("statement_locked", "invalid_transition", "statement_locked", "statement_locked", "statement_locked",
             "invalid_transition"),
    "carried_forward": ("statement_locked", "invalid_transition", "statement_locked", "statement_locked",
                        "statement_locked", "invalid_transition"),
}
AFTER = {"issue": "issued", "confirm": "confirmed", "dispute": "disputed", "adjust": "issued", "reissue": "issued",
         "payout": "paid"}


def act(action: str, statement: Statement, *, merchant_staff, finance):
    """Run `action` as the one who takes it (the merchant confirms and disputes; finance does the rest)."""
    calls = {
        "issue": lambda: statement_issue(statement=statement, actor=finance),
        "confirm": lambda: statement_confirm(statement=statement, actor=merchant_staff),
        "dispute": lambda: statement_dispute(statement=statement, reason="Wrong", actor=merchant_staff),
        "adjust": lambda: statement_adjust(statement=statement, amount_minor=100, note="Fix", actor=finance),
        "reissue": lambda: statement_reissue(statement=statement, actor=finance),
        "payout": lambda: statement_record_payout(statement=statement, amount_minor=statement.net_minor,
                                                  payout_date=date(2026, 11, 20), reference="REF-1",
                                                  voucher=ContentFile(PDF), actor=finance),
    }
    return calls[action]()


CASES = [(status, action, TABLE[status][i]) for status in TABLE for i, action in enumerate(ACTIONS)
         if not (action == "reissue" and TABLE[status][i] == OK)]  # re-issue recomputes real orders: see below


@pytest.mark.parametrize(("status", "action", "outcome"), CASES, ids=[f"{s}-{a}" for s, a, _ in CASES])
def test_every_action_in_every_status(merchant, tea_staff, manager, status, action, outcome):
    statement = make(merchant, status)
    if outcome == OK:
        assert act(action, statement, merchant_staff=tea_staff, finance=manager).status == AFTER[action]
        assert fresh(statement).status == AFTER[action]
        assert events(statement)[-1][1:3] == (status, AFTER[action])
    else:
        refused(lambda: act(action, statement, merchant_staff=tea_staff, finance=manager), outcome, statement)


def test_finance_sees_a_draft_so_confirming_it_is_an_invalid_transition_not_a_not_found(merchant, manager):
    statement = make(merchant, "draft")
    refused(lambda: statement_confirm(statement=statement, actor=manager), "invalid_transition", statement)


# ---- refusals with their codes -------------------------------------------------------------------------


def test_confirming_twice_is_refused_and_posts_once(merchant, tea_staff):
    statement = make(merchant)
    statement_confirm(statement=statement, actor=tea_staff)
    error = refused(lambda: statement_confirm(statement=statement, actor=tea_staff), "invalid_transition", statement)
    assert error.http_status == 409
    assert JournalEntry.objects.count() == 1


@pytest.mark.parametrize("status", ["draft", "issued", "disputed", "confirmed"])
def test_another_merchants_staff_cannot_confirm_or_dispute_and_learn_nothing(merchant, noodle_staff, status):
    statement = make(merchant, status)
    for call in (lambda: statement_confirm(statement=statement, actor=noodle_staff),
                 lambda: statement_dispute(statement=statement, reason="Not ours", actor=noodle_staff)):
        error = refused(call, "not_found", statement)
        assert error.http_status == 404 and "ST-1" in error.message


def test_another_merchants_api_key_cannot_confirm(merchant, other_merchant):
    from clearhouse.accounts.principal import principal_for_api_key
    from clearhouse.accounts.services import api_key_create

    key, _ = api_key_create(name="noodle key", role=Role.MERCHANT_ADMIN, merchant=other_merchant)
    statement = make(merchant)
    refused(lambda: statement_confirm(statement=statement, actor=principal_for_api_key(key)), "not_found", statement)


@pytest.mark.parametrize("action", ["issue", "adjust", "reissue", "payout"])
def test_merchant_staff_cannot_take_finances_actions(merchant, tea_staff, noodle_staff, action):
    status = {"issue": "draft", "payout": "confirmed"}.get(action, "disputed")
    statement = make(merchant, status)
    refused(lambda: act(action, statement, merchant_staff=None, finance=tea_staff),
            "not_found" if status == "draft" else "permission_denied", statement)
    refused(lambda: act(action, statement, merchant_staff=None, finance=noodle_staff), "not_found", statement)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1001, None])
def test_a_dispute_needs_a_reason_of_1_to_1000_characters(merchant, tea_staff, reason):
    statement = make(merchant)
    error = refused(lambda: statement_dispute(statement=statement, reason=reason, actor=tea_staff),
                    "validation_failed", statement)
    assert error.param == "reason"


def test_a_reason_of_1000_characters_is_accepted(merchant, tea_staff):
    statement = make(merchant)
    assert statement_dispute(statement=statement, reason="x" * 1000, actor=tea_staff).dispute_reason == "x" * 1000


@pytest.mark.parametrize(("amount", "note", "param"), [
    (0, "Nothing", "amount"), (True, "A bool", "amount"), ("10.00", "A string", "amount"),
    (100, "", "note"), (100, "  ", "note"), (100, "n" * 501, "note"), (2**63, "Too big", "amount"),
])
def test_an_adjustment_needs_a_non_zero_whole_amount_and_a_note(merchant, tea_staff, clerk, amount, note, param):
    statement = make(merchant)
    statement_dispute(statement=statement, reason="Wrong", actor=tea_staff)
    error = refused(lambda: statement_adjust(statement=statement, amount_minor=amount, note=note, actor=clerk),
                    "validation_failed", statement)
    assert error.param == param


def test_a_statement_whose_totals_disagree_with_its_lines_cannot_be_confirmed(merchant, tea_staff):
    statement = make(merchant)
    Statement.objects.filter(pk=statement.pk).update(net_minor=NET + 1)
    refused(lambda: statement_confirm(statement=statement, actor=tea_staff), "statement_totals_stale", statement)


# ---- re-issue: the lines recomputed from the real orders under the fee rules now in force ------------------


def test_finance_answers_a_dispute_by_reissuing_under_the_current_fee_rules(weekly_merchant, buyer, run_day,
                                                                            tea_staff, clerk):
    from clearhouse.settlement.services import settlement_run
    from tests.settlement.factories import at, completed_order, fee_rule

    completed_order(weekly_merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10)), fee_minor=60)
    [statement_id] = settlement_run(day=run_day).statement_ids
    statement = statement_issue(statement=Statement.objects.get(pk=statement_id), actor=clerk)
    assert statement.net_minor == 10000 - 60 - 60  # 0.6 % service fee, 0.60 card fee
    statement_dispute(statement=statement, reason="Our contract says 0.3 % from January", actor=tea_staff)
    fee_rule(scope=weekly_merchant, rate="0.003")  # the merchant's own rule, which wins, for the same dates

    reissued = statement_reissue(statement=statement, actor=clerk)
    row = fresh(statement)
    assert (reissued.status, row.status, row.revision, row.service_fee_minor, row.net_minor) == (
        "issued", "issued", 2, 30, 10000 - 30 - 60)
    assert StatementLine.objects.get(statement=statement).fee_rate_ppm == 3000
    assert events(statement)[-1] == ("reissued", "disputed", "issued", f"user:{clerk.pk} clerk")
    assert StatementEvent.objects.filter(statement=statement).last().parameters == {
        "revision": 2, "net_minor_before": 9880, "net_minor": 9910}
    assert AuditEvent.objects.filter(action="settlement.statement_reissued").count() == 1
    statement_confirm(statement=statement, actor=tea_staff)
    entry = JournalEntry.objects.get(idempotency_key=f"statement_confirmed:{row.number}")
    assert {p.account.code: p.amount_minor for p in entry.postings.select_related("account")} == {
        "2100": 10000, "4100": -30, "6100": -60, "2200": -9910}


def test_refusals_speak_the_callers_language(merchant, tea_staff):
    from django.utils import translation

    statement = make(merchant)
    with translation.override("zh-hans"), pytest.raises(DomainError) as caught:
        statement_dispute(statement=statement, reason="", actor=tea_staff)
    assert caught.value.message == "原因 须为 1 至 1000 个字符。"
