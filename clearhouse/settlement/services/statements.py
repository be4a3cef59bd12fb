"""A statement's life: issue, confirm or dispute, adjust or re-issue, payout. Ledger postings on confirm and payout.

    draft --issue--> issued --confirm--> confirmed --payout--> paid
                       |  ^                  \\--(net <= 0)--> carried_forward
               dispute |  | adjust / re-issue
                       v  |
                     disputed

Every service locks the statement row first (`locks.statement_select_for_update`),
checks the move against `domain.TRANSITIONS`, and writes one `StatementEvent`
per move; finance's actions also go into the audit chain. A refusal raises a
typed error and leaves everything as it was. Merchant-scoped callers (a
Principal or User with `merchant_id`) act only on their own merchant's
statements, and only once issued: anything else is NotFound, never a hint that
the statement exists. Services do not check permissions (the API and the views
do); they do refuse merchant-scoped callers finance's actions.

Ledger: confirming posts one balanced entry (`posting_recipes.statement_confirmed`,
keyed `statement_confirmed:<number>`) from the statement's lines; recording
the payout posts `merchant_paid_out` (keyed by the number too), so the
merchant's settlement-due balance returns to zero.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from clearhouse.core.audit import actor_label, audit_record
from clearhouse.core.errors import DomainError, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from clearhouse.core.money import MAX_MINOR, Money
from clearhouse.ledger import posting_recipes
from clearhouse.settlement.domain import (
    LOCKED,
    MERCHANT_VISIBLE,
    LineKind,
    PayoutAmountMismatch,
    StatementLocked,
    StatementStatus,
    VoucherRejected,
    check_statement_transition,
    voucher_content_type,
)
from clearhouse.settlement.locks import statement_select_for_update
from clearhouse.settlement.models import Statement, StatementEvent, StatementLine
from clearhouse.settlement.notices import statement_disputed_notify, statement_issued_notify, statement_paid_notify
from clearhouse.settlement.services import generation

S = StatementStatus
REASON_MAX_LENGTH = 1000  # Statement.dispute_reason
NOTE_MAX_LENGTH = 500  # StatementLine.note
REFERENCE_MAX_LENGTH = 100  # Statement.payout_reference
VOUCHER_EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


class StatementTotalsStale(DomainError):
    code = "statement_totals_stale"
    http_status = 409
    default_message = "The statement's totals do not match its lines; finance must re-issue it."


# ---- what the lines add up to, for the ledger --------------------------------------------------


@dataclass(frozen=True)
class LedgerAmounts:
    """A statement's lines summed the way the confirmation entry needs them (integer minor units).

    merchant_payable = collected - platform-funded - refunds of order and clawback lines (what the
    customers paid, less refunds: the merchant payable the captures and refunds left behind);
    adjustments = the adjustment lines' net; settlement_due = net of every line except
    carried-forward balances (those were posted when their own statement was confirmed);
    net = every line's net (what the statement's net_minor must be).
    """

    merchant_payable_minor: int = 0
    platform_funded_minor: int = 0
    adjustments_minor: int = 0
    service_fee_minor: int = 0
    payment_fee_minor: int = 0
    settlement_due_minor: int = 0
    net_minor: int = 0

    def recipe_amounts(self, currency: str) -> dict[str, Money]:
        """Keyword arguments of `posting_recipes.statement_confirmed` / `statement_confirmed_legs`."""
        return {
            "merchant_payable": Money(self.merchant_payable_minor, currency),
            "platform_funded": Money(self.platform_funded_minor, currency),
            "adjustments": Money(self.adjustments_minor, currency),
            "service_fee": Money(self.service_fee_minor, currency),
            "payment_fee": Money(self.payment_fee_minor, currency),
            "settlement_due": Money(self.settlement_due_minor, currency),
        }


def _sum(expression, condition: Q | None = None):
    return Coalesce(Sum(expression, filter=condition), Value(0))


def ledger_amounts_by_statement(*, statement_ids=None, statuses=None) -> dict[int, LedgerAmounts]:
    """`LedgerAmounts` per statement, one GROUP BY query over the lines split by kind.

    Restricted to `statement_ids` and/or to statements in `statuses` (a join) when given.
    """
    sales = Q(kind__in=[LineKind.ORDER, LineKind.CLAWBACK])
    lines = StatementLine.objects.all()
    if statement_ids is not None:
        lines = lines.filter(statement_id__in=list(statement_ids))
    if statuses is not None:
        lines = lines.filter(statement__status__in=list(statuses))
    rows = lines.values("statement_id").order_by("statement_id").annotate(
        merchant_payable=_sum(F("collected_minor") - F("platform_funded_minor") - F("refunds_minor"), sales),
        platform_funded=_sum("platform_funded_minor", sales),
        adjustments=_sum("net_minor", Q(kind=LineKind.ADJUSTMENT)),
        service_fee=_sum("service_fee_minor", sales),
        payment_fee=_sum("payment_fee_minor", sales),
        settlement_due=_sum("net_minor", ~Q(kind=LineKind.CARRY_FORWARD)),
        net=_sum("net_minor"),
    )
    return {
        row["statement_id"]: LedgerAmounts(
            int(row["merchant_payable"]), int(row["platform_funded"]), int(row["adjustments"]),
            int(row["service_fee"]), int(row["payment_fee"]), int(row["settlement_due"]), int(row["net"]))
        for row in rows
    }


# ---- events, scope, checks ------------------------------------------------------------------------


def statement_event_record(*, statement: Statement, type: str, from_status: str = "", to_status: str = "",
                           parameters: dict | None = None, actor=None) -> StatementEvent:
    """The only writer of `StatementEvent` rows (append-only)."""
    return StatementEvent.objects.create(statement=statement, type=type, from_status=from_status,
                                         to_status=to_status, parameters=parameters or {}, actor=actor_label(actor))


def _merchant_scope(statement: Statement, actor) -> None:
    """A merchant-scoped caller acts on its own merchant's statements, once issued; else NotFound (no leak)."""
    merchant_id = getattr(actor, "merchant_id", None)
    if merchant_id is None:
        return
    if merchant_id != statement.merchant_id or statement.status not in MERCHANT_VISIBLE:
        raise NotFound(_("No statement %(number)s.") % {"number": statement.number}, param="number")


