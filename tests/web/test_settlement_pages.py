"""Settlement pages: the merchant portal (its own statements only, issued onwards: everything else is a 404 on
every URL), finance's back office (platform staff with a second factor), confirm / dispute / issue / adjust /
payout through the forms, refusals shown with their code and nothing changed, downloads and the payout
voucher served only after the scope check."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import user_create
from clearhouse.settlement.models import Statement, StatementEvent, StatementLine
from clearhouse.settlement.services import statement_generate_manual
from clearhouse.web.settlement_forms import last_month
from tests.conftest import login_verified
from tests.settlement.factories import (
    at,
    completed_order,
    fee_rule,
    make_business_type,
    make_customer,
    make_merchant,
    settlement_row_counts,
)
from tests.web.settlement_support import make_statement

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def desk(merchant):
    """Merchant staff of the tea house (may view, confirm and dispute its statements)."""
    return user_create(username="desk", password="x-desk-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant)


@pytest.fixture
def noodle_desk(other_merchant):
    return user_create(username="noodle", password="x-noodle-pass-1", role=Role.MERCHANT_ADMIN,
                       merchant=other_merchant)


@pytest.fixture
def ours(merchant):
    return make_statement(merchant, number="ST-TEA-0001")


@pytest.fixture
def theirs(other_merchant):
    return make_statement(other_merchant, number="ST-NOODLE-0001")


def _client(user, *, verified: bool = False) -> Client:
    client = Client()
    if verified:
        login_verified(client, user)
    else:
        client.force_login(user)
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _paid(statement: Statement, *, voucher: bytes = PDF, name: str = "voucher.pdf") -> Statement:
    """A statement paid out with a voucher (written directly: the payout service is tested in tests/settlement)."""
    statement.status = "paid"
    statement.payout_date = date(2026, 12, 3)
    statement.payout_amount_minor = statement.net_minor
    statement.payout_reference = "ICBC-20261203-77"
    statement.payout_voucher.save(name, SimpleUploadedFile(name, voucher), save=False)
    statement.payout_voucher_type = "application/pdf"
    statement.save()
    return statement


def _snapshot(statement: Statement) -> tuple:
    statement.refresh_from_db()
    return (statement.status, statement.revision, statement.net_minor, statement.dispute_reason,
            statement.payout_reference, bool(statement.payout_voucher),
            StatementLine.objects.filter(statement=statement).count(),
            StatementEvent.objects.filter(statement=statement).count())


def _merchant_urls(number: str) -> list[str]:
    base = f"/merchant/statements/{number}"
    return [f"{base}/", f"{base}.pdf", f"{base}.xlsx", f"{base}.csv", f"{base}/voucher/"]


def _finance_urls(number: str) -> list[str]:
    base = f"/finance/statements/{number}"
    return ["/finance/statements/", f"{base}/", f"{base}.pdf", f"{base}.xlsx", f"{base}.csv", f"{base}/voucher/"]


# --- scope ------------------------------------------------------------------------------------------
def test_a_merchant_lists_only_its_own_statements_once_issued(desk, merchant, ours, theirs):
    draft = make_statement(merchant, number="ST-TEA-DRAFT", status="draft")
    text = _client(desk).get("/merchant/statements/").content.decode()
    assert "ST-TEA-0001" in text
    assert theirs.number not in text and draft.number not in text
    assert "¥368.04" in text and "Awaiting confirmation" in text


def test_every_settlement_url_of_another_merchants_statement_is_a_404(desk, theirs, merchant):
    _paid(theirs)
    draft = make_statement(merchant, number="ST-TEA-DRAFT", status="draft")
    client = _client(desk)
    for statement in (theirs, draft):
        before = _snapshot(statement)
        for url in _merchant_urls(statement.number):
            assert client.get(url).status_code == 404, url
        for action in ("confirm", "dispute"):
            r = client.post(f"/merchant/statements/{statement.number}/{action}/", {"reason": "not mine"})
            assert r.status_code == 404, action
        assert _snapshot(statement) == before
    assert client.get("/merchant/statements/NO-SUCH/").status_code == 404


def test_customers_and_signed_out_visitors_are_refused(client, customer_user, ours):
    urls = ["/merchant/statements/", *_merchant_urls(ours.number), *_finance_urls(ours.number),
            "/finance/settlement/blocked/", "/finance/settlement/manual/", "/finance/settlement/periods/",
            "/finance/settlement/simulate/"]
    for url in urls:
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), url
    before = _snapshot(ours)
    assert client.post(f"/merchant/statements/{ours.number}/confirm/").status_code == 302
    customer = _client(customer_user)
    for url in urls:
        assert customer.get(url).status_code == 403, url
    assert customer.post(f"/merchant/statements/{ours.number}/confirm/").status_code == 403
    assert customer.post(f"/finance/statements/{ours.number}/action/", {"action": "issue"}).status_code == 403
    assert _snapshot(ours) == before


def test_merchant_staff_cannot_use_finances_pages(desk, ours):
    client = _client(desk)
    for url in _finance_urls(ours.number):
        assert client.get(url).status_code == 403, url
    before = _snapshot(ours)
    r = client.post(f"/finance/statements/{ours.number}/payout/", {"amount": "368.04"})
    assert r.status_code == 403
    assert _snapshot(ours) == before


def test_finance_pages_need_a_verified_second_factor(clerk, ours):
    client = _client(clerk)
    for url in _finance_urls(ours.number):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/mfa/"), url


def test_platform_staff_are_not_the_merchant_portal(manager, ours):
    assert _client(manager, verified=True).get("/merchant/statements/").status_code == 403


# --- the merchant's statement ---------------------------------------------------------------------
def test_the_statement_page_shows_totals_invoices_lines_and_history(desk, ours):
    r = _client(desk).get(f"/merchant/statements/{ours.number}/")
    assert r.status_code == 200
    text = r.content.decode()
    assert 'id="statement-net">¥368.04' in text
    assert 'id="invoice-platform-to-merchant">¥3.41' in text  # service 2.28 + payment 1.13
    assert 'id="invoice-merchant-to-platform">¥10.00' in text  # platform-funded
    for number in ("SO-20261101-000001", "SO-20261102-000002", "SO-20261103-000003"):
        assert number in text
    assert "0.6%" in text  # the frozen fee rate
    assert "Issued" in text and "Generated" in text  # the timeline
    assert 'id="confirm-statement"' in text and 'id="dispute-form"' in text
    assert f"/merchant/statements/{ours.number}.pdf" in text and f"/merchant/statements/{ours.number}.xlsx" in text
    assert "test" not in r.context["events"][0].label  # actors are finance's business, not shown here
    assert "· test" not in text


def test_the_merchant_confirms_its_statement(desk, ours):
    client = _client(desk)
    r = client.post(f"/merchant/statements/{ours.number}/confirm/", follow=True)
    ours.refresh_from_db()
    assert ours.status == "confirmed" and ours.confirmed_by.endswith("desk")
    assert any("confirmed" in m for m in _messages(r))
    text = r.content.decode()
    assert "Awaiting payout" in text and 'id="confirm-statement"' not in text
    assert StatementEvent.objects.filter(statement=ours, type="confirmed").exists()


def test_confirming_twice_shows_the_refusal_and_changes_nothing(desk, ours):
    client = _client(desk)
    client.post(f"/merchant/statements/{ours.number}/confirm/")
    before = _snapshot(ours)
    r = client.post(f"/merchant/statements/{ours.number}/confirm/", follow=True)
    assert any("(invalid_transition)" in m for m in _messages(r))
    assert _snapshot(ours) == before


def test_the_merchant_disputes_with_a_reason(desk, ours):
    r = _client(desk).post(f"/merchant/statements/{ours.number}/dispute/",
                           {"reason": "Order SO-20261102-000002 was refunded in full."}, follow=True)
    ours.refresh_from_db()
    assert ours.status == "disputed" and ours.dispute_reason.startswith("Order SO-20261102")
    assert "refunded in full" in r.content.decode()


def test_a_dispute_without_a_reason_is_refused_and_changes_nothing(desk, ours):
    before = _snapshot(ours)
    r = _client(desk).post(f"/merchant/statements/{ours.number}/dispute/", {"reason": "   "})
    assert r.status_code == 400
    assert "Say why you dispute the statement. (validation_failed)" in _messages(r)
    assert _snapshot(ours) == before


def test_merchant_staff_without_the_confirm_permission_cannot_confirm(merchant, ours):
    viewer = user_create(username="viewer", password="x-viewer-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant)
    viewer.groups.set([])
    group, _ = Group.objects.get_or_create(name="statement viewers")
    group.permissions.set([Permission.objects.get(content_type__app_label="settlement", codename="view_statements")])
    viewer.groups.add(group)
    client = _client(viewer)
    assert client.get(f"/merchant/statements/{ours.number}/").status_code == 200
    assert 'id="confirm-statement"' not in client.get(f"/merchant/statements/{ours.number}/").content.decode()
    before = _snapshot(ours)
    assert client.post(f"/merchant/statements/{ours.number}/confirm/").status_code == 403
    assert _snapshot(ours) == before


# --- downloads and the voucher ---------------------------------------------------------------------
def test_the_merchant_downloads_its_statement_as_pdf_xlsx_and_csv(desk, ours):
    client = _client(desk)
    pdf = client.get(f"/merchant/statements/{ours.number}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and f"statement-{ours.number}.pdf" in pdf["Content-Disposition"]
    xlsx = client.get(f"/merchant/statements/{ours.number}.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert "spreadsheetml" in xlsx["Content-Type"]
    got = client.get(f"/merchant/statements/{ours.number}.csv")
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert got["Content-Type"].startswith("text/csv") and len(rows) == 3


def test_the_voucher_is_served_after_the_scope_check_never_as_a_public_link(desk, ours):
    _paid(ours)
    client = _client(desk)
    text = client.get(f"/merchant/statements/{ours.number}/").content.decode()
    assert "ICBC-20261203-77" in text and "2026-12-03" in text and 'id="voucher-link"' in text
    assert ours.payout_voucher.name not in text and "/media/" not in text
    r = client.get(f"/merchant/statements/{ours.number}/voucher/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert b"".join(r.streaming_content) == PDF
    assert f"payout-voucher-{ours.number}.pdf" in r["Content-Disposition"]
    # Even knowing the stored path, the public media URL never hands a voucher out.
    assert client.get(f"/media/{ours.payout_voucher.name}").status_code == 404
    assert Client().get(f"/media/{ours.payout_voucher.name}").status_code == 404


def test_no_voucher_yet_is_a_404(desk, ours):
    assert _client(desk).get(f"/merchant/statements/{ours.number}/voucher/").status_code == 404


# --- finance ---------------------------------------------------------------------------------------------
def test_finance_filters_statements_and_counts_them_per_status(clerk, merchant, other_merchant, ours, theirs):
    make_statement(merchant, number="ST-TEA-DRAFT", status="draft")
    make_statement(merchant, number="ST-TEA-USD", currency="USD")
    client = _client(clerk, verified=True)
    r = client.get("/finance/statements/")
    text = r.content.decode()
    assert all(n in text for n in ("ST-TEA-0001", "ST-NOODLE-0001", "ST-TEA-DRAFT", "ST-TEA-USD"))
    assert dict((code, n) for code, _, n in r.context["counts"])["issued"] == 3
    text = client.get("/finance/statements/", {"status": "draft"}).content.decode()
    assert "ST-TEA-DRAFT" in text and "ST-TEA-0001" not in text
    text = client.get("/finance/statements/", {"merchant": "noodles"}).content.decode()
    assert "ST-NOODLE-0001" in text and "ST-TEA-0001" not in text
    text = client.get("/finance/statements/", {"currency": "usd"}).content.decode()
    assert "ST-TEA-USD" in text and "ST-TEA-0001" not in text
    r = client.get("/finance/statements/", {"merchant": "nobody"})
    assert r.status_code == 200 and "There is no merchant nobody." in _messages(r)
    assert "ST-TEA-0001" not in r.content.decode()
    assert client.get("/finance/statements/", {"status": "<x>", "currency": "12345"}).status_code == 200


def test_finance_issues_a_draft(clerk, merchant):
    draft = make_statement(merchant, number="ST-TEA-DRAFT", status="draft")
    client = _client(clerk, verified=True)
    assert 'id="issue-statement"' in client.get(f"/finance/statements/{draft.number}/").content.decode()
    r = client.post(f"/finance/statements/{draft.number}/action/", {"action": "issue"}, follow=True)
    draft.refresh_from_db()
    assert draft.status == "issued" and draft.issued_at is not None
    assert any("issued" in m for m in _messages(r))


def test_an_auditor_reads_but_has_no_actions(merchant):
    auditor = user_create(username="auditor", password="x-auditor-pass-1", role=Role.AUDITOR)
    draft = make_statement(merchant, number="ST-TEA-DRAFT", status="draft")
    client = _client(auditor, verified=True)
    r = client.get(f"/finance/statements/{draft.number}/")
    assert r.status_code == 200 and 'id="issue-statement"' not in r.content.decode()
    before = _snapshot(draft)
    assert client.post(f"/finance/statements/{draft.number}/action/", {"action": "issue"}).status_code == 403
    assert _snapshot(draft) == before


@pytest.fixture
def disputed(merchant):
    statement = make_statement(merchant, number="ST-TEA-DISPUTED", status="disputed")
    Statement.objects.filter(pk=statement.pk).update(dispute_reason="The shipping of SO-20261101-000001 is missing.")
    statement.refresh_from_db()
    return statement


def test_finance_answers_a_dispute_with_an_adjustment(clerk, disputed):
    client = _client(clerk, verified=True)
    text = client.get(f"/finance/statements/{disputed.number}/").content.decode()
    assert "The shipping of SO-20261101-000001 is missing." in text and 'id="adjust-form"' in text
    r = client.post(f"/finance/statements/{disputed.number}/action/",
                    {"action": "adjust", "amount": "12.00", "note": "Shipping of SO-20261101-000001"}, follow=True)
    disputed.refresh_from_db()
    assert disputed.status == "issued" and disputed.revision == 2 and disputed.net_minor == 36804 + 1200
    assert StatementLine.objects.filter(statement=disputed, kind="adjustment", net_minor=1200).exists()
    assert "Shipping of SO-20261101-000001" in r.content.decode()


@pytest.mark.parametrize("amount, note, code", [
    ("12.345", "too precise", "too_many_decimals"),
    ("twelve", "not a number", "invalid_amount"),
    ("0", "nothing", "validation_failed"),
])
def test_a_bad_adjustment_is_shown_with_its_code_keeps_the_form_and_changes_nothing(clerk, disputed, amount, note,
                                                                                    code):
    before = _snapshot(disputed)
    r = _client(clerk, verified=True).post(f"/finance/statements/{disputed.number}/action/",
                                           {"action": "adjust", "amount": amount, "note": note})
    assert r.status_code == 400
    assert any(f"({code})" in m for m in _messages(r))
    text = r.content.decode()
    assert f'value="{amount}"' in text and f'value="{note}"' in text
    assert _snapshot(disputed) == before


def test_an_adjustment_without_a_note_is_refused(clerk, disputed):
    before = _snapshot(disputed)
    r = _client(clerk, verified=True).post(f"/finance/statements/{disputed.number}/action/",
                                           {"action": "adjust", "amount": "5.00", "note": ""})
    assert r.status_code == 400 and any("Say what the adjustment is for." in m for m in _messages(r))
    assert _snapshot(disputed) == before


@pytest.fixture
def confirmed(desk, ours):
    _client(desk).post(f"/merchant/statements/{ours.number}/confirm/")
    ours.refresh_from_db()
    assert ours.status == "confirmed"
    return ours


def _payout(client, statement, **overrides):
    data = {"amount": "368.04", "payout_date": "2026-12-03", "reference": "ICBC-20261203-77",
            "voucher": SimpleUploadedFile("voucher.pdf", PDF, content_type="application/pdf"), **overrides}
    return client.post(f"/finance/statements/{statement.number}/payout/", data)


def test_finance_records_the_payout_with_a_voucher_and_the_merchant_sees_it(manager, desk, confirmed, settings):
    client = _client(manager, verified=True)
    assert 'id="payout-form"' in client.get(f"/finance/statements/{confirmed.number}/").content.decode()
    r = _payout(client, confirmed)
    assert r.status_code == 302
    confirmed.refresh_from_db()
    assert confirmed.status == "paid" and confirmed.payout_reference == "ICBC-20261203-77"
    assert confirmed.payout_date == date(2026, 12, 3) and confirmed.payout_amount_minor == 36804
    voucher = client.get(f"/finance/statements/{confirmed.number}/voucher/")
    assert b"".join(voucher.streaming_content) == PDF
    merchant_view = _client(desk)
    text = merchant_view.get(f"/merchant/statements/{confirmed.number}/").content.decode()
    assert "Paid" in text and "ICBC-20261203-77" in text
    assert b"".join(merchant_view.get(f"/merchant/statements/{confirmed.number}/voucher/").streaming_content) == PDF


def test_a_text_file_renamed_pdf_is_refused_as_a_voucher_and_nothing_is_lost_from_the_form(manager, confirmed,
                                                                                        settings):
    before = _snapshot(confirmed)
    fake = SimpleUploadedFile("voucher.pdf", b"just some text, not a PDF", content_type="application/pdf")
    r = _payout(_client(manager, verified=True), confirmed, voucher=fake)
    assert r.status_code == 400
    assert any("(voucher_not_accepted)" in m for m in _messages(r))
    text = r.content.decode()
    assert 'value="ICBC-20261203-77"' in text and 'value="368.04"' in text and 'value="2026-12-03"' in text
    assert _snapshot(confirmed) == before
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


@pytest.mark.parametrize("overrides, code", [
    ({"amount": "368.00"}, "payout_amount_mismatch"),
    ({"amount": "368.041"}, "too_many_decimals"),
    ({"reference": ""}, "validation_failed"),
    ({"payout_date": "03/12/2026"}, "validation_failed"),
])
def test_bad_payout_input_is_shown_with_its_code_and_changes_nothing(manager, confirmed, overrides, code):
    before = _snapshot(confirmed)
    r = _payout(_client(manager, verified=True), confirmed, **overrides)
    assert r.status_code == 400
    assert any(f"({code})" in m for m in _messages(r))
    assert _snapshot(confirmed) == before


def test_a_payout_without_a_voucher_is_refused(manager, confirmed):
    before = _snapshot(confirmed)
    client = _client(manager, verified=True)
    r = client.post(f"/finance/statements/{confirmed.number}/payout/",
                    {"amount": "368.04", "payout_date": "2026-12-03", "reference": "X-1"})
    assert r.status_code == 400 and any("Attach the bank's voucher" in m for m in _messages(r))
    assert _snapshot(confirmed) == before


def test_a_clerk_may_not_record_payouts(clerk, confirmed):
    client = _client(clerk, verified=True)
    assert 'id="payout-form"' not in client.get(f"/finance/statements/{confirmed.number}/").content.decode()
    before = _snapshot(confirmed)
    assert _payout(client, confirmed).status_code == 403
    assert _snapshot(confirmed) == before


def test_paying_an_unconfirmed_statement_is_refused(manager, ours):
    before = _snapshot(ours)
    r = _payout(_client(manager, verified=True), ours)
    assert r.status_code == 400 and any("(invalid_transition)" in m for m in _messages(r))
    assert _snapshot(ours) == before


def test_changes_are_posts_only(desk, clerk, ours):
    assert _client(desk).get(f"/merchant/statements/{ours.number}/confirm/").status_code == 405
    assert _client(clerk, verified=True).get(f"/finance/statements/{ours.number}/action/").status_code == 405


def test_forms_carry_a_csrf_token(desk, ours):
    client = Client(enforce_csrf_checks=True)
    client.force_login(desk)
    assert 'name="csrfmiddlewaretoken"' in client.get(f"/merchant/statements/{ours.number}/").content.decode()
    before = _snapshot(ours)
    assert client.post(f"/merchant/statements/{ours.number}/confirm/").status_code == 403
    assert _snapshot(ours) == before


def test_the_pages_speak_chinese(desk, ours):
    client = _client(desk)
    client.cookies["django_language"] = "zh-hans"
    text = client.get(f"/merchant/statements/{ours.number}/").content.decode()
    assert "结算单" in text and "确认" in text


# --- statements made by the generation ------------------------------------------------------------------
@pytest.fixture
def generated(merchant, business_type):
    """A manual statement generated from two completed orders of the tea house (a draft)."""
    fee_rule(scope=business_type, currency="CNY", rate="0.006")
    buyer = make_customer("lin")
    for day, subtotal in ((date(2026, 11, 2), 16800), (date(2026, 11, 3), 8800)):
        completed_order(merchant, buyer, subtotal_minor=subtotal, completed_at=at(day), fee_minor=50)
    [statement] = statement_generate_manual(merchant=merchant, currency="CNY")
    return statement


def test_finance_re_issues_a_disputed_statement_under_the_current_rules(clerk, desk, generated):
    client = _client(clerk, verified=True)
    client.post(f"/finance/statements/{generated.number}/action/", {"action": "issue"})
    _client(desk).post(f"/merchant/statements/{generated.number}/dispute/", {"reason": "Fees look wrong."})
    generated.refresh_from_db()
    assert generated.status == "disputed"
    r = client.post(f"/finance/statements/{generated.number}/action/", {"action": "reissue"}, follow=True)
    generated.refresh_from_db()
    assert generated.status == "issued" and generated.revision == 2
    assert any("re-issued" in m for m in _messages(r))
    text = _client(desk).get(f"/merchant/statements/{generated.number}/").content.decode()
    assert "Re-issued" in text and "Fees look wrong." in text


# --- blocked orders, manual statements, totals per period -------------------------------------------------
@pytest.fixture
def completed(merchant, business_type):
    """The tea house's three completed orders (a food fee rule covers them) and a paper-cut shop's order that no
    fee rule covers (blocked)."""
    fee_rule(scope=business_type, currency="CNY", rate="0.006")
    buyer = make_customer("lin")
    tea = [completed_order(merchant, buyer, subtotal_minor=subtotal, completed_at=at(date(2026, 11, day)),
                           fee_minor=10) for day, subtotal in ((2, 16800), (3, 8800), (4, 4500))]
    crafts = make_merchant("papercut", business_type=make_business_type("crafts"), name="剪纸工坊")
    stuck = completed_order(crafts, buyer, subtotal_minor=2000, completed_at=at(date(2026, 11, 2)))
    return {"tea": tea, "stuck": stuck}


def test_blocked_orders_are_listed_with_their_reason(clerk, completed):
    client = _client(clerk, verified=True)
    text = client.get("/finance/settlement/blocked/").content.decode()
    stuck = completed["stuck"]
    assert f'id="blocked-{stuck.number}"' in text and "剪纸工坊" in text and "No fee rule" in text
    assert all(o.number not in text for o in completed["tea"])
    assert "¥20.00" in text
    text = client.get("/finance/settlement/blocked/", {"merchant": "teahouse"}).content.decode()
    assert stuck.number not in text and "No blocked orders." in text
    r = client.get("/finance/settlement/blocked/", {"merchant": "nobody"})
    assert "There is no merchant nobody." in _messages(r)


def _manual_form(client, merchant_code="teahouse"):
    r = client.get("/finance/settlement/manual/", {"merchant": merchant_code})
    assert r.status_code == 200
    return r, r.context["token"]


def test_finance_generates_a_manual_statement_from_ticked_orders_once(clerk, completed):
    client = _client(clerk, verified=True)
    r, token = _manual_form(client)
    tea = completed["tea"]
    text = r.content.decode()
    assert all(f'id="eligible-{o.number}"' in text for o in tea)
    assert completed["stuck"].number not in text
    form = {"token": token, "merchant": "teahouse", "currency": "", "order_ids": [tea[0].pk, tea[1].pk]}
    r = client.post("/finance/settlement/manual/", form)
    assert r.status_code == 302
    statement = Statement.objects.get()
    assert r["Location"] == f"/finance/statements/{statement.number}/"
    assert statement.status == "draft" and statement.kind == "manual" and statement.order_count == 2
    assert set(StatementLine.objects.filter(statement=statement).values_list("order_id", flat=True)) == {
        tea[0].pk, tea[1].pk}
    again = client.post("/finance/settlement/manual/", form)  # a double click, or a reload
    assert again["Location"] == r["Location"] and Statement.objects.count() == 1
    text = client.get("/finance/settlement/manual/", {"merchant": "teahouse"}).content.decode()
    assert tea[2].number in text and tea[0].number not in text


@pytest.mark.parametrize("change, message", [
    ({"order_ids": []}, "Tick at least one order. (validation_failed)"),
    ({"token": "not-a-token"}, "(validation_failed)"),
    ({"merchant": "nobody"}, "(not_found)"),
])
def test_bad_manual_statement_input_is_shown_and_generates_nothing(clerk, completed, change, message):
    client = _client(clerk, verified=True)
    _, token = _manual_form(client)
    form = {"token": token, "merchant": "teahouse", "order_ids": [completed["tea"][0].pk], **change}
    r = client.post("/finance/settlement/manual/", form)
    assert r.status_code == 400 and any(message in m for m in _messages(r))
    assert Statement.objects.count() == 0 and StatementLine.objects.count() == 0


def test_another_merchants_order_cannot_be_slipped_into_a_manual_statement(clerk, completed):
    client = _client(clerk, verified=True)
    _, token = _manual_form(client)
    form = {"token": token, "merchant": "teahouse", "order_ids": [completed["tea"][0].pk, completed["stuck"].pk]}
    r = client.post("/finance/settlement/manual/", form)
    assert r.status_code == 400 and _messages(r)
    assert Statement.objects.count() == 0


def test_a_manual_statement_needs_the_prepare_permission(merchant, completed):
    auditor = user_create(username="auditor", password="x-auditor-pass-1", role=Role.AUDITOR)
    client = _client(auditor, verified=True)
    assert client.get("/finance/settlement/manual/").status_code == 403
    r = client.post("/finance/settlement/manual/", {"token": "a" * 32, "merchant": "teahouse",
                                                    "order_ids": [completed["tea"][0].pk]})
    assert r.status_code == 403 and Statement.objects.count() == 0


def test_totals_per_period_add_up_the_statements_of_each_month(clerk, merchant, other_merchant):
    make_statement(merchant, number="ST-NOV-1")
    _paid(make_statement(other_merchant, number="ST-NOV-2"))
    make_statement(merchant, number="ST-OCT-1", period_start=date(2026, 10, 1), period_end=date(2026, 10, 31))
    make_statement(merchant, number="ST-NOV-USD", currency="USD")
    client = _client(clerk, verified=True)
    r = client.get("/finance/settlement/periods/")
    rows = {(row.label, row.currency): row for row in r.context["rows"]}
    november = rows[("2026-11", "CNY")]
    assert (november.statements, november.orders, november.net_minor, november.paid_minor) == (2, 6, 73608, 36804)
    assert rows[("2026-10", "CNY")].net_minor == 36804 and rows[("2026-11", "USD")].statements == 1
    text = r.content.decode()
    assert "¥736.08" in text and 'class="bars"' in text
    r = client.get("/finance/settlement/periods/", {"currency": "usd"})
    assert [(row.label, row.currency) for row in r.context["rows"]] == [("2026-11", "USD")]
    r = client.get("/finance/settlement/periods/", {"merchant": "noodles"})
    assert [(row.label, row.statements) for row in r.context["rows"]] == [("2026-11", 1)]


# --- simulations -----------------------------------------------------------------------------------------------
NOVEMBER = {"date_from": "2026-11-01", "date_to": "2026-11-30"}


def test_a_proposed_fee_rule_is_shown_beside_the_current_one_and_saves_nothing(clerk, completed):
    before = settlement_row_counts()
    r = _client(clerk, verified=True).get("/finance/settlement/simulate/", {
        "simulate": "fee_rule", "business_type": "food", "currency": "CNY", "rate": "0.01",
        "payment_fee_basis": "actual", **NOVEMBER})
    assert r.status_code == 200
    [row] = r.context["fee_rows"]
    assert row.merchant.code == "teahouse" and row.orders == 3
    assert row.collected.minor == 30100
    assert (row.current_fees.minor, row.proposed_fees.minor) == (101 + 53 + 27 + 30, 168 + 88 + 45 + 30)
    assert (row.current_net.minor, row.proposed_net.minor, row.difference.minor) == (29889, 29769, -120)
    text = r.content.decode()
    assert 'id="simulation-teahouse"' in text and "¥-1.20" in text
    assert settlement_row_counts() == before


def test_a_merchant_scoped_proposal_and_the_default_range_is_last_month(clerk, completed):
    client = _client(clerk, verified=True)
    form = client.get("/finance/settlement/simulate/").context["fee_form"]
    assert (form["date_from"].value(), form["date_to"].value()) == last_month()
    r = client.get("/finance/settlement/simulate/", {"simulate": "fee_rule", "merchant": "teahouse",
                                                     "currency": "CNY", "rate": "0.006",
                                                     "payment_fee_basis": "actual", **NOVEMBER})
    [row] = r.context["fee_rows"]
    assert row.difference.minor == 0 and row.proposed_net == row.current_net  # the same terms as in force


@pytest.mark.parametrize("change, message", [
    ({"merchant": "teahouse"}, "Choose a business type or a merchant (one of them)."),
    ({"business_type": ""}, "Choose a business type or a merchant (one of them)."),
    ({"rate": "abc"}, "(validation_failed)"),
    ({"rate": "1.5"}, "(validation_failed)"),
    ({"fixed_fee": "1.234"}, "(too_many_decimals)"),
    ({"date_from": "2026-12-01"}, "The start date is after the end date."),
])
def test_a_bad_fee_rule_proposal_is_shown_with_its_message(clerk, completed, change, message):
    query = {"simulate": "fee_rule", "business_type": "food", "currency": "CNY", "rate": "0.01",
             "payment_fee_basis": "actual", **NOVEMBER, **change}
    r = _client(clerk, verified=True).get("/finance/settlement/simulate/", query)
    assert r.status_code == 400 and any(message in m for m in _messages(r))
    assert r.context["fee_rows"] is None


def test_a_proposed_weekly_schedule_shows_the_statements_it_would_have_cut(clerk, completed):
    r = _client(clerk, verified=True).get("/finance/settlement/simulate/", {
        "simulate": "schedule", "merchant": "teahouse", "cycle": "weekly", "weekday": "0",
        "eligibility_delay_days": "0", **NOVEMBER})
    assert r.status_code == 200
    assert [d.day for d in r.context["run_days"]] == [2, 9, 16, 23, 30]
    [row] = r.context["schedule_rows"]
    assert (row.day, row.merchant.code, row.orders, row.net.minor) == (date(2026, 11, 9), "teahouse", 3, 29889)
    assert "2026-11-09" in r.content.decode()


def test_a_schedule_day_outside_1_to_31_is_refused(clerk, completed):
    r = _client(clerk, verified=True).get("/finance/settlement/simulate/", {
        "simulate": "schedule", "business_type": "food", "cycle": "monthly", "day_of_month": "32", **NOVEMBER})
    assert r.status_code == 400 and any("A schedule day is from 1 to 31." in m for m in _messages(r))
    r = _client(clerk, verified=True).get("/finance/settlement/simulate/", {
        "simulate": "schedule", "business_type": "food", "cycle": "monthly", **NOVEMBER})
    assert r.status_code == 400 and any("(validation_failed)" in m for m in _messages(r))


def test_simulations_need_the_prepare_or_fee_rule_permission(merchant):
    auditor = user_create(username="auditor", password="x-auditor-pass-1", role=Role.AUDITOR)
    assert _client(auditor, verified=True).get("/finance/settlement/simulate/").status_code == 403


def test_the_finance_pages_link_the_admin_for_fee_rules_and_schedules(admin_user, clerk):
    text = _client(admin_user, verified=True).get("/finance/settlement/simulate/").content.decode()
    assert "/admin/settlement/feerule/" in text and "/admin/settlement/settlementschedule/" in text
    assert "/admin/settlement/feerule/" not in _client(clerk, verified=True).get(
        "/finance/settlement/simulate/").content.decode()
