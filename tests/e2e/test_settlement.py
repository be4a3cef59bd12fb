"""A statement's life in a real browser on a phone-sized screen (375 px wide).

The merchant's staff sign in, open the issued statement from their statement list and confirm it; a finance
manager signs in with a second factor and records the payout, uploading the bank's PDF voucher; the merchant
sees the statement paid and downloads the voucher (served by the portal after its scope check).
"""

from __future__ import annotations

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import user_create
from clearhouse.core.money import Money
from clearhouse.ledger.chart import SETTLEMENT_DUE, ledger_account
from clearhouse.ledger.models import JournalEntry
from clearhouse.ledger.selectors import account_balance
from clearhouse.settlement.models import Statement, StatementEvent
from tests.e2e.support import phone_page, screenshot
from tests.web.settlement_support import make_statement

pytestmark = pytest.mark.django_db(transaction=True)

DESK_PASSWORD = "x-desk-pass-1"
MANAGER_PASSWORD = "x-manager-pass-1"
WIDTH = 375
VOUCHER = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def live(live_server, settings):
    settings.LANGUAGE_CODE = "en"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    return live_server.url


def _sign_in(page, base: str, username: str, password: str, next_url: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit] >> nth=-1")
    page.wait_for_load_state()


def _fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_the_merchant_confirms_finance_pays_out_with_a_voucher_and_the_merchant_downloads_it(
        live, merchant, tmp_path):
    statement = make_statement(merchant, number="ST-E2E-0001")
    number, net = statement.number, "368.04"
    user_create(username="desk", password=DESK_PASSWORD, role=Role.MERCHANT_STAFF, merchant=merchant)
    manager = user_create(username="manager", password=MANAGER_PASSWORD, role=Role.FINANCE_MANAGER)
    device = TOTPDevice.objects.create(user=manager, name="e2e authenticator", confirmed=True)
    key, step, t0, digits = device.bin_key, device.step, device.t0, device.digits  # no ORM once the browser runs
    voucher_file = tmp_path / "icbc-transfer-voucher.pdf"
    voucher_file.write_bytes(VOUCHER)
    base = live
    with phone_page() as page:
        page.set_viewport_size({"width": WIDTH, "height": 812})
        page.on("dialog", lambda dialog: dialog.accept())  # "Confirm this statement?"

        # the merchant opens its statement from the list and confirms it
        _sign_in(page, base, "desk", DESK_PASSWORD, "/merchant/statements/")
        page.wait_for_url(re.compile(r"/merchant/statements/$"))
        assert f"¥{net}" in page.inner_text(f"#statement-{number}")
        assert _fits_the_phone(page)
        screenshot(page, "settlement-merchant-statements.png")
        page.click(f"#statement-{number} a")
        page.wait_for_url(re.compile(rf"/merchant/statements/{number}/$"))
        assert f"¥{net}" in page.inner_text("#statement-net")
        assert "¥3.41" in page.inner_text("#invoice-platform-to-merchant")
        assert page.locator(".line-row").count() == 3
        assert _fits_the_phone(page)
        screenshot(page, "settlement-merchant-statement.png")
        page.click("#confirm-statement")
        page.wait_for_load_state()
        assert page.get_attribute("#statement-status", "data-status") == "confirmed"
        assert "Awaiting payout" in page.inner_text("#payout-state")

        # finance records the payout with the bank's voucher
        page.context.clear_cookies()
        _sign_in(page, base, "manager", MANAGER_PASSWORD, f"/finance/statements/{number}/")
        page.wait_for_url(re.compile(r"/accounts/mfa/verify/"))
        page.fill("input[name=token]", f"{totp(key, step=step, t0=t0, digits=digits):0{digits}d}")
        page.click("form button[type=submit] >> nth=-1")
        page.wait_for_url(re.compile(rf"/finance/statements/{number}/$"))
        form = page.locator("#payout-form")
        assert form.locator("input[name=amount]").input_value() == net
        form.locator("input[name=payout_date]").fill("2026-12-03")
        form.locator("input[name=reference]").fill("ICBC-E2E-PAYOUT-1")
        form.locator("input[name=voucher]").set_input_files(str(voucher_file))
        assert _fits_the_phone(page)
        screenshot(page, "settlement-finance-payout.png")
        page.click("#record-payout")
        page.wait_for_url(re.compile(rf"/finance/statements/{number}/$"))
        assert page.get_attribute("#statement-status", "data-status") == "paid"
        for path, name in (("/finance/statements/", "statements"), ("/finance/settlement/periods/", "periods"),
                           ("/finance/settlement/simulate/", "simulate"), ("/finance/settlement/manual/", "manual"),
                           ("/finance/settlement/blocked/", "blocked")):
            page.goto(f"{base}{path}")
            assert _fits_the_phone(page), path
            screenshot(page, f"settlement-finance-{name}.png")

        # the merchant sees it paid and downloads the voucher
        page.context.clear_cookies()
        _sign_in(page, base, "desk", DESK_PASSWORD, f"/merchant/statements/{number}/")
        page.wait_for_url(re.compile(rf"/merchant/statements/{number}/$"))
        assert page.get_attribute("#statement-status", "data-status") == "paid"
        assert "ICBC-E2E-PAYOUT-1" in page.inner_text("#payout-reference")
        assert "2026-12-03" in page.inner_text("#payout-date")
        assert f"¥{net}" in page.inner_text("#payout-amount")
        assert _fits_the_phone(page)
        screenshot(page, "settlement-merchant-paid.png")
        with page.expect_download() as download_info:
            page.click("#voucher-link")
        download = download_info.value
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
    assert saved.name == f"payout-voucher-{number}.pdf"
    assert saved.read_bytes() == VOUCHER
    statement = Statement.objects.get(number=number)
    assert statement.status == "paid" and statement.payout_reference == "ICBC-E2E-PAYOUT-1"
    assert list(StatementEvent.objects.filter(statement=statement).values_list("type", flat=True)) == [
        "generated", "issued", "confirmed", "paid"]
    _settlement_due_is_zero(statement)


def _settlement_due_is_zero(statement: Statement) -> None:
    """Confirming credited the merchant's settlement-due account with the net; the payout debited it back."""
    entries = JournalEntry.objects.filter(source_type="statement", source_id=statement.number)
    assert entries.count() == 2
    account = ledger_account(SETTLEMENT_DUE, statement.currency, merchant=statement.merchant)
    assert account_balance(account=account) == Money(0, statement.currency)
