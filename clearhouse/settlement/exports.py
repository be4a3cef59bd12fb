"""A statement as the documents a merchant downloads: PDF, XLSX (a Summary and a Lines sheet) and CSV.

Amounts are integer minor units in the database; here each becomes an exact
Decimal in major units with the currency's exponent (`Money.amount`), built
before anything is written: XLSX cells get that Decimal as a number with a
matching number format, CSV cells its plain decimal string ("-12.30"). No
amount is ever computed in floating point. Lines are read with `.iterator()`
and written row by row (openpyxl's write-only mode, csv's writer), so a
statement with a hundred thousand lines is never held in memory as objects.

The CSV starts with a UTF-8 byte order mark: without it Excel reads UTF-8 as
the local code page and a Chinese merchant name comes out garbled.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clearhouse.core.money import Money
from clearhouse.core.pdf import render_pdf
from clearhouse.settlement.domain import LineKind, ppm_to_rate
from clearhouse.settlement.models import Statement, StatementLine

# Excel keeps numbers as binary doubles: 15 significant digits survive exactly. Larger amounts (never seen in
# practice) are written as exact text rather than silently altered.
XLSX_EXACT_DIGITS = 15
CSV_BOM = "\ufeff"
LINE_BATCH = 2000

STATUS_LABELS = {
    "draft": gettext_lazy("Draft"), "issued": gettext_lazy("Issued"), "disputed": gettext_lazy("Disputed"),
    "confirmed": gettext_lazy("Confirmed"), "paid": gettext_lazy("Paid"),
    "carried_forward": gettext_lazy("Carried forward"),
}
KIND_LABELS = {
    LineKind.ORDER.value: gettext_lazy("Order"), LineKind.CLAWBACK.value: gettext_lazy("Clawback"),
    LineKind.ADJUSTMENT.value: gettext_lazy("Adjustment"),
    LineKind.CARRY_FORWARD.value: gettext_lazy("Carried forward"),
}
# (header, StatementLine field) of the line amounts, in the order every export shows them.
LINE_AMOUNTS = [
    (gettext_lazy("Order amount"), "order_amount_minor"),
    (gettext_lazy("Merchant coupon"), "merchant_coupon_minor"),
    (gettext_lazy("Collected"), "collected_minor"),
    (gettext_lazy("Platform-funded"), "platform_funded_minor"),
    (gettext_lazy("Customer paid"), "paid_minor"),
    (gettext_lazy("Service fee"), "service_fee_minor"),
    (gettext_lazy("Payment fee"), "payment_fee_minor"),
    (gettext_lazy("Refunds"), "refunds_minor"),
    (gettext_lazy("Net"), "net_minor"),
]


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def period_text(statement: Statement) -> str:
    end = statement.period_end.isoformat()
    return f"{statement.period_start.isoformat()} \u2013 {end}" if statement.period_start else f"\u2013 {end}"


def rate_text(ppm: int | None) -> str:
    """A frozen fee rate as a percentage: 6000 ppm -> "0.6%" (exact: ppm_to_rate is a Decimal)."""
    if ppm is None:
        return ""
    percent = (ppm_to_rate(ppm) * 100).normalize()
    return f"{percent:f}%"


def summary_rows(statement: Statement) -> list[tuple[str, int]]:
    """(label, minor units) of the statement's totals and its two invoice amounts, in display order."""
    s = statement
    return [
        (_("Order amount"), s.order_amount_minor),
        (_("Merchant coupons"), s.merchant_coupon_minor),
        (_("Collected"), s.collected_minor),
        (_("Service fee"), s.service_fee_minor),
        (_("Payment fee"), s.payment_fee_minor),
        (_("Refunds"), s.refunds_minor),
        (_("Adjustments"), s.adjustments_minor),
        (_("Carried forward"), s.carried_forward_minor),
        (_("Net payable to the merchant"), s.net_minor),
        (_("Platform-funded discounts (coupons and points)"), s.platform_funded_minor),
        (_("Invoice platform → merchant (fees charged)"), s.charged_by_platform_minor),
        (_("Invoice merchant → platform (platform-funded amounts)"), s.platform_funded_minor),
    ]


def statement_lines_iter(statement: Statement) -> Iterator[StatementLine]:
    """The statement's lines in order, streamed from the database."""
    return StatementLine.objects.filter(statement_id=statement.pk).order_by("id").iterator(chunk_size=LINE_BATCH)


def carried_from_numbers(statement: Statement) -> dict[int, str]:
    """Statement numbers of the earlier statements whose negative balance this one carries (few lines)."""
    ids = StatementLine.objects.filter(statement_id=statement.pk, kind=LineKind.CARRY_FORWARD).values_list(
        "carried_from_id", flat=True)
    return dict(Statement.objects.filter(pk__in=[i for i in ids if i]).values_list("pk", "number"))


def line_reference(line: StatementLine, carried: dict[int, str]) -> str:
    """What the line is about: the order number, or the earlier statement a balance came from."""
    if line.kind == LineKind.CARRY_FORWARD and line.carried_from_id:
        return carried.get(line.carried_from_id, str(line.carried_from_id))
    return line.order_number


def eligible_text(line: StatementLine) -> str:
    return timezone.localtime(line.eligible_at).strftime("%Y-%m-%d %H:%M") if line.eligible_at else ""


# --- PDF -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PdfLine:
    kind: str
    reference: str
    eligible: str
    collected: str
    fees: str
    refunds: str
    net: str
    rate: str
    note: str