def _platform_only(statement: Statement, actor) -> None:
    """Finance's actions: a merchant-scoped caller may not take them (and learns nothing of other merchants)."""
    if getattr(actor, "merchant_id", None) is None:
        return
    _merchant_scope(statement, actor)
    raise PermissionDenied(_("Only the platform's finance staff may do this."))


def _not_locked(statement: Statement) -> None:
    if statement.status in LOCKED:
        raise StatementLocked(_("Statement %(number)s is %(status)s: it is locked.") % {
            "number": statement.number, "status": statement.status}, param="status")


def _disputed(statement: Statement) -> None:
    """Adjusting and re-issuing answer a dispute: only a disputed statement."""
    _not_locked(statement)
    if statement.status != S.DISPUTED:
        raise InvalidTransition(_("Only a disputed statement can be adjusted or re-issued; %(number)s is "
                                  "%(status)s.") % {"number": statement.number, "status": statement.status},
                                param="status", current=statement.status, target=S.ISSUED)


def _text(value, *, param: str, label: str, max_length: int) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if not value or len(value) > max_length:
        raise ValidationFailed(_("%(label)s has 1 to %(max)s characters.") % {"label": label, "max": max_length},
                               param=param)
    return value


def _move(statement: Statement, to: StatementStatus, *, event: str, actor, parameters: dict | None = None,
          **fields) -> Statement:
    """Change the locked statement's status (and `fields`) and record the event; the transition was checked."""
    before = statement.status
    check_statement_transition(before, to)
    statement.status = to
    for name, value in fields.items():
        setattr(statement, name, value)
    statement.save(update_fields=["status", *fields, "updated_at"])
    statement_event_record(statement=statement, type=event, from_status=before, to_status=to,
                           parameters=parameters, actor=actor)
    return statement


def _audit(statement: Statement, action: str, actor, **payload) -> None:
    audit_record(action=f"settlement.statement_{action}", actor=actor, object_type="statement",
                 object_id=statement.pk, payload={"number": statement.number, **payload})


# ---- issue, confirm, dispute ----------------------------------------------------------------------


@transaction.atomic
def statement_issue(*, statement: Statement, actor=None) -> Statement:
    """Finance issues a draft (only a draft): from now on the merchant sees it and may confirm or dispute it."""
    locked = statement_select_for_update(statement_id=statement.pk)
    _platform_only(locked, actor)
    _not_locked(locked)
    if locked.status != S.DRAFT:  # a disputed statement goes back to issued only by adjust or re-issue
        raise InvalidTransition(_("Only a draft can be issued; %(number)s is %(status)s.") % {
            "number": locked.number, "status": locked.status}, param="status", current=locked.status,
            target=S.ISSUED)
    _move(locked, S.ISSUED, event="issued", actor=actor, parameters={"net_minor": locked.net_minor},
          issued_at=timezone.now())
    _audit(locked, "issued", actor, net_minor=locked.net_minor, revision=locked.revision)
    statement_issued_notify(statement=locked)
    return locked


