"""The settlement API: finance runs and prepares statements, merchants confirm or dispute their own, the finance
manager records payouts with vouchers, admins keep fee rules and schedules; nobody sees another merchant's.

The world: business type food with a 0.6 % fee rule (provider's actual payment fee); the Tea House (`merchant`)
and the Noodle Bar (`other_merchant`) settle weekly on Mondays, orders eligible 7 days after completion.
Run day: Monday 2026-11-23, so orders completed before 2026-11-16 are settled.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from clearhouse.accounts.roles import Role
from clearhouse.core.models import IdempotencyRecord
from clearhouse.settlement.models import FeeRule, SettlementSchedule, Statement, StatementEvent, StatementLine
from clearhouse.settlement.selectors_eligibility import settlement_due_balance
from tests.conftest import _full_client_for
from tests.settlement.factories import (
    at,
    completed_order,
    fee_rule,
    make_business_type,
    make_customer,
    make_merchant,
    refund,
    settlement_row_counts,
    weekly_schedule,
)

RUN_DAY = date(2026, 11, 23)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def buyer(db):
    return make_customer("lin")


@pytest.fixture
def world(business_type, merchant, other_merchant, buyer):
    """Both merchants on the food rule and a weekly schedule; one 100.00 order each, completed 2026-11-10."""
    fee_rule(scope=business_type, currency="CNY", rate="0.006")
    weekly_schedule(merchant, weekday=0, eligibility_delay_days=7)
    weekly_schedule(other_merchant, weekday=0, eligibility_delay_days=7)
    return {
        "tea": completed_order(merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 10)),
                               fee_minor=60),
        "noodles": completed_order(other_merchant, buyer, subtotal_minor=5000, completed_at=at(date(2026, 11, 11)),
                                   fee_minor=30),
    }


@pytest.fixture
def api_noodles(other_merchant):
    """The other merchant's admin key: the same permissions as `api_merchant`, another merchant."""
    return _full_client_for(Role.MERCHANT_ADMIN, other_merchant)


@pytest.fixture
def api_admin_full(db):
    return _full_client_for(Role.ADMIN)


def _error(response, status: int, code: str, param: str | None = None) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    if param is not None:
        assert error["param"] == param, error
    return error


def _run(api, day: date = RUN_DAY, **body) -> dict:
    r = api.post("/settlement/runs", {"day": day.isoformat(), **body})
    assert r.status_code == 200, r.content
    return r.json()


def _number(merchant) -> str:
    return Statement.objects.get(merchant=merchant, kind="scheduled").number


def _issued(api_clerk, merchant) -> str:
    number = _number(merchant)
    r = api_clerk.post(f"/settlement/statements/{number}/issue")
    assert r.status_code == 200, r.content
    return number


def _confirmed(api_clerk, api_merchant, merchant) -> str:
    number = _issued(api_clerk, merchant)
    r = api_merchant.post(f"/settlement/statements/{number}/confirm")
    assert r.status_code == 200, r.content
    return number


def _payout(api, number: str, *, amount: str = "98.80", voucher: bytes = PDF, filename: str = "slip.pdf",
            idempotency_key: str | None = None, **fields):
    upload = SimpleUploadedFile(filename, voucher, content_type="application/octet-stream")
    body = {"amount": amount, "payout_date": "2026-11-25", "reference": "BOC-20261125-77", "voucher": upload,
            **fields}
    return api.client.post(f"/api/v1/settlement/statements/{number}/payout", body,
                           headers=api._headers(idempotency_key))


def _settlement_due_minor(merchant) -> int:
    """What the ledger says the platform owes the merchant (positive: owed)."""
    return settlement_due_balance(merchant=merchant, currency="CNY").minor


def _money(amount: str, minor: int, currency: str = "CNY") -> dict:
    return {"amount": amount, "currency": currency, "amount_minor": minor}


# --- runs and what each side sees -------------------------------------------------------------
def test_a_run_makes_drafts_that_merchants_see_only_once_issued(api_clerk, api_merchant, world):
    made = _run(api_clerk)
    assert (made["statements_created"], made["orders_settled"], made["blocked_orders"]) == (2, 2, 0)
    assert sorted(made["statements"]) == sorted(Statement.objects.values_list("number", flat=True))
    number = _number(world["tea"].merchant)

    assert api_merchant.get("/settlement/statements").json()["data"] == []
    _error(api_merchant.get(f"/settlement/statements/{number}"), 404, "not_found")
    drafts = api_clerk.get("/settlement/statements", status="draft", merchant="teahouse").json()["data"]
    assert [s["number"] for s in drafts] == [number]

    _issued(api_clerk, world["tea"].merchant)
    listed = api_merchant.get("/settlement/statements").json()
    assert [s["number"] for s in listed["data"]] == [number] and listed["has_more"] is False
    detail = api_merchant.get(f"/settlement/statements/{number}").json()
    assert (detail["status"], detail["merchant"], detail["currency"], detail["period_end"]) == (
        "issued", "teahouse", "CNY", "2026-11-15")
    assert detail["collected"] == _money("100.00", 10000)
    assert (detail["service_fee"], detail["payment_fee"]) == (_money("0.60", 60), _money("0.60", 60))
    assert detail["net"] == _money("98.80", 9880)
    assert detail["invoice_platform_to_merchant"] == _money("1.20", 120)
    assert detail["invoice_merchant_to_platform"] == _money("0.00", 0)
    assert [e["type"] for e in detail["events"]] == ["generated", "issued"]
    assert detail["payout"] is None


