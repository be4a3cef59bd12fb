"""Writes to the ledger: post and reverse entries, accounts, periods.

`journal_entry_post` is the only way postings come into being. It checks the
entry (balanced per currency, accounts exist, active, in the posting's
currency, date not in a closed period), inserts entry and postings, and adds
them to the balance buckets, in one transaction and about six statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from clearhouse.core.audit import actor_label, audit_record
from clearhouse.core.errors import (
    CurrencyMismatch,
    DomainError,
    IdempotencyConflict,
    InvalidTransition,
    ValidationFailed,
)
from clearhouse.core.money import Money, normalise_currency
from clearhouse.ledger import journal_sql
from clearhouse.ledger.domain import (
    AccountInactive,
    AccountNotFound,
    EntryAlreadyReversed,
    PeriodClosed,
    PostingLine,
    check_lines,
    entry_fingerprint,
    reversal_lines,
)
from clearhouse.ledger.models import (
    Account,
    AccountingPeriod,
    AccountType,
    JournalEntry,
    PeriodStatus,
)


def _check_accounts(lines: Sequence[PostingLine], effective_date: date) -> None:
    """Accounts exist, are active and match currencies; the date is open. One query."""
    states = journal_sql.account_states({line.account_id for line in lines}, effective_date)
    for i, line in enumerate(lines):
        state = states.get(line.account_id)
        if state is None:
            raise AccountNotFound(f"No ledger account {line.account_id}.", param=f"postings[{i}].account_id")
        if not state.is_active:
            raise AccountInactive(f"Ledger account {line.account_id} is inactive.", param=f"postings[{i}].account_id")
        if state.currency != line.amount.currency:
            raise CurrencyMismatch(
                f"Account {line.account_id} is kept in {state.currency}, not {line.amount.currency}.",
                param=f"postings[{i}].currency",
            )
    if states and next(iter(states.values())).period_closed:
        raise PeriodClosed(f"{effective_date} falls in a closed accounting period.", param="effective_date")


def _existing_replay(idempotency_key: str, fingerprint: str) -> JournalEntry | None:
    """The entry already posted under this key if its content is the same; refused if not."""
    existing = JournalEntry.objects.filter(idempotency_key=idempotency_key).first()
    if existing is None:
        return None
    if existing.fingerprint != fingerprint:
        raise IdempotencyConflict(
            f"Idempotency key {idempotency_key!r} was already used for a different entry (JE-{existing.pk}).",
            param="idempotency_key",
        )
    return existing


def journal_entry_post(
    *,
    idempotency_key: str,
    effective_date: date,
    lines: Sequence[PostingLine],
    memo: str = "",
    source_type: str = "",
    source_id: str = "",
    actor=None,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    """Post one balanced entry, exactly once per idempotency key.

    Same key and same content returns the entry already posted; same key and
    different content raises IdempotencyConflict. Nothing is written when a
    rule refuses the entry.
    """
    if not idempotency_key:
        raise DomainError("An idempotency key is required.", param="idempotency_key")
    source_id = str(source_id)
    fingerprint = entry_fingerprint(
        effective_date=effective_date, memo=memo, source_type=source_type, source_id=source_id,
        lines=[(line.account_id, line.amount.minor, line.amount.currency) for line in lines],
    )
    row = dict(effective_date=effective_date, posted_at=timezone.now(), memo=memo, source_type=source_type,
               source_id=source_id, idempotency_key=idempotency_key, fingerprint=fingerprint,
               posted_by=actor_label(actor), reverses_id=reverses.pk if reverses else None)
    try:
        if connection.vendor == "postgresql":
            entry_id = _insert_in_one_statement(row, lines)
        else:
            entry_id = _insert_in_statements(row, lines)
    except _Replay as replay:
        return replay.entry
    except IntegrityError as exc:
        raise _integrity_error_meaning(exc, effective_date, reverses) from exc
    if entry_id is None:
        return _existing_replay(idempotency_key, fingerprint)
    entry = JournalEntry(id=entry_id, reverses=reverses, **{k: v for k, v in row.items() if k != "reverses_id"})
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


class _Replay(Exception):
    def __init__(self, entry: JournalEntry):
        self.entry = entry


def _refuse(lines: Sequence[PostingLine], row: dict) -> None:
    """Raise the rule the entry breaks; a replay of an entry posted before is not an error,
    even if an account was deactivated since."""
    try:
        check_lines(lines)
        _check_accounts(lines, row["effective_date"])
    except DomainError:
        replay = _existing_replay(row["idempotency_key"], row["fingerprint"])
        if replay is not None:
            raise _Replay(replay) from None
        raise


def _insert_in_statements(row: dict, lines: Sequence[PostingLine]) -> int | None:
    """Check, then entry, postings and buckets, one statement each, in one transaction."""
    _refuse(lines, row)
    # A taken key is not an error (ON CONFLICT DO NOTHING); anything else the
    # database refuses rolls back to here (a savepoint when the caller has a
    # transaction open), so the caller may catch the domain error and go on.
    with transaction.atomic():
        entry_id = journal_sql.insert_entry(**row)
        if entry_id is not None:
            journal_sql.insert_postings([(entry_id, line) for line in lines])
            journal_sql.add_to_buckets([(row["effective_date"], line) for line in lines])
    return entry_id


def _insert_in_one_statement(row: dict, lines: Sequence[PostingLine]) -> int | None:
    """PostgreSQL: everything in one statement; on refusal, ask which rule was broken."""
    try:
        check_lines(lines)
    except DomainError:
        _refuse(lines, row)
    for _attempt in range(2):
        if connection.in_atomic_block:  # a savepoint keeps a trigger's refusal from dooming the caller
            with transaction.atomic():
                entry_id, refused = journal_sql.post_in_one_statement(row, lines)
        else:
            entry_id, refused = journal_sql.post_in_one_statement(row, lines)
        if not refused:
            return entry_id
        _refuse(lines, row)  # raises, unless the accounts changed in between: then try once more
    raise DomainError("The accounts changed while posting; try again.", param="postings")


def _integrity_error_meaning(exc: IntegrityError, effective_date: date, reverses) -> Exception:
    """The domain error a database refusal stands for (the triggers and unique keys back the service's checks)."""
    if "period_closed" in str(exc):  # a period closed between our check and the insert
        return PeriodClosed(f"{effective_date} falls in a closed accounting period.", param="effective_date")
    if reverses is not None:  # reversed concurrently by another caller
        return EntryAlreadyReversed(f"JE-{reverses.pk} was already reversed.", param="entry")
    return exc


# The name the foundation issue uses for the one posting service.
post_entry = journal_entry_post


@dataclass(frozen=True)
class EntryDraft:
    """One entry of a batch for `journal_entries_post` (same fields as `journal_entry_post`)."""

    idempotency_key: str
    effective_date: date
    lines: Sequence[PostingLine]
    memo: str = ""
    source_type: str = ""
    source_id: str = ""


def journal_entries_post(*, drafts: Sequence[EntryDraft], actor=None) -> list[JournalEntry]:
    """Post many entries, all or none, in a handful of statements (for batch jobs and imports).

    Each entry obeys the rules of `journal_entry_post`, including replays by
    idempotency key; a refusal names the draft (`entries[3].postings`) and
    writes nothing. Returns the entries in the drafts' order.
    """
    fingerprints = [_draft_fingerprint(d) for d in drafts]
    _check_drafts(drafts)
    posted_at, posted_by = timezone.now(), actor_label(actor)
    rows = [dict(effective_date=d.effective_date, posted_at=posted_at, memo=d.memo, source_type=d.source_type,
                 source_id=str(d.source_id), idempotency_key=d.idempotency_key, fingerprint=f,
                 posted_by=posted_by, reverses_id=None) for d, f in zip(drafts, fingerprints, strict=True)]
    with transaction.atomic():
        inserted = journal_sql.insert_entries(_unique_keys(rows))
        new = [(inserted[d.idempotency_key], d) for d in drafts if d.idempotency_key in inserted]
        journal_sql.insert_postings([(entry_id, line) for entry_id, d in new for line in d.lines])
        journal_sql.add_to_buckets([(d.effective_date, line) for _, d in new for line in d.lines])
        # Entries inserted just now are ours, as built here: only keys taken before are read back and checked.
        by_key = {row["idempotency_key"]: _entry_of(inserted[row["idempotency_key"]], row)
                  for row in rows if row["idempotency_key"] in inserted}
        replayed = [d.idempotency_key for d in drafts if d.idempotency_key not in by_key]
        if replayed:
            by_key |= {e.idempotency_key: e for e in JournalEntry.objects.filter(idempotency_key__in=replayed)}
        for k, (draft, fingerprint) in enumerate(zip(drafts, fingerprints, strict=True)):
            if by_key[draft.idempotency_key].fingerprint != fingerprint:
                raise IdempotencyConflict(f"entries[{k}]: key {draft.idempotency_key!r} was used for another entry.",
                                          param=f"entries[{k}].idempotency_key")
    return [by_key[d.idempotency_key] for d in drafts]


def _entry_of(entry_id: int, row: dict) -> JournalEntry:
    """The JournalEntry just inserted from `row` (what a read would return), without reading it."""
    entry = JournalEntry(id=entry_id, **row)
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


def _draft_fingerprint(draft: EntryDraft) -> str:
    return entry_fingerprint(
        effective_date=draft.effective_date, memo=draft.memo, source_type=draft.source_type,
        source_id=str(draft.source_id),
        lines=[(line.account_id, line.amount.minor, line.amount.currency) for line in draft.lines],
    )


def _unique_keys(rows: list[dict]) -> list[dict]:
    # A key twice in one batch is posted once; the fingerprint check above refuses a clash.
    seen: dict[str, dict] = {}
    for row in rows:
        seen.setdefault(row["idempotency_key"], row)
    return list(seen.values())


def _check_drafts(drafts: Sequence[EntryDraft]) -> None:
    """The rules of journal_entry_post for every draft: one query when the drafts share one date (the usual
    case: a payment's capture and fee), two for the whole batch otherwise."""
    ids = {line.account_id for d in drafts for line in d.lines}
    dates = {d.effective_date for d in drafts}
    if len(dates) == 1 and ids:
        states = journal_sql.account_states(ids, next(iter(dates)))
        accounts = {pk: Account(pk=pk, currency=st.currency, is_active=st.is_active) for pk, st in states.items()}
        closed = [(d, d) for d in dates] if any(st.period_closed for st in states.values()) else []
    else:
        accounts = {a.pk: a for a in Account.objects.filter(pk__in=ids).only("id", "currency", "is_active")}
        closed = journal_sql.closed_periods()
    for k, draft in enumerate(drafts):
        try:
            if not draft.idempotency_key:
                raise DomainError("An idempotency key is required.", param="idempotency_key")
            check_lines(draft.lines)
            _check_draft_accounts(draft, accounts, closed)
        except DomainError as exc:
            exc.param = f"entries[{k}].{exc.param}" if exc.param else f"entries[{k}]"
            exc.message = f"entries[{k}]: {exc.message}"
            raise


def _check_draft_accounts(draft: EntryDraft, accounts: dict, closed: list) -> None:
    for i, line in enumerate(draft.lines):
        account = accounts.get(line.account_id)
        if account is None:
            raise AccountNotFound(f"No ledger account {line.account_id}.", param=f"postings[{i}].account_id")
        if not account.is_active:
            raise AccountInactive(f"Ledger account {line.account_id} is inactive.", param=f"postings[{i}].account_id")
        if account.currency != line.amount.currency:
            raise CurrencyMismatch(f"Account {line.account_id} is kept in {account.currency}.",
                                   param=f"postings[{i}].currency")
    if any(start <= draft.effective_date <= end for start, end in closed):
        raise PeriodClosed(f"{draft.effective_date} falls in a closed accounting period.", param="effective_date")


def journal_entry_lines(entry: JournalEntry) -> list[PostingLine]:
    return [
        PostingLine(p.account_id, Money(p.amount_minor, p.currency))
        for p in entry.postings.order_by("id")
    ]


def journal_entry_reverse(
    *, entry: JournalEntry, effective_date: date | None = None, memo: str = "", actor=None,
) -> JournalEntry:
    """Post the mirror image of `entry` (its correction); each entry reverses at most once."""
    if entry.reverses_id is not None:
        raise InvalidTransition("A reversal cannot itself be reversed; post a new entry.", param="entry")
    already = JournalEntry.objects.filter(reverses=entry).values_list("pk", flat=True).first()
    if already is not None:
        raise EntryAlreadyReversed(f"JE-{entry.pk} was already reversed by JE-{already}.", param="entry")
    return journal_entry_post(
        idempotency_key=f"reversal:{entry.pk}",
        effective_date=effective_date or timezone.localdate(),
        lines=reversal_lines(journal_entry_lines(entry)),
        memo=memo or f"Reversal of JE-{entry.pk}",
        source_type="reversal",
        source_id=str(entry.pk),
        actor=actor,
        reverses=entry,
    )


@transaction.atomic
def account_create(
    *, code: str, name: str, type: str, currency: str, merchant=None, customer=None, actor=None,
) -> Account:
    currency = normalise_currency(currency)
    if type not in AccountType.values:
        raise ValidationFailed(f"Account type must be one of {', '.join(AccountType.values)}.", param="type")
    try:
        with transaction.atomic():
            account = Account.objects.create(
                code=code, name=name, type=type, currency=currency, merchant=merchant, customer=customer
            )
    except IntegrityError:
        raise ValidationFailed(
            f"Account {code} in {currency} already exists for this party.", param="code"
        ) from None
    audit_record(action="ledger.account_created", actor=actor, object_type="account", object_id=account.pk,
                 payload={"code": code, "currency": currency, "type": type,
                          "merchant": merchant.pk if merchant else None, "customer": customer.pk if customer else None})
    return account


@transaction.atomic
def account_deactivate(*, account: Account, actor=None) -> Account:
    if account.is_active:
        account.is_active = False
        account.save(update_fields=["is_active"])
        audit_record(action="ledger.account_deactivated", actor=actor, object_type="account", object_id=account.pk)
    return account


@transaction.atomic
def period_create(*, name: str, start_date: date, end_date: date, actor=None) -> AccountingPeriod:
    if start_date > end_date:
        raise ValidationFailed("A period cannot end before it starts.", param="end_date")
    overlap = AccountingPeriod.objects.filter(start_date__lte=end_date, end_date__gte=start_date)
    if overlap.exists():
        raise ValidationFailed(f"The period overlaps {overlap.first().name}.", param="start_date")
    period = AccountingPeriod.objects.create(name=name, start_date=start_date, end_date=end_date)
    audit_record(action="ledger.period_created", actor=actor, object_type="period", object_id=period.pk,
                 payload={"name": name, "start": start_date, "end": end_date})
    return period


@transaction.atomic
def period_close(*, period: AccountingPeriod, actor=None) -> AccountingPeriod:
    """Close a period: from now on nothing can be posted with a date inside it.

    On PostgreSQL the close first waits for postings in flight (a SHARE lock
    on the journal, held until commit) so none lands in the period after it
    was reported closed; the insert trigger refuses any that come later.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"LOCK TABLE {JournalEntry._meta.db_table} IN SHARE MODE")
    period = AccountingPeriod.objects.select_for_update().get(pk=period.pk)
    if period.status == PeriodStatus.CLOSED:
        raise InvalidTransition(f"Period {period.name} is already closed.", param="period")
    period.status = PeriodStatus.CLOSED
    period.closed_at = timezone.now()
    period.closed_by = actor_label(actor)
    period.save(update_fields=["status", "closed_at", "closed_by"])
    audit_record(action="ledger.period_closed", actor=actor, object_type="period", object_id=period.pk,
                 payload={"name": period.name})
    return period