@transaction.atomic
def statement_confirm(*, statement: Statement, actor=None) -> Statement:
    """The merchant confirms: locked; posts the confirmation entry; net <= 0 carries forward.

    Only an issued statement (confirming twice: InvalidTransition). The entry
    is computed from the lines (one aggregate query) and must agree with the
    statement's net, else StatementTotalsStale. With a net above zero the
    statement waits for its payout; otherwise it moves on to carried_forward
    and the merchant's next statement brings the balance in.
    """
    locked = statement_select_for_update(statement_id=statement.pk)
    _merchant_scope(locked, actor)
    check_statement_transition(locked.status, S.CONFIRMED)
    amounts = ledger_amounts_by_statement(statement_ids=[locked.pk]).get(locked.pk, LedgerAmounts())
    if amounts.net_minor != locked.net_minor:
        raise StatementTotalsStale(_("Statement %(number)s: its net does not match its lines; finance must "
                                     "re-issue it.") % {"number": locked.number}, param="statement",
                                   net_minor=locked.net_minor, lines_net_minor=amounts.net_minor)
    entry = posting_recipes.statement_confirmed(
        statement_number=locked.number, merchant=locked.merchant, day=timezone.localdate(), actor=actor,
        **amounts.recipe_amounts(locked.currency))
    now = timezone.now()
    _move(locked, S.CONFIRMED, event="confirmed", actor=actor,
          parameters={"net_minor": locked.net_minor, "revision": locked.revision,
                      "journal_entry": entry.pk if entry else None},
          confirmed_at=now, confirmed_by=actor_label(actor))
    if locked.net_minor <= 0:
        _move(locked, S.CARRIED_FORWARD, event="carried_forward", actor=actor,
              parameters={"net_minor": locked.net_minor})
    return locked


@transaction.atomic
def statement_dispute(*, statement: Statement, reason: str, actor=None) -> Statement:
    """The merchant disputes an issued statement, saying why (1-1000 characters); finance answers."""
    locked = statement_select_for_update(statement_id=statement.pk)
    _merchant_scope(locked, actor)
    _not_locked(locked)
    check_statement_transition(locked.status, S.DISPUTED)
    reason = _text(reason, param="reason", label=_("The reason"), max_length=REASON_MAX_LENGTH)
    _move(locked, S.DISPUTED, event="disputed", actor=actor, parameters={"reason": reason},
          disputed_at=timezone.now(), dispute_reason=reason)
    statement_disputed_notify(statement=locked)
    return locked


# ---- finance answers a dispute ----------------------------------------------------------------------