def test_lines_carry_the_order_and_the_fee_terms_frozen_on_them(api_clerk, api_merchant, world):
    _run(api_clerk)
    number = _issued(api_clerk, world["tea"].merchant)
    page = api_merchant.get(f"/settlement/statements/{number}/lines").json()
    [line] = page["data"]
    assert (line["kind"], line["order"], line["refund"], line["carried_from"]) == (
        "order", world["tea"].number, None, None)
    assert (line["collected"]["amount"], line["service_fee"]["amount"], line["net"]["amount"]) == (
        "100.00", "0.60", "98.80")
    assert line["fee_terms"]["rate"] == "0.006" and line["fee_terms"]["payment_fee_basis"] == "actual"
    assert api_merchant.get(f"/settlement/statements/{number}/lines", kind="clawback").json()["data"] == []


def test_lines_are_paginated(api_clerk, merchant, world, buyer):
    for day in (3, 4, 5):
        completed_order(merchant, buyer, subtotal_minor=1000 * day, completed_at=at(date(2026, 11, day)))
    _run(api_clerk)
    number = _number(merchant)
    first = api_clerk.get(f"/settlement/statements/{number}/lines", page_size=3).json()
    second = api_clerk.get(f"/settlement/statements/{number}/lines", page_size=3, page=2).json()
    assert (len(first["data"]), first["has_more"], len(second["data"]), second["has_more"]) == (3, True, 1, False)
    assert not {ln["id"] for ln in first["data"]} & {ln["id"] for ln in second["data"]}


def test_running_a_day_twice_makes_nothing_twice(api_clerk, world):
    _run(api_clerk)
    again = _run(api_clerk)
    assert (again["statements_created"], again["lines_created"]) == (0, 0)
    assert Statement.objects.count() == 2


def test_a_dry_run_previews_per_merchant_and_writes_nothing(api_clerk, world):
    before = settlement_row_counts()
    made = _run(api_clerk, dry_run=True)
    assert made["dry_run"] is True and made["statements"] == []
    preview = {row["merchant"]: row for row in made["preview"]}
    assert set(preview) == {"teahouse", "noodles"}
    assert (preview["teahouse"]["orders"], preview["teahouse"]["net"]) == (1, _money("98.80", 9880))
    assert preview["teahouse"]["service_fee"] == _money("0.60", 60)
    assert settlement_row_counts() == before


def test_a_run_for_some_merchants_only(api_clerk, world):
    made = _run(api_clerk, merchants=["noodles"])
    assert made["statements_created"] == 1
    assert Statement.objects.get().merchant.code == "noodles"
    _error(api_clerk.post("/settlement/runs", {"day": "2026-11-23", "merchants": ["nobody"]}), 404, "not_found",
           "merchants")


def test_a_run_with_a_bad_day_is_refused(api_clerk, world):
    _error(api_clerk.post("/settlement/runs", {"day": "23/11/2026"}), 400, "parameter_invalid", "day")
    _error(api_clerk.post("/settlement/runs", {"day": "2026-11-23", "when": "now"}), 400, "parameter_unknown")
    assert Statement.objects.count() == 0


# --- isolation --------------------------------------------------------------------------------
def test_another_merchant_finds_nothing_of_the_tea_houses(api_clerk, api_merchant, api_manager, api_noodles, world):
    _run(api_clerk)
    tea = _confirmed(api_clerk, api_merchant, world["tea"].merchant)
    noodles = _issued(api_clerk, world["noodles"].merchant)
    assert _payout(api_manager, tea).status_code == 200
    for path in (f"/settlement/statements/{tea}", f"/settlement/statements/{tea}/lines",
                 f"/settlement/statements/{tea}/voucher"):
        _error(api_noodles.get(path), 404, "not_found")
    assert [s["number"] for s in api_noodles.get("/settlement/statements").json()["data"]] == [noodles]
    assert api_noodles.get("/settlement/statements", merchant="teahouse").json()["data"] == []
    assert api_noodles.get("/settlement/statements", status="paid").json()["data"] == []
    _error(api_noodles.post(f"/settlement/statements/{tea}/dispute", {"reason": "not ours"}), 404, "not_found")
    assert api_manager.get(f"/settlement/statements/{tea}/voucher").status_code == 200


