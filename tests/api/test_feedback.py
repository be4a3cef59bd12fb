"""Feedback tickets over the API: customers raise and follow up their own, staff answer and close any."""

from __future__ import annotations

import pytest

from clearhouse.customers.models import FeedbackMessage, FeedbackTicket


@pytest.fixture
def lin_ticket(api_lin, customer):
    r = api_lin.post("/customers/me/feedback", {"subject": "Wrong colour", "body": "I ordered blue, got green.",
                                                "order_reference": "SO-20261123-000001"})
    assert r.status_code == 201, r.content
    return r.json()


def test_a_customer_opens_a_ticket_and_sees_it_listed(api_lin, lin_ticket):
    assert (lin_ticket["status"], lin_ticket["messages"]) == ("open", [])
    assert [(t["from_status"], t["to_status"]) for t in lin_ticket["timeline"]] == [("", "open")]
    listed = api_lin.get("/customers/me/feedback").json()["data"]
    assert [t["id"] for t in listed] == [lin_ticket["id"]]
    assert api_lin.get("/customers/me/feedback", status="closed").json()["data"] == []


def test_staff_answer_the_customer_follows_up_and_closes(api_lin, api_clerk, lin_ticket):
    ticket_id = lin_ticket["id"]
    answered = api_clerk.post(f"/customers/feedback/{ticket_id}/answers", {"body": "A blue one is on its way."})
    assert answered.status_code == 201, answered.content
    assert answered.json()["status"] == "answered"
    assert answered.json()["messages"][0]["author"].startswith("api_key:")
    mine = api_lin.get(f"/customers/me/feedback/{ticket_id}").json()
    assert [(m["by_staff"], m["author"]) for m in mine["messages"]] == [(True, None)]  # which staff: not shown
    follow_up = api_lin.post(f"/customers/me/feedback/{ticket_id}/messages", {"body": "Still not here."})
    assert follow_up.json()["status"] == "open"
    closed = api_lin.post(f"/customers/me/feedback/{ticket_id}/close")
    assert closed.json()["status"] == "closed"
    assert [(t["to_status"], t["by_staff"]) for t in closed.json()["timeline"]] == [
        ("open", False), ("answered", True), ("open", False), ("closed", False)]


def test_a_closed_ticket_takes_no_more_messages(api_lin, api_clerk, lin_ticket):
    api_clerk.post(f"/customers/feedback/{lin_ticket['id']}/close")
    r = api_lin.post(f"/customers/me/feedback/{lin_ticket['id']}/messages", {"body": "Hello?"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "invalid_transition")
    r = api_clerk.post(f"/customers/feedback/{lin_ticket['id']}/answers", {"body": "Hi"})
    assert r.status_code == 409
    assert not FeedbackMessage.objects.exists()


def test_another_customers_ticket_is_not_found(api_wang, other_customer, lin_ticket):
    ticket_id = lin_ticket["id"]
    assert api_wang.get(f"/customers/me/feedback/{ticket_id}").status_code == 404
    assert api_wang.post(f"/customers/me/feedback/{ticket_id}/messages", {"body": "x"}).status_code == 404
    assert api_wang.post(f"/customers/me/feedback/{ticket_id}/close").status_code == 404
    assert api_wang.get("/customers/me/feedback").json()["data"] == []
    assert FeedbackTicket.objects.get(pk=ticket_id).status == "open"


def test_customers_cannot_use_the_staff_desk(api_lin, lin_ticket):
    assert api_lin.get("/customers/feedback").status_code == 403
    assert api_lin.post(f"/customers/feedback/{lin_ticket['id']}/answers", {"body": "Self-answer"}).status_code == 403


def test_an_auditor_reads_tickets_but_does_not_answer(api_auditor, lin_ticket):
    assert [t["id"] for t in api_auditor.get("/customers/feedback").json()["data"]] == [lin_ticket["id"]]
    assert api_auditor.get(f"/customers/feedback/{lin_ticket['id']}").status_code == 200
    assert api_auditor.post(f"/customers/feedback/{lin_ticket['id']}/close").status_code == 403


def test_a_ticket_without_a_subject_is_refused(api_lin, customer):
    r = api_lin.post("/customers/me/feedback", {"subject": "  ", "body": "text"})
    assert (r.status_code, r.json()["error"]["param"]) == (400, "subject")
    r = api_lin.post("/customers/me/feedback", {"body": "text"})
    assert r.json()["error"]["code"] == "parameter_missing"
    assert not FeedbackTicket.objects.exists()


def test_opening_a_ticket_twice_with_one_idempotency_key_opens_one(api_lin, customer):
    body = {"subject": "Late", "body": "Where is it?"}
    first = api_lin.post("/customers/me/feedback", body, idempotency_key="k1")
    again = api_lin.post("/customers/me/feedback", body, idempotency_key="k1")
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert FeedbackTicket.objects.count() == 1