def _amount(value, *, param: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_MINOR:
        raise ValidationFailed(_("The amount is a whole number of minor units."), param=param)
    return value


@transaction.atomic
def statement_adjust(*, statement: Statement, amount_minor: int, note: str, actor=None) -> Statement:
    """Finance answers a dispute with an adjustment line (either sign) and issues the statement again.

    The line's net is the amount (positive: more for the merchant); totals are
    refreshed from the lines, the revision goes up, and the statement is issued again.
    """
    locked = statement_select_for_update(statement_id=statement.pk)
    _platform_only(locked, actor)
    _disputed(locked)
    amount = _amount(amount_minor, param="amount")
    if amount == 0:
        raise ValidationFailed(_("An adjustment cannot be zero."), param="amount")
    note = _text(note, param="note", label=_("The note"), max_length=NOTE_MAX_LENGTH)
    line = StatementLine.objects.create(statement=locked, merchant_id=locked.merchant_id, currency=locked.currency,
                                        kind=LineKind.ADJUSTMENT, net_minor=amount, note=note)
    generation.statement_totals_refresh(statement_ids=[locked.pk])
    locked.refresh_from_db()
    _move(locked, S.ISSUED, event="adjusted", actor=actor,
          parameters={"amount_minor": amount, "note": note, "line": line.pk, "revision": locked.revision + 1,
                      "net_minor": locked.net_minor},
          revision=locked.revision + 1, issued_at=timezone.now())
    _audit(locked, "adjusted", actor, amount_minor=amount, note=note, revision=locked.revision,
           net_minor=locked.net_minor)
    statement_issued_notify(statement=locked)
    return locked


@transaction.atomic
def statement_reissue(*, statement: Statement, actor=None) -> Statement:
    """Finance answers a dispute by recomputing the lines under the current fee rules and issuing again."""
    locked = statement_select_for_update(statement_id=statement.pk)
    _platform_only(locked, actor)
    _disputed(locked)
    net_before = locked.net_minor
    generation.statement_lines_recompute(statement=locked)
    locked.refresh_from_db()
    _move(locked, S.ISSUED, event="reissued", actor=actor,
          parameters={"revision": locked.revision + 1, "net_minor_before": net_before, "net_minor": locked.net_minor},
          revision=locked.revision + 1, issued_at=timezone.now())
    _audit(locked, "reissued", actor, revision=locked.revision, net_minor_before=net_before,
           net_minor=locked.net_minor)
    statement_issued_notify(statement=locked)
    return locked


# ---- payout ------------------------------------------------------------------------------------------


def _voucher_checked(voucher) -> tuple[File, str]:
    """The voucher as a Django File and its content type, decided by its first bytes; else VoucherRejected."""
    if isinstance(voucher, (bytes, bytearray)):
        voucher = ContentFile(bytes(voucher))
    if voucher is None or not hasattr(voucher, "read"):
        raise VoucherRejected(_("A payout needs its voucher: a PDF, PNG or JPEG file."), param="voucher")
    if not isinstance(voucher, File):
        voucher = File(voucher)
    voucher.seek(0)
    head = voucher.read(16)
    voucher.seek(0)
    return voucher, voucher_content_type(head or b"", voucher.size or 0)


def _payout_checked(locked: Statement, amount_minor, payout_date, reference) -> str:
    check_statement_transition(locked.status, S.PAID)
    if locked.net_minor <= 0:  # such a statement went on to carried_forward; never pay it
        raise InvalidTransition(_("Statement %(number)s has nothing to pay out.") % {"number": locked.number},
                                param="status")
    if _amount(amount_minor, param="amount") != locked.net_minor:
        raise PayoutAmountMismatch(
            _("The payout of %(number)s must be its net amount, %(net)s %(currency)s.") % {
                "number": locked.number, "net": Money(locked.net_minor, locked.currency).to_string(),
                "currency": locked.currency}, param="amount", expected=locked.net_minor)
    if not isinstance(payout_date, date) or isinstance(payout_date, datetime):
        raise ValidationFailed(_("The payout date must be a date."), param="payout_date")
    return _text(reference, param="reference", label=_("The bank reference"), max_length=REFERENCE_MAX_LENGTH)


@transaction.atomic
def statement_record_payout(*, statement: Statement, amount_minor: int, payout_date: date, reference: str,
                            voucher, actor=None) -> Statement:
    """Record the payout of a confirmed statement with its voucher (PDF or image); posts the payout entry.

    The amount must be the statement's net (else PayoutAmountMismatch), the
    bank's reference is required, and the voucher must be a PDF, PNG or JPEG
    of at most 10 MB judged by its bytes (else VoucherRejected). The file is
    stored under a generated name, never the uploader's; it is written last
    and removed again if the row cannot be saved, so a refusal leaves nothing.
    """
    locked = statement_select_for_update(statement_id=statement.pk)
    _platform_only(locked, actor)
    reference = _payout_checked(locked, amount_minor, payout_date, reference)
    voucher, content_type = _voucher_checked(voucher)
    entry = posting_recipes.merchant_paid_out(statement_number=locked.number, merchant=locked.merchant,
                                              amount=Money(locked.net_minor, locked.currency), day=payout_date,
                                              actor=actor)
    locked.payout_voucher.save(f"{uuid.uuid4().hex}.{VOUCHER_EXTENSIONS[content_type]}", voucher, save=False)
    try:
        with transaction.atomic():
            _move(locked, S.PAID, event="paid", actor=actor,
                  parameters={"amount_minor": locked.net_minor, "payout_date": payout_date.isoformat(),
                              "reference": reference, "voucher_type": content_type, "journal_entry": entry.pk},
                  payout_date=payout_date, payout_amount_minor=locked.net_minor, payout_reference=reference,
                  payout_voucher=locked.payout_voucher, payout_voucher_type=content_type,
                  paid_by=actor_label(actor))
            _audit(locked, "paid", actor, amount_minor=locked.net_minor, payout_date=payout_date,
                   reference=reference, voucher_type=content_type)
    except BaseException:
        locked.payout_voucher.delete(save=False)
        raise
    statement_paid_notify(statement=locked)
    return locked