def test_confirming_another_merchants_statement_is_not_found_and_changes_nothing(api_clerk, api_noodles, world):
    _run(api_clerk)
    number = _issued(api_clerk, world["tea"].merchant)
    _error(api_noodles.post(f"/settlement/statements/{number}/confirm"), 404, "not_found", "number")
    statement = Statement.objects.get(number=number)
    assert (statement.status, statement.confirmed_by) == ("issued", "")
    assert not StatementEvent.objects.filter(statement=statement, type="confirmed").exists()


def test_merchants_see_only_the_fee_rules_and_schedules_that_apply_to_them(api_admin, api_merchant, api_noodles,
                                                                           world, merchant, other_merchant):
    override = fee_rule(scope=other_merchant, rate="0.004")
    tea_rules = api_merchant.get("/settlement/fee-rules").json()["data"]
    assert [r["scope"] for r in tea_rules] == ["business_type"]
    noodle_rules = {r["id"] for r in api_noodles.get("/settlement/fee-rules").json()["data"]}
    assert override.pk in noodle_rules and len(noodle_rules) == 2
    _error(api_merchant.get(f"/settlement/fee-rules/{override.pk}"), 404, "not_found")
    assert len(api_admin.get("/settlement/fee-rules").json()["data"]) == 2
    assert [s["merchant"] for s in api_merchant.get("/settlement/schedules").json()["data"]] == ["teahouse"]
    assert len(api_admin.get("/settlement/schedules").json()["data"]) == 2


def test_blocked_and_eligible_orders_are_the_merchants_own(api_clerk, api_merchant, api_noodles, world, buyer,
                                                          merchant):
    now = timezone.now()
    crafts = make_merchant("papercut", business_type=make_business_type("crafts"))
    stuck = completed_order(crafts, buyer, subtotal_minor=2000, completed_at=now - timedelta(days=3))
    recent = completed_order(merchant, buyer, subtotal_minor=3000, completed_at=now - timedelta(days=2))
    blocked = api_clerk.get("/settlement/blocked-orders").json()["data"]
    assert [(b["order"], b["merchant"], b["business_type"], b["reason"]) for b in blocked] == [
        (stuck.number, "papercut", "crafts", "no_fee_rule")]
    assert blocked[0]["collected"] == _money("20.00", 2000)
    assert api_merchant.get("/settlement/blocked-orders").json()["data"] == []

    eligible = [o["order"] for o in api_clerk.get("/settlement/eligible-orders").json()["data"]]
    assert eligible == [world["tea"].number, world["noodles"].number]  # oldest first; `recent` waits 7 days
    assert recent.number not in eligible and stuck.number not in eligible
    mine = api_merchant.get("/settlement/eligible-orders").json()["data"]
    assert [(o["id"], o["order"]) for o in mine] == [(world["tea"].pk, world["tea"].number)]
    assert api_noodles.get("/settlement/eligible-orders", merchant="teahouse").json()["data"] == []
    assert api_clerk.get("/settlement/eligible-orders", merchant="noodles").json()["data"][0]["order"] == \
        world["noodles"].number
    _error(api_clerk.get("/settlement/eligible-orders", currency="XYZ"), 400, "unknown_currency")


def test_totals_per_period_are_for_platform_staff(api_clerk, api_merchant, world):
    _run(api_clerk)
    rows = api_clerk.get("/settlement/totals").json()
    assert [(r["month"], r["status"], r["statements"], r["orders"], r["net"]["amount"]) for r in rows] == [
        ("2026-11-01", "draft", 2, 2, "148.20")]  # 98.80 + 49.40
    _error(api_merchant.get("/settlement/totals"), 403, "permission_denied")


