"""`clearhouse verify`: prove the books are what the journal says.

Checks, each set-based: every entry has two or more postings and balances
per currency; every entry's postings still hash to its fingerprint (catches
edits made behind the triggers); the balance buckets equal balances rebuilt
from the postings; nothing was posted into a period after it was closed; the
audit chain is unbroken.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Max, Sum

from clearhouse.core.audit import audit_chain_verify
from clearhouse.core.models import AuditEvent
from clearhouse.ledger.domain import entry_fingerprint
from clearhouse.ledger.models import Account, AccountingPeriod, BalanceBucket, JournalEntry, PeriodStatus, Posting


@dataclass
class VerifyReport:
    checks: list[tuple[str, int]] = field(default_factory=list)  # (check name, items checked)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _unbalanced_entries(report: VerifyReport) -> None:
    per_currency = (
        Posting.objects.values("entry_id", "currency").annotate(total=Sum("amount_minor")).exclude(total=0)
    )
    for row in per_currency.order_by("entry_id")[:1000]:
        report.problems.append(
            f"JE-{row['entry_id']}: postings in {row['currency']} sum to {row['total']} minor units, not 0"
        )
    thin = JournalEntry.objects.annotate(n=Count("postings")).filter(n__lt=2).values_list("pk", flat=True)
    for pk in thin[:1000]:
        report.problems.append(f"JE-{pk}: fewer than two postings")
    report.checks.append(("entries balance per currency", JournalEntry.objects.count()))


def _fingerprints(report: VerifyReport, batch_size: int = 5000) -> None:
    """Recompute each entry's hash from its stored postings (streamed in id order)."""
    checked = 0
    postings = (
        Posting.objects.order_by("entry_id", "id")
        .values_list("entry_id", "account_id", "amount_minor", "currency")
        .iterator(batch_size)
    )
    entries = (
        JournalEntry.objects.order_by("id")
        .values_list("id", "effective_date", "memo", "source_type", "source_id", "fingerprint")
        .iterator(batch_size)
    )
    pending = next(postings, None)
    for entry_id, effective_date, memo, source_type, source_id, stored in entries:
        lines = []
        while pending is not None and pending[0] < entry_id:
            report.problems.append(f"posting of missing entry JE-{pending[0]}")
            pending = next(postings, None)
        while pending is not None and pending[0] == entry_id:
            lines.append(pending[1:])
            pending = next(postings, None)
        computed = entry_fingerprint(
            effective_date=effective_date, memo=memo, source_type=source_type, source_id=source_id, lines=lines
        )
        if computed != stored:
            report.problems.append(f"JE-{entry_id}: content no longer matches its fingerprint (edited)")
        checked += 1
    report.checks.append(("entry fingerprints", checked))


def _buckets(report: VerifyReport) -> None:
    rebuilt = {
        (r["account_id"], r["entry__effective_date"]): (r["total"], r["n"])
        for r in Posting.objects.values("account_id", "entry__effective_date").annotate(
            total=Sum("amount_minor"), n=Count("id")
        )
    }
    cached = {
        (r["account_id"], r["effective_date"]): (r["total"], r["n"])
        for r in BalanceBucket.objects.values("account_id", "effective_date").annotate(
            total=Sum("amount_minor"), n=Sum("posting_count")
        )
    }
    for key in sorted(set(rebuilt) | set(cached), key=lambda k: (k[0], str(k[1]))):
        want, have = rebuilt.get(key, (0, 0)), cached.get(key, (0, 0))
        if (int(want[0]), int(want[1])) != (int(have[0]), int(have[1])):
            code = Account.objects.filter(pk=key[0]).values_list("code", flat=True).first()
            report.problems.append(
                f"balance cache of account {key[0]} ({code}) on {key[1]}: cached {have[0]} "
                f"minor units over {have[1]} postings, journal says {want[0]} over {want[1]}"
            )
    report.checks.append(("cached balances equal the journal", len(rebuilt)))


def _closed_periods(report: VerifyReport) -> None:
    closed = AccountingPeriod.objects.filter(status=PeriodStatus.CLOSED)
    for period in closed:
        late = JournalEntry.objects.filter(
            effective_date__gte=period.start_date, effective_date__lte=period.end_date, posted_at__gt=period.closed_at
        ).values_list("pk", flat=True)
        for pk in late[:1000]:
            report.problems.append(f"JE-{pk}: posted into period {period.name} after it was closed")
    report.checks.append(("no posting into closed periods", closed.count()))


def _audit_chain(report: VerifyReport) -> None:
    problems = audit_chain_verify()
    for p in problems:
        report.problems.append(f"audit row #{p.seq}: {p.reason}")
    report.checks.append(("audit chain", _audit_rows()))


def _audit_rows() -> int:
    return AuditEvent.objects.aggregate(n=Max("seq"))["n"] or 0


def ledger_verify() -> VerifyReport:
    report = VerifyReport()
    _unbalanced_entries(report)
    _fingerprints(report)
    _buckets(report)
    _closed_periods(report)
    _audit_chain(report)
    return report

