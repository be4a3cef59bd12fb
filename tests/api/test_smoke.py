def test_unbalanced_entry_is_refused_with_a_code_and_writes_nothing(api_clerk, accounts_cny):
    from clearhouse.ledger.models import JournalEntry

    r = api_clerk.post("/ledger/entries", {
        "effective_date": "2026-11-23",
        "postings": [
            {"account_id": accounts_cny["clearing"].pk, "amount": "100.00", "currency": "CNY"},
            {"account_id": accounts_cny["sales"].pk, "amount": "-99.99", "currency": "CNY"},
        ],
    })
    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] == "unbalanced_entry"
    assert JournalEntry.objects.count() == 0