# --- roles ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "method", "path", "body"), [
    ("merchant", "post", "/settlement/statements/{n}/issue", {}),
    ("merchant", "post", "/settlement/statements/{n}/adjust", {"amount": "1.00", "note": "x"}),
    ("merchant", "post", "/settlement/statements/{n}/reissue", {}),
    ("merchant", "post", "/settlement/statements/manual", {"merchant": "teahouse"}),
    ("merchant", "post", "/settlement/runs", {"day": "2026-11-23"}),
    ("merchant", "post", "/settlement/fee-rules", {"business_type": "food", "currency": "CNY", "rate": "0.01",
                                                   "effective_from": "2027-01-01"}),
    ("merchant", "put", "/settlement/schedules", {"merchant": "teahouse", "cycle": "weekly", "weekday": 1}),
    ("merchant", "post", "/settlement/simulations/fee-rule", {"business_type": "food", "currency": "CNY",
                                                              "rate": "0.01"}),
    ("auditor", "post", "/settlement/statements/{n}/confirm", {}),
    ("auditor", "post", "/settlement/statements/{n}/issue", {}),
    ("clerk", "post", "/settlement/statements/{n}/confirm", {}),
    ("clerk", "post", "/settlement/fee-rules", {"business_type": "food", "currency": "CNY", "rate": "0.01",
                                                "effective_from": "2027-01-01"}),
    ("clerk", "put", "/settlement/schedules", {"merchant": "teahouse", "cycle": "weekly", "weekday": 1}),
    ("manager", "post", "/settlement/fee-rules/{rule}/end", {"effective_to": "2027-01-01"}),
    ("customer", "get", "/settlement/statements", None),
    ("customer", "get", "/settlement/fee-rules", None),
    ("customer", "get", "/settlement/blocked-orders", None),
])
def test_roles_without_the_permission_are_refused(world, api_clerk, who, method, path, body):
    _run(api_clerk)
    number = _issued(api_clerk, world["tea"].merchant)
    api = _full_client_for({"merchant": Role.MERCHANT_ADMIN, "auditor": Role.AUDITOR, "clerk": Role.FINANCE_CLERK,
                            "manager": Role.FINANCE_MANAGER, "customer": Role.CUSTOMER}[who],
                           world["tea"].merchant if who == "merchant" else None)
    before = (settlement_row_counts(), list(Statement.objects.values_list("status", "revision")))
    path = path.format(n=number, rule=FeeRule.objects.get().pk)
    response = api.get(path) if method == "get" else getattr(api, method)(path, body)
    _error(response, 403, "permission_denied")
    assert (settlement_row_counts(), list(Statement.objects.values_list("status", "revision"))) == before


def test_a_clerk_cannot_record_a_payout(api_clerk, api_merchant, world):
    _run(api_clerk)
    number = _confirmed(api_clerk, api_merchant, world["tea"].merchant)
    _error(_payout(api_clerk, number), 403, "permission_denied")
    assert Statement.objects.get(number=number).status == "confirmed"


def test_the_auditor_reads_everything(api_auditor, api_clerk, world):
    _run(api_clerk)
    number = _number(world["tea"].merchant)
    assert api_auditor.get(f"/settlement/statements/{number}").json()["status"] == "draft"
    assert len(api_auditor.get("/settlement/statements").json()["data"]) == 2


def test_without_credentials_nothing_is_readable(world):
    from tests.conftest import ApiClient

    _error(ApiClient(None).get("/settlement/statements"), 401, "authentication_required")


# --- the statement's life ---------------------------------------------------------------------
def test_confirm_then_pay_with_a_voucher_and_the_settlement_due_balance_returns_to_zero(
        api_clerk, api_merchant, api_manager, world, merchant):
    _run(api_clerk)
    number = _confirmed(api_clerk, api_merchant, merchant)
    assert Statement.objects.get(number=number).status == "confirmed"
    assert _settlement_due_minor(merchant) == 9880  # owed to the merchant

    r = _payout(api_manager, number, idempotency_key="payout-1")
    assert r.status_code == 200, r.content
    paid = r.json()
    assert paid["status"] == "paid"
    assert paid["payout"]["amount"] == _money("98.80", 9880)
    assert (paid["payout"]["date"], paid["payout"]["reference"], paid["payout"]["voucher_type"]) == (
        "2026-11-25", "BOC-20261125-77", "application/pdf")
    assert paid["payout"]["voucher_url"] == f"/api/v1/settlement/statements/{number}/voucher"
    assert _settlement_due_minor(merchant) == 0

    voucher = api_merchant.get(f"/settlement/statements/{number}/voucher")
    assert voucher.status_code == 200 and voucher["Content-Type"] == "application/pdf"
    assert b"".join(voucher.streaming_content) == PDF
    assert f'filename="{number}-payout.pdf"' in voucher["Content-Disposition"]


def test_replaying_a_payout_with_the_same_key_returns_the_same_answer_and_pays_once(
        api_clerk, api_merchant, api_manager, world, merchant):
    _run(api_clerk)
    number = _confirmed(api_clerk, api_merchant, merchant)
    first = _payout(api_manager, number, idempotency_key="payout-7")
    again = _payout(api_manager, number, idempotency_key="payout-7")  # a new multipart boundary, same content
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert StatementEvent.objects.filter(statement__number=number, type="paid").count() == 1
    _error(_payout(api_manager, number, idempotency_key="payout-7", reference="OTHER-REF"), 409,
           "idempotency_key_reuse")
    _error(_payout(api_manager, number, idempotency_key="payout-8"), 409, "invalid_transition")


def test_confirming_twice_is_refused(api_clerk, api_merchant, world, merchant):
    _run(api_clerk)
    number = _confirmed(api_clerk, api_merchant, merchant)
    _error(api_merchant.post(f"/settlement/statements/{number}/confirm"), 409, "invalid_transition")
    assert StatementEvent.objects.filter(statement__number=number, type="confirmed").count() == 1
    assert _settlement_due_minor(merchant) == 9880


