"""Recording a payout: the statement's net, the bank's reference and a voucher that really is a PDF or an image.

The merchant's settlement-due balance returns to zero; any refusal leaves the statement, the ledger and
the media directory as they were.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from clearhouse.core.errors import DomainError
from clearhouse.core.models import AuditEvent
from clearhouse.ledger.models import JournalEntry
from clearhouse.ledger.services import period_close, period_create
from clearhouse.settlement.domain import VOUCHER_MAX_BYTES
from clearhouse.settlement.models import Statement
from clearhouse.settlement.services import statement_confirm, statement_record_payout
from clearhouse.settlement.services import statements as statement_services
from tests.settlement.lifecycle_support import (  # noqa: F401 (fixture)
    JPEG,
    PDF,
    PNG,
    due_balance,
    everything,
    media_root,
    merchant_principal,
    order_line,
    postings_of,
    statement_make,
)

pytestmark = pytest.mark.usefixtures("media_root")
NET = 9440  # 100.00 collected - 5.00 service fee - 0.60 payment fee
PAY_DAY = date(2026, 11, 20)


@pytest.fixture
def confirmed(merchant):
    """A statement the Tea House confirmed: 94.40 is due to it."""
    statement = statement_make(merchant, number="ST-9", lines=[
        order_line(order_id=1, collected=10000, service_fee=500, payment_fee=60)])
    return statement_confirm(statement=statement, actor=merchant_principal(merchant, "tea"))


def pay(statement, actor, **changes):
    arguments = dict(statement=statement, amount_minor=NET, payout_date=PAY_DAY, reference="ICBC-20261120-7",
                     voucher=SimpleUploadedFile("transfer slip.pdf", PDF, content_type="application/pdf"),
                     actor=actor)
    return statement_record_payout(**{**arguments, **changes})


def refused(statement, code: str, actor, **changes) -> DomainError:
    before = everything(statement)
    with pytest.raises(DomainError) as caught:
        pay(statement, actor, **changes)
    assert caught.value.code == code, caught.value
    assert everything(statement) == before
    return caught.value


def files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


def test_the_payout_pays_the_net_and_settlement_due_returns_to_zero(merchant, confirmed, manager, media_root):
    assert due_balance(merchant) == -NET
    paid = pay(confirmed, manager)
    row = Statement.objects.get(pk=confirmed.pk)
    assert (paid.status, row.status, row.payout_date, row.payout_amount_minor, row.payout_reference, row.paid_by) == (
        "paid", "paid", PAY_DAY, NET, "ICBC-20261120-7", f"user:{manager.pk} manager")
    entry = JournalEntry.objects.get(idempotency_key="merchant_paid_out:ST-9")
    assert postings_of(entry) == {"2200": NET, "1000.main": -NET}
    assert (entry.effective_date, entry.source_type, entry.source_id) == (PAY_DAY, "statement", "ST-9")
    assert due_balance(merchant) == 0
    event = confirmed.events.order_by("id").last()
    assert (event.type, event.from_status, event.to_status) == ("paid", "confirmed", "paid")
    assert event.parameters == {"amount_minor": NET, "payout_date": "2026-11-20", "reference": "ICBC-20261120-7",
                                "voucher_type": "application/pdf", "journal_entry": entry.pk}
    audit = AuditEvent.objects.get(action="settlement.statement_paid")
    assert audit.payload["amount_minor"] == NET and audit.actor == f"user:{manager.pk} manager"


def test_the_voucher_is_stored_under_a_generated_name_with_the_type_its_bytes_show(confirmed, manager, media_root):
    upload = SimpleUploadedFile("../../etc/passwd.pdf", PDF, content_type="text/plain")
    pay(confirmed, manager, voucher=upload)
    row = Statement.objects.get(pk=confirmed.pk)
    assert row.payout_voucher_type == "application/pdf"  # from the bytes, not the browser's word
    name = row.payout_voucher.name
    assert name.startswith(f"settlement/vouchers/{datetime.now():%Y/%m}/") and name.endswith(".pdf")
    assert "passwd" not in name and ".." not in name
    assert [p.relative_to(media_root).as_posix() for p in files(media_root)] == [name]
    assert (media_root / name).read_bytes() == PDF


@pytest.mark.parametrize(("content", "content_type", "extension"), [
    (PNG, "image/png", ".png"), (JPEG, "image/jpeg", ".jpg"), (PDF, "application/pdf", ".pdf")])
def test_a_png_or_jpeg_voucher_is_accepted_too(confirmed, manager, content, content_type, extension):
    pay(confirmed, manager, voucher=ContentFile(content))
    row = Statement.objects.get(pk=confirmed.pk)
    assert row.payout_voucher_type == content_type and row.payout_voucher.name.endswith(extension)


@pytest.mark.parametrize("voucher", [
    pytest.param(SimpleUploadedFile("slip.pdf", b"just some text, called .pdf"), id="text named pdf"),
    pytest.param(SimpleUploadedFile("slip.gif", b"GIF89a" + b"\x00" * 20), id="gif"),
    pytest.param(SimpleUploadedFile("slip.exe", b"MZ\x90\x00" + b"\x00" * 20), id="executable"),
    pytest.param(SimpleUploadedFile("slip.pdf", b""), id="empty"),
    pytest.param(SimpleUploadedFile("big.pdf", PDF + b"\x00" * (VOUCHER_MAX_BYTES - len(PDF) + 1)), id="over 10 MB"),
    pytest.param(None, id="missing"),
])
def test_a_voucher_that_is_not_a_pdf_or_image_is_refused(confirmed, manager, voucher):
    error = refused(confirmed, "voucher_not_accepted", manager, voucher=voucher)
    assert (error.http_status, error.param) == (400, "voucher")


def test_a_voucher_of_exactly_10_mb_is_accepted(confirmed, manager):
    pay(confirmed, manager, voucher=ContentFile(PDF + b"\x00" * (VOUCHER_MAX_BYTES - len(PDF))))
    assert Statement.objects.get(pk=confirmed.pk).status == "paid"


@pytest.mark.parametrize("amount", [NET - 1, NET + 1, 0, -NET])
def test_a_payout_amount_other_than_the_net_is_refused(confirmed, manager, amount):
    error = refused(confirmed, "payout_amount_mismatch", manager, amount_minor=amount)
    assert (error.http_status, error.param, error.details["expected"]) == (400, "amount", NET)
    assert "94.40" in error.message


@pytest.mark.parametrize(("changes", "param"), [
    ({"reference": ""}, "reference"), ({"reference": "   "}, "reference"), ({"reference": "R" * 101}, "reference"),
    ({"reference": None}, "reference"), ({"payout_date": "2026-11-20"}, "payout_date"),
    ({"payout_date": datetime(2026, 11, 20, 9)}, "payout_date"), ({"amount_minor": "94.40"}, "amount"),
])
def test_a_payout_needs_a_bank_reference_and_a_date(confirmed, manager, changes, param):
    assert refused(confirmed, "validation_failed", manager, **changes).param == param


@pytest.mark.parametrize("status", ["draft", "issued", "disputed", "carried_forward"])
def test_paying_a_statement_that_is_not_confirmed_is_refused(merchant, manager, status):
    statement = statement_make(merchant, number="ST-U", status=status, lines=[
        order_line(order_id=2, collected=10000, service_fee=500, payment_fee=60)])
    error = refused(statement, "invalid_transition", manager)
    assert error.http_status == 409


def test_paying_twice_is_refused_and_pays_once(merchant, confirmed, manager, media_root):
    pay(confirmed, manager)
    refused(confirmed, "invalid_transition", manager)
    assert JournalEntry.objects.filter(idempotency_key__startswith="merchant_paid_out:").count() == 1
    assert len(files(media_root)) == 1
    assert due_balance(merchant) == 0


def test_a_payout_dated_in_a_closed_period_is_refused_and_leaves_no_file(confirmed, manager, media_root):
    period_close(period=period_create(name="2026-11", start_date=date(2026, 11, 1), end_date=date(2026, 11, 30)))
    refused(confirmed, "period_closed", manager)
    assert files(media_root) == []


def test_the_stored_voucher_is_removed_when_the_statement_cannot_be_saved(confirmed, manager, media_root,
                                                                          monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(statement_services, "statement_event_record", broken)
    before = everything(confirmed)
    with pytest.raises(RuntimeError):
        pay(confirmed, manager)
    assert everything(confirmed) == before
    assert files(media_root) == []


def test_merchant_staff_cannot_record_a_payout(merchant, confirmed):
    refused(confirmed, "permission_denied", merchant_principal(merchant, "tea-2"))
