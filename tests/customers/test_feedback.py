"""Feedback tickets: open, answered by staff, reopened by the customer, closed for good; every move recorded."""

from __future__ import annotations

import pytest

from clearhouse.core.errors import InvalidTransition, ValidationFailed
from clearhouse.customers.models import FeedbackMessage, FeedbackStatusChange, FeedbackTicket
from clearhouse.customers.services import (
    feedback_ticket_close,
    feedback_ticket_open,
    feedback_ticket_reply,
    feedback_ticket_transition,
)


@pytest.fixture
def ticket(customer, customer_user):
    return feedback_ticket_open(customer=customer, subject="Wrong colour", body="I ordered blue, got green.",
                                order_reference="SO-20261123-000001", actor=customer_user)


def timeline(ticket) -> list[tuple[str, str, bool]]:
    return list(ticket.status_changes.order_by("id").values_list("from_status", "to_status", "by_staff"))


def test_a_new_ticket_is_open_and_its_timeline_starts(ticket, customer_user):
    assert (ticket.status, ticket.order_reference) == ("open", "SO-20261123-000001")
    assert timeline(ticket) == [("", "open", False)]
    assert ticket.status_changes.get().actor == customer_user.audit_label()


def test_a_staff_answer_then_a_follow_up_then_closing(ticket, customer_user, clerk):
    feedback_ticket_reply(ticket=ticket, body="Sorry! A blue one is on its way.", actor=clerk, by_staff=True)
    assert ticket.status == "answered"
    feedback_ticket_reply(ticket=ticket, body="It has not arrived.", actor=customer_user, by_staff=False)
    assert ticket.status == "open"
    feedback_ticket_reply(ticket=ticket, body="Tracking: SF123.", actor=clerk, by_staff=True)
    feedback_ticket_close(ticket=ticket, actor=customer_user, by_staff=False)
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert timeline(ticket) == [("", "open", False), ("open", "answered", True), ("answered", "open", False),
                                ("open", "answered", True), ("answered", "closed", False)]
    messages = list(ticket.messages.values_list("by_staff", "author_id"))
    assert messages == [(True, clerk.pk), (False, customer_user.pk), (True, clerk.pk)]


def test_a_customer_writing_on_an_open_ticket_keeps_it_open_without_a_status_change(ticket, customer_user):
    feedback_ticket_reply(ticket=ticket, body="Any news?", actor=customer_user, by_staff=False)
    assert ticket.status == "open"
    assert timeline(ticket) == [("", "open", False)]


def test_nothing_can_be_written_on_a_closed_ticket(ticket, clerk):
    feedback_ticket_close(ticket=ticket, actor=clerk, by_staff=True)
    with pytest.raises(InvalidTransition) as exc:
        feedback_ticket_reply(ticket=ticket, body="One more thing", actor=clerk, by_staff=True)
    assert exc.value.code == "invalid_transition"
    assert not FeedbackMessage.objects.exists()
    with pytest.raises(InvalidTransition):
        feedback_ticket_close(ticket=ticket, actor=clerk, by_staff=True)
    assert FeedbackStatusChange.objects.filter(ticket=ticket).count() == 2


def test_an_illegal_move_is_refused_and_not_recorded(ticket, clerk):
    with pytest.raises(InvalidTransition):
        feedback_ticket_transition(ticket=ticket, to="open", actor=clerk, by_staff=True)
    with pytest.raises(ValidationFailed):
        feedback_ticket_transition(ticket=ticket, to="pending", actor=clerk, by_staff=True)
    assert timeline(ticket) == [("", "open", False)]


@pytest.mark.parametrize("fields, param", [({"subject": " "}, "subject"), ({"body": ""}, "body"),
                                           ({"subject": "x" * 201}, "subject"),
                                           ({"order_reference": "x" * 101}, "order_reference")])
def test_a_ticket_needs_a_subject_and_a_body(customer, fields, param):
    with pytest.raises(ValidationFailed) as exc:
        feedback_ticket_open(customer=customer, **{"subject": "Hello", "body": "Text", **fields})
    assert exc.value.param == param
    assert not FeedbackTicket.objects.exists()


def test_an_empty_reply_is_refused(ticket, clerk):
    with pytest.raises(ValidationFailed):
        feedback_ticket_reply(ticket=ticket, body="   ", actor=clerk, by_staff=True)
    ticket.refresh_from_db()
    assert ticket.status == "open"