def test_a_replayed_confirm_returns_the_first_answer(api_clerk, api_merchant, world, merchant):
    _run(api_clerk)
    number = _issued(api_clerk, merchant)
    first = api_merchant.post(f"/settlement/statements/{number}/confirm", idempotency_key="confirm-1")
    again = api_merchant.post(f"/settlement/statements/{number}/confirm", idempotency_key="confirm-1")
    assert first.status_code == again.status_code == 200 and again.json() == first.json()


def test_paying_an_unconfirmed_statement_is_refused(api_clerk, api_manager, world, merchant):
    _run(api_clerk)
    number = _issued(api_clerk, merchant)
    _error(_payout(api_manager, number), 409, "invalid_transition")
    statement = Statement.objects.get(number=number)
    assert (statement.status, statement.payout_reference, bool(statement.payout_voucher)) == ("issued", "", False)


@pytest.mark.parametrize(("fields", "status", "code"), [
    ({"amount": "98.79"}, 400, "payout_amount_mismatch"),
    ({"amount": "98.80", "currency": "USD"}, 400, "currency_mismatch"),
    ({"amount": "98.8O"}, 400, "invalid_amount"),
    ({"voucher": b"GIF89a not a voucher", "filename": "slip.pdf"}, 400, "voucher_not_accepted"),
    ({"voucher": b"<html>receipt</html>", "filename": "slip.png"}, 400, "voucher_not_accepted"),
    ({"payout_date": "25.11.2026"}, 400, "validation_failed"),
    ({"reference": " "}, 400, "validation_failed"),
])
def test_bad_payouts_are_refused_and_change_nothing(api_clerk, api_merchant, api_manager, world, merchant, fields,
                                                    status, code, settings):
    _run(api_clerk)
    number = _confirmed(api_clerk, api_merchant, merchant)
    _error(_payout(api_manager, number, **fields), status, code)
    statement = Statement.objects.get(number=number)
    assert (statement.status, statement.payout_amount_minor, bool(statement.payout_voucher)) == (
        "confirmed", None, False)
    assert _settlement_due_minor(merchant) == 9880
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_a_png_voucher_is_accepted(api_clerk, api_merchant, api_manager, world, merchant):
    _run(api_clerk)
    number = _confirmed(api_clerk, api_merchant, merchant)
    paid = _payout(api_manager, number, voucher=PNG, filename="photo.png")
    assert paid.status_code == 200, paid.content
    voucher = api_manager.get(f"/settlement/statements/{number}/voucher")
    assert voucher["Content-Type"] == "image/png"


def test_a_statement_without_a_payout_has_no_voucher(api_clerk, world, merchant):
    _run(api_clerk)
    _error(api_clerk.get(f"/settlement/statements/{_number(merchant)}/voucher"), 404, "not_found")


def test_a_dispute_is_answered_with_an_adjustment_and_issued_again(api_clerk, api_merchant, world, merchant):
    _run(api_clerk)
    number = _issued(api_clerk, merchant)
    _error(api_merchant.post(f"/settlement/statements/{number}/dispute", {"reason": ""}), 400, "parameter_invalid",
           "reason")
    r = api_merchant.post(f"/settlement/statements/{number}/dispute", {"reason": "The fee should be 0.5 %"})
    assert (r.json()["status"], r.json()["dispute_reason"]) == ("disputed", "The fee should be 0.5 %")
    _error(api_merchant.post(f"/settlement/statements/{number}/confirm"), 409, "invalid_transition")

    _error(api_clerk.post(f"/settlement/statements/{number}/adjust", {"amount": 0.1, "note": "x"}), 400,
           "float_not_allowed")
    _error(api_clerk.post(f"/settlement/statements/{number}/adjust", {"amount": "0.10", "currency": "USD",
                                                                       "note": "x"}), 400, "currency_mismatch")
    r = api_clerk.post(f"/settlement/statements/{number}/adjust", {"amount": "0.10", "note": "0.1 % fee refunded"})
    assert r.status_code == 200, r.content
    adjusted = r.json()
    assert (adjusted["status"], adjusted["revision"]) == ("issued", 2)
    assert (adjusted["adjustments"], adjusted["net"]) == (_money("0.10", 10), _money("98.90", 9890))
    lines = api_merchant.get(f"/settlement/statements/{number}/lines", kind="adjustment").json()["data"]
    assert [(ln["net"]["amount"], ln["note"]) for ln in lines] == [("0.10", "0.1 % fee refunded")]
    assert api_merchant.post(f"/settlement/statements/{number}/confirm").json()["status"] == "confirmed"


