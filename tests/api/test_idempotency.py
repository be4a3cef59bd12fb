"""Idempotency-Key on mutating calls: replay, conflict, missing key, concurrency."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from django.db import connection

from clearhouse.core.models import IdempotencyRecord
from clearhouse.ledger.models import JournalEntry
from tests.api.test_ledger_entries import entry


def test_replaying_a_post_returns_the_same_entry_and_posts_once(api_clerk, accounts_cny):
    body = entry(accounts_cny)
    first = api_clerk.post("/ledger/entries", body, idempotency_key="order-SO-1-paid")
    again = api_clerk.post("/ledger/entries", body, idempotency_key="order-SO-1-paid")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert JournalEntry.objects.count() == 1


def test_same_key_with_reordered_json_is_the_same_request(api_clerk, accounts_cny):
    body = entry(accounts_cny)
    api_clerk.post("/ledger/entries", body, idempotency_key="k1")
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    r = api_clerk.post("/ledger/entries", raw=reordered, idempotency_key="k1")
    assert r.status_code == 201
    assert r.headers["Idempotent-Replayed"] == "true"


def test_same_key_with_a_different_body_is_a_409(api_clerk, accounts_cny):
    api_clerk.post("/ledger/entries", entry(accounts_cny), idempotency_key="k2")
    r = api_clerk.post("/ledger/entries", entry(accounts_cny, debit="5.00", credit="-5.00"), idempotency_key="k2")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "idempotency_key_reuse"
    assert r.json()["error"]["type"] == "idempotency_error"
    assert JournalEntry.objects.count() == 1


def test_a_mutating_call_without_a_key_is_refused(api_clerk, accounts_cny):
    r = api_clerk.post("/ledger/entries", entry(accounts_cny), idempotency_key=False)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "idempotency_key_required"
    assert r.json()["error"]["param"] == "Idempotency-Key"
    assert JournalEntry.objects.count() == 0


def test_keys_are_scoped_to_the_caller(api_clerk, api_manager, accounts_cny):
    a = api_clerk.post("/ledger/entries", entry(accounts_cny), idempotency_key="shared-key")
    b = api_manager.post("/ledger/entries", entry(accounts_cny), idempotency_key="shared-key")
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_a_refused_request_is_replayed_as_refused(api_clerk, accounts_cny):
    bad = entry(accounts_cny, credit="-1.00")
    first = api_clerk.post("/ledger/entries", bad, idempotency_key="k3")
    again = api_clerk.post("/ledger/entries", bad, idempotency_key="k3")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()
    assert JournalEntry.objects.count() == 0


def test_unauthenticated_calls_leave_no_idempotency_record(accounts_cny):
    from tests.conftest import ApiClient

    r = ApiClient(None).post("/ledger/entries", entry(accounts_cny), idempotency_key="anon")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "authentication_required"
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_execute_exactly_once(api_clerk, accounts_cny):
    body = entry(accounts_cny)
    key = str(uuid.uuid4())
    results: list = []
    barrier = threading.Barrier(8)

    def call():
        try:
            barrier.wait()
            r = api_clerk.post("/ledger/entries", body, idempotency_key=key)
            results.append((r.status_code, r.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    assert {status for status, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == 1
    assert JournalEntry.objects.count() == 1


def test_a_method_no_operation_serves_is_a_405_not_a_missing_key_error(api_clerk, accounts_cny):
    r = api_clerk.client.put(f"/api/v1/ledger/accounts/{accounts_cny['bank'].pk}",
                             headers={"Authorization": f"Bearer {api_clerk.token}"})
    assert r.status_code == 405


def test_an_oversized_body_gets_a_413_in_the_envelope(api_clerk, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    r = api_clerk.post("/ledger/entries", raw='{"memo": "' + "x" * 5000 + '"}')
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request_too_large"


def test_multipart_fingerprints_ignore_the_boundary(rf):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test.client import encode_multipart

    from clearhouse.api.idempotency import request_fingerprint

    def request(boundary):
        body = encode_multipart(boundary, {"position": "1", "image": SimpleUploadedFile("a.png", b"png-bytes")})
        return rf.post("/api/v1/x", data=body, content_type=f"multipart/form-data; boundary={boundary}")

    assert request_fingerprint(request("AAAA")) == request_fingerprint(request("BBBB"))
