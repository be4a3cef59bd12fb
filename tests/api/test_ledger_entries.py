"""POST/GET /api/v1/ledger/entries: bad input gets a 4xx with a code and writes nothing."""

from __future__ import annotations

import pytest

from clearhouse.ledger.models import BalanceBucket, JournalEntry, Posting
from clearhouse.ledger.services import account_deactivate, period_close, period_create


def entry(accounts, debit="100.00", credit="-100.00", currency="CNY", **extra):
    body = {
        "effective_date": "2026-11-23",
        "memo": "Order SO-1 paid",
        "postings": [
            {"account_id": accounts["clearing"].pk, "amount": debit, "currency": currency},
            {"account_id": accounts["sales"].pk, "amount": credit, "currency": currency},
        ],
    }
    body.update(extra)
    return body


def nothing_written():
    return (JournalEntry.objects.count(), Posting.objects.count(), BalanceBucket.objects.count()) == (0, 0, 0)


def test_a_balanced_entry_is_posted_with_its_postings(api_clerk, accounts_cny):
    r = api_clerk.post("/ledger/entries", entry(accounts_cny))
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["memo"] == "Order SO-1 paid"
    assert sorted(p["amount"] for p in body["postings"]) == ["-100.00", "100.00"]
    assert sorted(p["amount_minor"] for p in body["postings"]) == [-10000, 10000]
    assert body["posted_by"].startswith("api_key:")


@pytest.mark.parametrize(
    ("change", "status", "code", "param"),
    [
        (dict(credit="-99.99"), 400, "unbalanced_entry", "postings"),
        (dict(debit=100.0, credit=-100.0), 400, "float_not_allowed", "postings[0].amount"),
        (dict(debit=100, credit=-100), 400, "invalid_amount", "postings[0].amount"),
        (dict(debit="100.001", credit="-100.001"), 400, "too_many_decimals", "postings[0].amount"),
        (dict(debit="1e2", credit="-1e2"), 400, "invalid_amount", "postings[0].amount"),
        (dict(debit="abc", credit="-abc"), 400, "invalid_amount", "postings[0].amount"),
        (dict(currency="ZZZ"), 400, "unknown_currency", "currency"),
        (dict(currency="USD"), 400, "currency_mismatch", "postings[0].currency"),
        (dict(debit="0", credit="0"), 400, "validation_failed", "postings[0].amount"),
    ],
)
def test_bad_amounts_are_refused_with_a_specific_code(api_clerk, accounts_cny, change, status, code, param):
    r = api_clerk.post("/ledger/entries", entry(accounts_cny, **change))
    assert r.status_code == status, r.content
    err = r.json()["error"]
    assert err["code"] == code
    assert err["param"] == param
    assert err["type"] == "invalid_request_error"
    assert err["message"]
    assert nothing_written()


def test_unknown_account_is_refused(api_clerk, accounts_cny):
    body = entry(accounts_cny)
    body["postings"][1]["account_id"] = 999999
    r = api_clerk.post("/ledger/entries", body)
    assert r.status_code == 400
    assert r.json()["error"] == {
        "type": "invalid_request_error", "code": "account_not_found", "param": "postings[1].account_id",
        "message": "No ledger account 999999.",
    }
    assert nothing_written()


def test_inactive_account_is_refused(api_clerk, accounts_cny):
    account_deactivate(account=accounts_cny["sales"])
    r = api_clerk.post("/ledger/entries", entry(accounts_cny))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "account_inactive"
    assert nothing_written()


def test_posting_into_a_closed_period_is_refused(api_clerk, accounts_cny):
    period = period_create(name="2026-10", start_date="2026-10-01", end_date="2026-10-31")
    period_close(period=period)
    r = api_clerk.post("/ledger/entries", entry(accounts_cny, effective_date="2026-10-15"))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "period_closed"
    assert nothing_written()
    assert api_clerk.post("/ledger/entries", entry(accounts_cny, effective_date="2026-11-01")).status_code == 201


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"effective_date": "2026-11-23", "postings": [', "malformed_json"),
        ('{"postings": []}', "parameter_missing"),
        ('{"effective_date": "not a date", "postings": []}', "parameter_invalid"),
    ],
)
def test_malformed_requests_get_a_400_with_a_code(api_clerk, accounts_cny, raw, code):
    r = api_clerk.post("/ledger/entries", raw=raw)
    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] == code
    assert nothing_written()


def test_an_entry_with_a_single_posting_is_refused(api_clerk, accounts_cny):
    body = entry(accounts_cny)
    body["postings"] = body["postings"][:1]
    r = api_clerk.post("/ledger/entries", body)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unbalanced_entry"


def test_entries_can_be_read_back_and_filtered(api_clerk, accounts_cny):
    first = api_clerk.post("/ledger/entries", entry(accounts_cny, source_type="order", source_id="SO-1")).json()
    api_clerk.post("/ledger/entries", entry(accounts_cny, effective_date="2026-11-01"))
    assert api_clerk.get(f"/ledger/entries/{first['id']}").json() == first
    listed = api_clerk.get("/ledger/entries", source_type="order").json()
    assert [e["id"] for e in listed["data"]] == [first["id"]]
    by_date = api_clerk.get("/ledger/entries", effective_to="2026-11-10").json()["data"]
    assert [e["effective_date"] for e in by_date] == ["2026-11-01"]
    page = api_clerk.get("/ledger/entries", page_size=1).json()
    assert page["has_more"] is True and len(page["data"]) == 1
    assert api_clerk.get("/ledger/entries/424242").status_code == 404


def test_reversal_posts_the_mirror_entry_once(api_manager, accounts_cny):
    original = api_manager.post("/ledger/entries", entry(accounts_cny)).json()
    r = api_manager.post(f"/ledger/entries/{original['id']}/reverse", {"memo": "posted twice by mistake"})
    assert r.status_code == 201, r.content
    reversal = r.json()
    assert reversal["reverses_id"] == original["id"]
    assert sorted(p["amount_minor"] for p in reversal["postings"]) == [-10000, 10000]
    again = api_manager.post(f"/ledger/entries/{original['id']}/reverse", {"memo": "again"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "entry_already_reversed"
    balance = api_manager.get(f"/ledger/accounts/{accounts_cny['clearing'].pk}/balance").json()
    assert balance["balance"] == "0.00"


def test_a_clerk_cannot_reverse_entries(api_clerk, accounts_cny):
    original = api_clerk.post("/ledger/entries", entry(accounts_cny)).json()
    r = api_clerk.post(f"/ledger/entries/{original['id']}/reverse", {})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "permission_denied"


def test_out_of_range_ids_and_nul_bytes_are_a_400_not_a_500(api_clerk, accounts_cny):
    body = entry(accounts_cny)
    body["postings"][0]["account_id"] = 2**70
    r = api_clerk.post("/ledger/entries", body)
    assert r.status_code == 400, r.content
    assert api_clerk.get(f"/ledger/entries/{2**70}").status_code in {400, 404}
    r = api_clerk.post("/ledger/entries", entry(accounts_cny, memo="bad\x00memo"))
    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] == "parameter_invalid"
    assert api_clerk.get("/ledger/entries", page="abc").json()["error"]["code"] == "parameter_invalid"


def test_dates_must_be_iso_not_unix_times(api_clerk, accounts_cny):
    r = api_clerk.get("/ledger/entries", effective_to="0")
    assert r.status_code == 400 and r.json()["error"]["param"] == "effective_to"
    r = api_clerk.post("/ledger/entries", entry(accounts_cny, effective_date=1700000000))
    assert r.status_code == 400 and r.json()["error"]["param"] == "effective_date"