def test_a_dispute_is_answered_by_reissuing_under_the_current_rules(api_clerk, api_merchant, world, merchant):
    _run(api_clerk)
    number = _issued(api_clerk, merchant)
    _error(api_clerk.post(f"/settlement/statements/{number}/reissue"), 409, "invalid_transition")
    api_merchant.post(f"/settlement/statements/{number}/dispute", {"reason": "wrong"})
    r = api_clerk.post(f"/settlement/statements/{number}/reissue")
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["revision"]) == ("issued", 2)
    assert [e["type"] for e in r.json()["events"]] == ["generated", "issued", "disputed", "reissued"]


def test_a_refund_after_settlement_is_clawed_back_in_the_next_statement(api_clerk, world, merchant):
    _run(api_clerk)
    taken = refund(world["tea"], 2500, at(date(2026, 11, 24)))
    _run(api_clerk, day=date(2026, 11, 30))
    later = Statement.objects.filter(merchant=merchant).order_by("-id").first()
    lines = api_clerk.get(f"/settlement/statements/{later.number}/lines").json()["data"]
    assert [(ln["kind"], ln["refund"], ln["order"], ln["net"]["amount"]) for ln in lines] == [
        ("clawback", taken.reference, world["tea"].number, "-25.00")]


# --- manual statements ------------------------------------------------------------------------
@pytest.fixture
def unscheduled(business_type, buyer, world):
    """A food merchant with no schedule and two orders completed 40 and 25 days ago: manual statements only."""
    shop = make_merchant("dumplings", business_type=business_type)
    now = timezone.now()
    orders = [completed_order(shop, buyer, subtotal_minor=minor, completed_at=now - timedelta(days=days))
              for minor, days in ((3000, 40), (4000, 25))]
    return shop, orders


def test_a_manual_statement_replayed_with_its_key_is_the_same_statement(api_clerk, unscheduled):
    shop, _ = unscheduled
    first = api_clerk.post("/settlement/statements/manual", {"merchant": "dumplings"}, idempotency_key="batch-1")
    assert first.status_code == 201, first.content
    [made] = first.json()
    assert (made["kind"], made["status"], made["order_count"], made["collected"]["amount"]) == (
        "manual", "draft", 2, "70.00")
    again = api_clerk.post("/settlement/statements/manual", {"merchant": "dumplings"}, idempotency_key="batch-1")
    assert again.status_code == 201 and again.json() == first.json()
    # Even when the stored answer is gone, the key is the statement's run key: the same statement comes back.
    IdempotencyRecord.objects.all().delete()
    third = api_clerk.post("/settlement/statements/manual", {"merchant": "dumplings"}, idempotency_key="batch-1")
    assert [s["number"] for s in third.json()] == [made["number"]]
    assert Statement.objects.filter(merchant=shop).count() == 1
    _error(api_clerk.post("/settlement/statements/manual", {"merchant": "dumplings"}, idempotency_key="batch-2"),
           409, "nothing_to_settle")


def test_a_manual_statement_of_chosen_orders_or_dates(api_clerk, unscheduled):
    _, (early, late) = unscheduled
    r = api_clerk.post("/settlement/statements/manual", {"merchant": "dumplings", "order_ids": [late.pk]})
    assert r.status_code == 201, r.content
    assert r.json()[0]["order_count"] == 1
    day = timezone.localtime(early.status_changed_at).date()
    r = api_clerk.post("/settlement/statements/manual",
                       {"merchant": "dumplings", "completed_from": (day - timedelta(days=1)).isoformat(),
                        "completed_to": day.isoformat()})
    assert r.status_code == 201, r.content
    assert r.json()[0]["collected"]["amount"] == "30.00"


def test_bad_manual_statements_are_refused_and_write_nothing(api_clerk, unscheduled, world):
    before = settlement_row_counts()
    _error(api_clerk.post("/settlement/statements/manual", {"merchant": "nobody"}), 404, "not_found", "merchant")
    _error(api_clerk.post("/settlement/statements/manual", {"merchant": "dumplings",
                                                            "order_ids": [world["tea"].pk]}),
           400, "validation_failed", "order_ids")
    _error(api_clerk.post("/settlement/statements/manual", {"merchant": "dumplings", "currency": "XYZ"}), 400,
           "unknown_currency")
    _error(api_clerk.post("/settlement/statements/manual", {"merchant": "dumplings", "order_ids": [0]}), 400,
           "parameter_invalid")
    assert settlement_row_counts() == before


# --- fee rules --------------------------------------------------------------------------------
RULE = {"business_type": "food", "currency": "CNY", "rate": "0.02", "minimum_fee": "1.00",
        "effective_from": "2027-01-01"}


