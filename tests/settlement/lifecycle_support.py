"""Statements built straight with the ORM for the lifecycle tests, and what a refusal must leave untouched.

The lines are written as the generation would write them (per-line amounts
that obey net = collected - service fee - payment fee - refunds) and the
totals summed here, independently of the services under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Sum

from clearhouse.accounts.principal import Principal, principal_for_api_key
from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import api_key_create
from clearhouse.core.models import AuditEvent
from clearhouse.ledger.models import Account, JournalEntry, Posting
from clearhouse.settlement.models import Statement, StatementEvent, StatementLine

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
SUMMED = ("order_amount_minor", "merchant_coupon_minor", "collected_minor", "platform_funded_minor",
          "service_fee_minor", "payment_fee_minor", "refunds_minor", "net_minor")


@pytest.fixture
def media_root(settings, tmp_path):
    """Vouchers go to a fresh directory per test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def order_line(*, order_id: int, collected: int, service_fee: int = 0, payment_fee: int = 0, refunds: int = 0,
               platform_funded: int = 0, merchant_coupon: int = 0) -> dict:
    """One settled order (amounts in minor units)."""
    return dict(kind="order", order_id=order_id, order_number=f"SO-20261101-{order_id:06d}",
                order_amount_minor=collected + merchant_coupon, merchant_coupon_minor=merchant_coupon,
                collected_minor=collected, platform_funded_minor=platform_funded,
                paid_minor=collected - platform_funded, service_fee_minor=service_fee,
                payment_fee_minor=payment_fee, refunds_minor=refunds,
                net_minor=collected - service_fee - payment_fee - refunds, fee_rate_ppm=50000, fixed_fee_minor=0,
                payment_fee_basis="actual", eligible_at=datetime(2026, 11, 1, 10, tzinfo=UTC))


def clawback_line(*, refund_id: int, order_id: int, amount: int) -> dict:
    """A refund of an order settled earlier, taken back."""
    return dict(kind="clawback", refund_id=refund_id, order_id=order_id, order_number=f"SO-20261001-{order_id:06d}",
                refunds_minor=amount, net_minor=-amount)


def carry_forward_line(*, carried_from: Statement) -> dict:
    """An earlier statement's negative net, brought in."""
    return dict(kind="carry_forward", carried_from_id=carried_from.pk, net_minor=carried_from.net_minor,
                note=f"Carried forward from {carried_from.number}")


def statement_make(merchant, *, number: str, lines: list[dict], status: str = "issued",
                   currency: str = "CNY") -> Statement:
    """A statement of `merchant` in `status` with these lines, its totals their sums."""
    statement = Statement.objects.create(
        number=number, merchant=merchant, currency=currency, kind="manual", run_key=f"test:{number}",
        period_start=date(2026, 11, 1), period_end=date(2026, 11, 7),
        cutoff_at=datetime(2026, 11, 8, tzinfo=UTC), status=status, created_by="test",
        issued_at=None if status == "draft" else datetime(2026, 11, 8, tzinfo=UTC))
    StatementLine.objects.bulk_create([StatementLine(statement=statement, merchant_id=merchant.pk, currency=currency,
                                                     **line) for line in lines])
    return totals_summed(statement)


def totals_summed(statement: Statement) -> Statement:
    lines = StatementLine.objects.filter(statement=statement)
    sums = lines.aggregate(**{name: Sum(name) for name in SUMMED})
    for name in SUMMED:
        setattr(statement, name, sums[name] or 0)
    statement.line_count = lines.count()
    statement.order_count = lines.filter(kind="order").count()
    statement.adjustments_minor = lines.filter(kind="adjustment").aggregate(s=Sum("net_minor"))["s"] or 0
    statement.carried_forward_minor = lines.filter(kind="carry_forward").aggregate(s=Sum("net_minor"))["s"] or 0
    statement.save()
    return statement


def merchant_principal(merchant, name: str, role: Role = Role.MERCHANT_ADMIN) -> Principal:
    """A merchant's API key, as the API sees its caller (a key: no password hashing to wait for)."""
    key, _ = api_key_create(name=name, role=role, merchant=merchant)
    return principal_for_api_key(key)


def everything(statement: Statement) -> dict:
    """What a refused request must leave as it was: the statement, its lines and events, the ledger, the
    audit chain and the stored files."""
    media = Path(settings.MEDIA_ROOT)
    return {
        "statement": Statement.objects.filter(pk=statement.pk).values().get(),
        "lines": list(StatementLine.objects.filter(statement_id=statement.pk).order_by("id").values()),
        "events": list(StatementEvent.objects.filter(statement_id=statement.pk).values_list("id", flat=True)),
        "entries": JournalEntry.objects.count(),
        "postings": Posting.objects.count(),
        "accounts": Account.objects.count(),
        "audit": AuditEvent.objects.count(),
        "files": sorted(str(p) for p in media.rglob("*") if p.is_file()) if media.exists() else [],
    }


def due_balance(merchant, currency: str = "CNY") -> int:
    """The ledger's settlement-due balance for the merchant (negative: owed to it; positive: it owes)."""
    total = Posting.objects.filter(account__code="2200", account__merchant=merchant,
                                   account__currency=currency).aggregate(s=Sum("amount_minor"))["s"]
    return int(total or 0)


def postings_of(entry: JournalEntry) -> dict[str, int]:
    """An entry's postings as {account code: signed amount}."""
    return {p.account.code: p.amount_minor for p in entry.postings.select_related("account")}
