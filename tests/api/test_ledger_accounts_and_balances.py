"""Accounts, balances, trial balance and periods over the API, and merchant isolation on each endpoint."""

from __future__ import annotations

import pytest

from clearhouse.core.money import Money
from clearhouse.ledger import posting_recipes as recipes
from clearhouse.ledger.models import Account


@pytest.fixture
def two_merchants_paid(merchant, other_merchant, today):
    """Each merchant has one captured payment; returns their payable accounts."""
    recipes.payment_captured(payment_id="p1", provider="sandbox", amount=Money(12000, "CNY"), day=today,
                             merchant=merchant)
    recipes.payment_captured(payment_id="p2", provider="sandbox", amount=Money(3400, "CNY"), day=today,
                             merchant=other_merchant)
    return (Account.objects.get(code="2100", merchant=merchant),
            Account.objects.get(code="2100", merchant=other_merchant))


def test_a_manager_opens_accounts_and_a_clerk_may_not(api_manager, api_clerk, merchant):
    r = api_manager.post("/ledger/accounts", {"code": "2100", "name": "Payable", "type": "liability",
                                              "currency": "cny", "merchant": "teahouse"})
    assert r.status_code == 201, r.content
    assert r.json()["currency"] == "CNY" and r.json()["merchant"] == "teahouse"
    dup = api_manager.post("/ledger/accounts", {"code": "2100", "name": "Again", "type": "liability",
                                                "currency": "CNY", "merchant": "teahouse"})
    assert dup.status_code == 400 and dup.json()["error"]["code"] == "validation_failed"
    bad = api_manager.post("/ledger/accounts", {"code": "9", "name": "x", "type": "asset", "currency": "ABC"})
    assert bad.json()["error"]["code"] == "unknown_currency"
    r = api_clerk.post("/ledger/accounts", {"code": "1", "name": "x", "type": "asset", "currency": "CNY"})
    assert r.status_code == 403


def test_balances_and_trial_balance(api_auditor, two_merchants_paid, today):
    tb = api_auditor.get("/ledger/trial-balance").json()
    assert tb["balanced"] is True
    assert tb["totals"] == [{"currency": "CNY", "debit": "154.00", "credit": "154.00", "balanced": True}]
    payable, _ = two_merchants_paid
    bal = api_auditor.get(f"/ledger/accounts/{payable.pk}/balance").json()
    assert (bal["balance"], bal["credit"], bal["debit"]) == ("-120.00", "120.00", "0.00")
    before = api_auditor.get(f"/ledger/accounts/{payable.pk}/balance", as_of="2026-11-22").json()
    assert before["balance"] == "0.00"
    rows = api_auditor.get("/ledger/balances", merchant="teahouse").json()
    assert [(r["account_code"], r["balance"]) for r in rows] == [("2100", "-120.00")]


def test_a_merchant_key_sees_only_its_own_sub_ledger(api_merchant, two_merchants_paid):
    mine, theirs = two_merchants_paid
    accounts = api_merchant.get("/ledger/accounts").json()["data"]
    assert [a["id"] for a in accounts] == [mine.pk]
    assert api_merchant.get("/ledger/accounts", merchant="noodles").json()["data"] == accounts
    assert api_merchant.get(f"/ledger/accounts/{theirs.pk}").status_code == 404
    assert api_merchant.get(f"/ledger/accounts/{theirs.pk}/balance").status_code == 404
    balances = api_merchant.get("/ledger/balances", merchant="noodles").json()
    assert [b["account_id"] for b in balances] == [mine.pk]
    entries = api_merchant.get("/ledger/entries").json()["data"]
    assert len(entries) == 1
    assert {p["account_id"] for p in entries[0]["postings"]} == {mine.pk}  # not the clearing side
    their_entry = api_merchant.get("/ledger/entries", account_id=theirs.pk).json()["data"]
    assert their_entry == []
    from clearhouse.ledger.models import JournalEntry

    other = JournalEntry.objects.get(source_id="p2")
    assert api_merchant.get(f"/ledger/entries/{other.pk}").status_code == 404
    assert api_merchant.get("/ledger/trial-balance").status_code == 403
    assert api_merchant.post("/ledger/entries", {"effective_date": "2026-11-23", "postings": []}).status_code in {
        400, 403}
    assert api_merchant.post(f"/ledger/entries/{other.pk}/reverse", {}).status_code in {403, 404}
    assert api_merchant.post("/ledger/accounts", {"code": "1", "name": "x", "type": "asset",
                                                  "currency": "CNY"}).status_code == 403
    assert api_merchant.get("/ledger/periods").status_code == 200
    assert api_merchant.post("/ledger/periods", {"name": "p", "start_date": "2026-01-01",
                                                 "end_date": "2026-01-31"}).status_code == 403
    assert api_merchant.get("/api-keys").status_code == 403


def test_periods_open_and_close_over_the_api(api_manager):
    r = api_manager.post("/ledger/periods", {"name": "2026-10", "start_date": "2026-10-01",
                                             "end_date": "2026-10-31"})
    assert r.status_code == 201, r.content
    closed = api_manager.post(f"/ledger/periods/{r.json()['id']}/close")
    assert closed.json()["status"] == "closed"
    again = api_manager.post(f"/ledger/periods/{r.json()['id']}/close")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    overlap = api_manager.post("/ledger/periods", {"name": "x", "start_date": "2026-10-15",
                                                   "end_date": "2026-11-15"})
    assert overlap.status_code == 400


def test_openapi_lists_the_ledger_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path in ["/api/v1/ledger/accounts", "/api/v1/ledger/entries", "/api/v1/ledger/entries/{entry_id}/reverse",
                 "/api/v1/ledger/balances", "/api/v1/ledger/trial-balance", "/api/v1/ledger/periods"]:
        assert path in spec["paths"], path
    assert client.get("/api/v1/docs").status_code == 200


def test_openapi_documents_the_idempotency_header_on_mutating_calls(client):
    spec = client.get("/api/v1/openapi.json").json()
    post = spec["paths"]["/api/v1/ledger/entries"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in post["parameters"])
    get = spec["paths"]["/api/v1/ledger/entries"]["get"]
    assert all(p["name"] != "Idempotency-Key" for p in get.get("parameters", []))