def test_an_admin_adds_a_fee_rule_with_a_decimal_rate(api_admin, business_type):
    r = api_admin.post("/settlement/fee-rules", {**RULE, "fixed_fee": "0.30", "note": "2027 terms"})
    assert r.status_code == 201, r.content
    rule = r.json()
    assert (rule["scope"], rule["business_type"], rule["merchant"], rule["currency"]) == (
        "business_type", "food", None, "CNY")
    assert (rule["rate"], rule["rate_percent"]) == ("0.02", "2%")
    assert (rule["fixed_fee"], rule["minimum_fee"], rule["maximum_fee"]) == (
        _money("0.30", 30), _money("1.00", 100), None)
    assert (rule["effective_from"], rule["effective_to"], rule["note"]) == ("2027-01-01", None, "2027 terms")
    assert FeeRule.objects.get().rate_ppm == 20000


def test_overlapping_fee_rules_are_refused(api_admin, business_type):
    assert api_admin.post("/settlement/fee-rules", RULE).status_code == 201
    _error(api_admin.post("/settlement/fee-rules", {**RULE, "effective_from": "2027-06-01", "rate": "0.01"}), 409,
           "fee_rule_overlap")
    assert FeeRule.objects.count() == 1


def test_ending_a_rule_lets_a_new_one_start_after_it(api_admin, business_type):
    first = api_admin.post("/settlement/fee-rules", RULE).json()
    r = api_admin.post(f"/settlement/fee-rules/{first['id']}/end", {"effective_to": "2027-05-31"})
    assert r.status_code == 200, r.content
    assert r.json()["effective_to"] == "2027-05-31"
    _error(api_admin.post(f"/settlement/fee-rules/{first['id']}/end", {"effective_to": "2026-12-31"}), 400,
           "validation_failed", "effective_to")
    assert api_admin.post("/settlement/fee-rules", {**RULE, "effective_from": "2027-06-01"}).status_code == 201
    _error(api_admin.post("/settlement/fee-rules/999999/end", {"effective_to": "2027-05-31"}), 404, "not_found")


@pytest.mark.parametrize(("change", "status", "code", "param"), [
    ({"rate": 0.02}, 400, "float_not_allowed", "rate"),
    ({"rate": "2%"}, 400, "validation_failed", "rate"),
    ({"rate": "1.5"}, 400, "validation_failed", "rate"),
    ({"rate": "0.0000001"}, 400, "validation_failed", "rate"),
    ({"minimum_fee": "1.001"}, 400, "too_many_decimals", "minimum_fee"),
    ({"minimum_fee": "5.00", "maximum_fee": "1.00"}, 400, "validation_failed", "minimum_fee"),
    ({"currency": "XYZ"}, 400, "unknown_currency", "currency"),
    ({"business_type": "toys"}, 404, "not_found", "business_type"),
    ({"merchant": "teahouse"}, 400, "validation_failed", "scope"),
    ({"effective_to": "2026-12-31"}, 400, "validation_failed", "effective_to"),
    ({"payment_fee_basis": "guess"}, 400, "parameter_invalid", "payment_fee_basis"),
])
def test_bad_fee_rules_are_refused_and_write_nothing(api_admin, merchant, change, status, code, param):
    _error(api_admin.post("/settlement/fee-rules", {**RULE, **change}), status, code, param)
    assert FeeRule.objects.count() == 0


# --- schedules --------------------------------------------------------------------------------
def test_an_admin_sets_and_replaces_a_schedule(api_admin_full, merchant):
    r = api_admin_full.put("/settlement/schedules", {"merchant": "teahouse", "cycle": "monthly", "day_of_month": 31,
                                                     "eligibility_delay_days": 3})
    assert r.status_code == 200, r.content
    assert (r.json()["cycle"], r.json()["day_of_month"], r.json()["eligibility_delay_days"]) == ("monthly", 31, 3)
    r = api_admin_full.put("/settlement/schedules", {"merchant": "teahouse", "cycle": "weekly", "weekday": 4})
    assert (r.json()["cycle"], r.json()["weekday"], r.json()["day_of_month"]) == ("weekly", 4, None)
    assert SettlementSchedule.objects.count() == 1
    r = api_admin_full.post(f"/settlement/schedules/{r.json()['id']}/deactivate")
    assert r.json()["is_active"] is False


@pytest.mark.parametrize(("body", "status", "code", "param"), [
    ({"cycle": "monthly", "day_of_month": 32}, 400, "validation_failed", "day_of_month"),
    ({"cycle": "monthly", "day_of_month": 0}, 400, "validation_failed", "day_of_month"),
    ({"cycle": "monthly"}, 400, "validation_failed", "day_of_month"),
    ({"cycle": "weekly", "weekday": 7}, 400, "validation_failed", "weekday"),
    ({"cycle": "delay", "delay_days": -1}, 400, "validation_failed", "delay_days"),
    ({"cycle": "fortnightly"}, 400, "parameter_invalid", "cycle"),
    ({"cycle": "weekly", "weekday": 1, "merchant": "nobody"}, 404, "not_found", "merchant"),
])
def test_bad_schedules_are_refused_and_change_nothing(api_admin_full, merchant, body, status, code, param):
    weekly_schedule(merchant, weekday=0)
    before = list(SettlementSchedule.objects.values())
    _error(api_admin_full.put("/settlement/schedules", {"merchant": "teahouse", **body}), status, code, param)
    assert list(SettlementSchedule.objects.values()) == before


