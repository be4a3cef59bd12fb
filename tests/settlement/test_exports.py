"""A statement's downloads read back: the PDF's text names the statement and its net (Chinese merchant names
render), the XLSX's Summary and Lines sheets hold exact numbers that sum to the statement's totals, and the CSV
(UTF-8 with a BOM) parses to lines whose amounts are exact decimal strings that total the statement."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from clearhouse.accounts.services import merchant_create
from clearhouse.settlement import exports
from tests.web.settlement_support import make_statement, order_line


@pytest.fixture
def statement(merchant):
    return make_statement(merchant, number="ST-20261130-0001")


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _csv_rows(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads the file as UTF-8
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_pdf_names_the_statement_its_merchant_and_net(statement):
    data = exports.statement_pdf(statement)
    assert data.startswith(b"%PDF")
    text = _pdf_text(data)
    assert "ST-20261130-0001" in text and "Tea House" in text
    assert statement.net_minor == 36804
    assert "368.04" in text  # net
    assert "SO-20261102-000002" in text  # a line
    assert "2026-11-01" in text and "2026-11-30" in text  # the period


def test_the_pdf_renders_a_chinese_merchant_name_in_chinese(business_type):
    merchant = merchant_create(code="longjing", name="西湖龙井茶庄", business_type=business_type)
    statement = make_statement(merchant, number="ST-20261130-0002")
    text = _pdf_text(exports.statement_pdf(statement, language="zh-hans"))
    assert "西湖龙井茶庄" in text
    assert "结算单" in text  # the heading, translated


def test_the_xlsx_has_a_summary_and_lines_whose_exact_numbers_sum_to_the_totals(statement):
    book = load_workbook(io.BytesIO(exports.statement_xlsx(statement)))
    assert book.sheetnames == ["Summary", "Lines"]
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["Statement"] == "ST-20261130-0001" and summary["Merchant"] == "Tea House"
    assert Decimal(str(summary["Net payable to the merchant"])) == Decimal("368.04")
    assert Decimal(str(summary["Invoice platform → merchant (fees charged)"])) == Decimal("3.41")
    assert Decimal(str(summary["Invoice merchant → platform (platform-funded amounts)"])) == Decimal("10.00")
    rows = list(book["Lines"].iter_rows(values_only=True))
    header, lines = rows[0], rows[1:]
    assert len(lines) == 3
    net = header.index("Net")
    collected = header.index("Collected")
    assert sum(Decimal(str(r[net])) for r in lines) == Decimal(statement.net_minor) / 100
    assert sum(Decimal(str(r[collected])) for r in lines) == Decimal(statement.collected_minor) / 100
    sheet = book["Lines"]
    assert sheet.cell(row=2, column=net + 1).number_format == "#,##0.00"
    assert book["Lines"].cell(row=2, column=1).value == "Order"


def test_amounts_keep_the_currencys_exponent_in_the_xlsx(merchant):
    statement = make_statement(merchant, number="ST-JPY-1", currency="JPY",
                               lines=[order_line(number="SO-J-1", collected=1680, service_fee=10)])
    book = load_workbook(io.BytesIO(exports.statement_xlsx(statement)))
    header = [c.value for c in book["Lines"][1]]
    cell = book["Lines"].cell(row=2, column=header.index("Net") + 1)
    assert cell.value == 1670 and cell.number_format == "#,##0"


def test_a_formula_in_free_text_stays_text(merchant):
    line = order_line(number="SO-X-1", collected=100, service_fee=1)
    statement = make_statement(merchant, number="ST-F-1", lines=[{**line, "note": "=HYPERLINK(\"http://x\")"}])
    book = load_workbook(io.BytesIO(exports.statement_xlsx(statement)))
    header = [c.value for c in book["Lines"][1]]
    assert book["Lines"].cell(row=2, column=header.index("Note") + 1).value.startswith("'=")
    assert _csv_rows(exports.statement_csv(statement))[0]["note"].startswith("'=")


def test_the_csv_parses_and_its_exact_amounts_total_the_statement(statement):
    rows = _csv_rows(exports.statement_csv(statement))
    assert len(rows) == statement.line_count == 3
    assert {r["statement"] for r in rows} == {"ST-20261130-0001"}
    assert rows[0]["net"] == "166.49" and rows[0]["fee_rate"] == "0.006"
    for column, field in (("net", "net_minor"), ("collected", "collected_minor"), ("refunds", "refunds_minor"),
                          ("service_fee", "service_fee_minor"), ("platform_funded", "platform_funded_minor")):
        assert sum(Decimal(r[column]) for r in rows) * 100 == getattr(statement, field), column


def test_the_csv_keeps_chinese_text(business_type):
    merchant = merchant_create(code="longjing", name="西湖龙井茶庄", business_type=business_type)
    line = order_line(number="SO-Z-1", collected=100, service_fee=1)
    statement = make_statement(merchant, number="ST-Z-1", lines=[{**line, "note": "调整, 运费补偿"}])
    assert _csv_rows(exports.statement_csv(statement))[0]["note"] == "调整, 运费补偿"


def test_a_negative_clawback_line_is_an_exact_negative_amount(merchant):
    clawback = {"kind": "clawback", "order_number": "SO-OLD-1", "refunds_minor": 1234, "net_minor": -1234}
    statement = make_statement(merchant, number="ST-C-1",
                               lines=[order_line(number="SO-N-1", collected=10000, service_fee=60), clawback])
    rows = _csv_rows(exports.statement_csv(statement))
    assert [r["kind"] for r in rows] == ["order", "clawback"]
    assert rows[1]["net"] == "-12.34"
    book = load_workbook(io.BytesIO(exports.statement_xlsx(statement)))
    header = [c.value for c in book["Lines"][1]]
    assert Decimal(str(book["Lines"].cell(row=3, column=header.index("Net") + 1).value)) == Decimal("-12.34")
    assert "-CN¥12.34" in _pdf_text(exports.statement_pdf(statement))


def test_a_statement_larger_than_one_read_batch_exports_every_line_once(merchant):
    lines = [order_line(number=f"SO-BIG-{i:05d}", collected=1000 + i, service_fee=6) for i in range(2500)]
    statement = make_statement(merchant, number="ST-BIG-1", lines=lines)
    rows = _csv_rows(exports.statement_csv(statement))
    assert len(rows) == 2500 and len({r["reference"] for r in rows}) == 2500
    assert sum(Decimal(r["net"]) for r in rows) * 100 == statement.net_minor
    book = load_workbook(io.BytesIO(exports.statement_xlsx(statement)), read_only=True)
    assert sum(1 for _ in book["Lines"].iter_rows(min_row=2)) == 2500