def _pdf_lines(statement: Statement, money) -> Iterator[PdfLine]:
    carried = carried_from_numbers(statement)
    for line in statement_lines_iter(statement):
        yield PdfLine(kind_label(line.kind), line_reference(line, carried), eligible_text(line),
                      money(line.collected_minor), money(line.service_fee_minor + line.payment_fee_minor),
                      money(line.refunds_minor), money(line.net_minor), rate_text(line.fee_rate_ppm), line.note)


def statement_pdf(statement: Statement, *, language: str = "en") -> bytes:
    """Header (merchant, period, number, status), totals and invoice amounts, then every line."""
    locale = "zh_Hans_CN" if language.lower().startswith("zh") else "en"

    def money(minor: int) -> str:
        return Money(minor, statement.currency).format(locale=locale)

    with translation.override(language):
        summary = [(label, money(minor)) for label, minor in summary_rows(statement)]
        status = status_label(statement.status)
    context = {
        "statement": statement, "merchant": statement.merchant, "period": period_text(statement),
        "status": status, "summary": summary, "net": money(statement.net_minor),
        "charged_by_platform": money(statement.charged_by_platform_minor),
        "platform_funded": money(statement.platform_funded_minor),
        "payout_amount": money(statement.payout_amount_minor) if statement.payout_amount_minor is not None else "",
        "lines": _pdf_lines(statement, money),
        "generated_at": timezone.localtime().strftime("%Y-%m-%d %H:%M %Z"),
    }
    return render_pdf(template="settlement/statement_pdf.html", context=context, language=language)


# --- XLSX ----------------------------------------------------------------------------------------
def number_format(exponent: int) -> str:
    """Excel's number format for a currency's amounts: grouped, with exactly its decimal places."""
    return "#,##0" + ("." + "0" * exponent if exponent else "")


def xlsx_amount(minor: int, currency: str) -> Decimal | str:
    """The exact major-unit Decimal (Excel reads it as a number), or its exact text when Excel could not hold it."""
    amount = Money(minor, currency).amount
    if len(amount.as_tuple().digits) > XLSX_EXACT_DIGITS:
        return format(amount, "f")
    return amount


def statement_xlsx(statement: Statement, *, language: str = "en") -> bytes:
    """A workbook with a Summary sheet (the statement's facts and totals) and a Lines sheet (one row a line)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    currency = statement.currency
    fmt = number_format(Money(0, currency).exponent)
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)

    def cell(sheet, value, *, amount: bool = False, header: bool = False):
        c = WriteOnlyCell(sheet, value=value)
        if amount:
            c.number_format = fmt
        if header:
            c.font = bold
        return c

    with translation.override(language):
        summary = workbook.create_sheet("Summary")
        summary.column_dimensions["A"].width = 48
        summary.column_dimensions["B"].width = 22
        for label, value in _summary_facts(statement):
            summary.append([cell(summary, label, header=True), value])
        for label, minor in summary_rows(statement):
            summary.append([cell(summary, label, header=True),
                            cell(summary, xlsx_amount(minor, currency), amount=True)])

        lines = workbook.create_sheet("Lines")
        headers = [_("Kind"), _("Order / statement"), _("Eligible at"), *(str(h) for h, _f in LINE_AMOUNTS),
                   _("Fee rate"), _("Note")]
        lines.append([cell(lines, h, header=True) for h in headers])
        carried = carried_from_numbers(statement)
        for line in statement_lines_iter(statement):
            lines.append([kind_label(line.kind), text_safe(line_reference(line, carried)), eligible_text(line),
                          *(cell(lines, xlsx_amount(getattr(line, field), currency), amount=True)
                            for _h, field in LINE_AMOUNTS),
                          rate_text(line.fee_rate_ppm), text_safe(line.note)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _summary_facts(statement: Statement) -> list[tuple[str, str | int]]:
    facts = [
        (_("Statement"), statement.number), (_("Merchant"), text_safe(statement.merchant.name)),
        (_("Currency"), statement.currency), (_("Period"), period_text(statement)),
        (_("Status"), status_label(statement.status)), (_("Revision"), statement.revision),
        (_("Orders"), statement.order_count), (_("Lines"), statement.line_count),
    ]
    if statement.payout_date:
        facts += [(_("Paid on"), statement.payout_date.isoformat()),
                  (_("Bank reference"), text_safe(statement.payout_reference))]
    return facts


# --- CSV -----------------------------------------------------------------------------------------
CSV_COLUMNS = ["statement", "currency", "kind", "reference", "eligible_at",
               *(field.removesuffix("_minor") for _h, field in LINE_AMOUNTS), "fee_rate", "note"]


def statement_csv(statement: Statement) -> bytes:
    """One row a line: stable column names (for machines), amounts as exact decimal strings, UTF-8 with a BOM."""
    buffer = io.StringIO()
    buffer.write(CSV_BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    carried = carried_from_numbers(statement)
    currency = statement.currency
    for line in statement_lines_iter(statement):
        writer.writerow([statement.number, currency, line.kind, line_reference(line, carried),
                         line.eligible_at.isoformat() if line.eligible_at else "",
                         *(Money(getattr(line, field), currency).to_string() for _h, field in LINE_AMOUNTS),
                         format(ppm_to_rate(line.fee_rate_ppm), "f") if line.fee_rate_ppm is not None else "",
                         text_safe(line.note)])
    return buffer.getvalue().encode("utf-8")


def text_safe(text: str) -> str:
    """Free text that a spreadsheet would run as a formula ("=HYPERLINK(...)") is prefixed with a quote."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_filename(statement: Statement, extension: str) -> str:
    return f"statement-{statement.number}.{extension}"