# --- simulation -------------------------------------------------------------------------------
def test_simulating_a_fee_rule_compares_current_and_proposed_and_writes_nothing(api_admin, world):
    before = settlement_row_counts()
    r = api_admin.post("/settlement/simulations/fee-rule", {
        "business_type": "food", "currency": "CNY", "rate": "0.01", "start": "2026-11-01", "end": "2026-11-30"})
    assert r.status_code == 200, r.content
    rows = {row["merchant"]: row for row in r.json()["rows"]}
    assert set(rows) == {"teahouse", "noodles"}
    assert (rows["teahouse"]["current"]["service_fee"]["amount_minor"],
            rows["teahouse"]["proposed"]["service_fee"]["amount_minor"]) == (60, 100)
    assert settlement_row_counts() == before


def test_simulating_a_schedule_writes_nothing(api_clerk, world):
    before = settlement_row_counts()
    r = api_clerk.post("/settlement/simulations/schedule", {
        "merchant": "teahouse", "cycle": "delay", "delay_days": 0, "start": "2026-11-01", "end": "2026-11-30"})
    assert r.status_code == 200, r.content
    simulated = r.json()
    assert simulated["run_days"] == [f"2026-11-{d:02d}" for d in range(1, 31)]  # every day
    assert [(s["run_day"], s["merchant"], s["orders"], s["net"]["amount"]) for s in simulated["statements"]] == [
        ("2026-11-11", "teahouse", 1, "98.80")]  # completed on the 10th, settled the next day
    assert settlement_row_counts() == before


def test_a_simulation_shows_the_difference_per_merchant_and_defaults_to_last_month(api_admin, world):
    body = {"business_type": "food", "currency": "CNY", "rate": "0.01", "start": "2026-11-01", "end": "2026-11-30"}
    rows = {row["merchant"]: row for row in api_admin.post("/settlement/simulations/fee-rule", body).json()["rows"]}
    tea = rows["teahouse"]
    assert (tea["orders"], tea["collected"]["amount"], tea["current"]["net"]["amount"],
            tea["proposed"]["net"]["amount"], tea["difference"]["amount"]) == (1, "100.00", "98.80", "98.40", "-0.40")
    last_month = api_admin.post("/settlement/simulations/fee-rule", {"business_type": "food", "currency": "CNY",
                                                                     "rate": "0.01"}).json()
    end = timezone.localdate().replace(day=1) - timedelta(days=1)
    assert (last_month["start"], last_month["end"]) == (end.replace(day=1).isoformat(), end.isoformat())


def test_a_simulation_with_a_bad_rule_is_refused(api_admin, world):
    _error(api_admin.post("/settlement/simulations/fee-rule", {"business_type": "food", "currency": "CNY",
                                                                "rate": 0.01}), 400, "float_not_allowed", "rate")
    _error(api_admin.post("/settlement/simulations/fee-rule", {"business_type": "food", "currency": "CNY",
                                                                "start": "2026-11-30", "end": "2026-11-01"}),
           400, "validation_failed", "end")
    _error(api_admin.post("/settlement/simulations/fee-rule", {"merchant": "teahouse", "business_type": "food",
                                                                "currency": "CNY"}), 400, "validation_failed", "scope")
    _error(api_admin.post("/settlement/simulations/fee-rule", {"business_type": "toys", "currency": "CNY"}), 404,
           "not_found", "business_type")
    _error(api_admin.post("/settlement/simulations/schedule", {"merchant": "teahouse", "cycle": "monthly",
                                                                "day_of_month": 32}), 400, "validation_failed",
           "day_of_month")


def test_the_openapi_documents_the_settlement_endpoints(api_admin):
    paths = api_admin.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/settlement/statements", "/api/v1/settlement/statements/{number}/payout",
                 "/api/v1/settlement/fee-rules", "/api/v1/settlement/schedules", "/api/v1/settlement/runs",
                 "/api/v1/settlement/blocked-orders", "/api/v1/settlement/simulations/fee-rule"):
        assert path in paths, path
    payout = paths["/api/v1/settlement/statements/{number}/payout"]["post"]
    assert "multipart/form-data" in payout["requestBody"]["content"]
    assert any(p["name"] == "Idempotency-Key" for p in payout["parameters"])


def test_money_never_goes_out_as_a_float(api_clerk, world, merchant):
    _run(api_clerk)
    body = api_clerk.get(f"/settlement/statements/{_number(merchant)}").json()
    assert isinstance(body["net"]["amount"], str) and isinstance(body["net"]["amount_minor"], int)
    assert StatementLine.objects.count() == 2
