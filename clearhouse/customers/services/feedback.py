"""Writes of feedback tickets: open, reply, close; every status change recorded."""

from __future__ import annotations

from django.db import transaction

from clearhouse.accounts.models import User
from clearhouse.core.audit import actor_label
from clearhouse.customers.domain import TicketStatus, check_ticket_transition, clean_text, status_after_message
from clearhouse.customers.locks import ticket_select_for_update
from clearhouse.customers.models import CustomerProfile, FeedbackMessage, FeedbackStatusChange, FeedbackTicket


def _user_of(actor) -> User | None:
    """The signed-in person behind an actor (a User, or a Principal with one); None for API keys."""
    return actor if isinstance(actor, User) else getattr(actor, "user", None)


@transaction.atomic
def feedback_ticket_open(*, customer: CustomerProfile, subject: str, body: str, order_reference: str = "",
                         actor=None) -> FeedbackTicket:
    """A customer raises a question or complaint, optionally about one order; it starts open."""
    ticket = FeedbackTicket.objects.create(
        customer=customer, subject=clean_text(subject, param="subject", max_length=200),
        body=clean_text(body, param="body", max_length=5000),
        order_reference=clean_text(order_reference, param="order_reference", max_length=100, required=False),
        status=TicketStatus.OPEN,
    )
    FeedbackStatusChange.objects.create(ticket=ticket, from_status="", to_status=TicketStatus.OPEN, by_staff=False,
                                        actor=actor_label(actor or customer))
    return ticket


@transaction.atomic
def feedback_ticket_transition(*, ticket: FeedbackTicket, to: str, actor, by_staff: bool) -> FeedbackTicket:
    """The one way a ticket changes status: checked against TRANSITIONS, recorded with who and when."""
    locked = ticket_select_for_update(ticket_id=ticket.pk)
    check_ticket_transition(locked.status, to)
    FeedbackStatusChange.objects.create(ticket=locked, from_status=locked.status, to_status=to, by_staff=by_staff,
                                        actor=actor_label(actor))
    locked.status = ticket.status = TicketStatus(to).value
    locked.save(update_fields=["status", "updated_at"])
    return locked


@transaction.atomic
def feedback_ticket_reply(*, ticket: FeedbackTicket, body: str, actor, by_staff: bool) -> FeedbackMessage:
    """Write on a ticket: a staff answer makes it answered, a customer's follow-up reopens it.

    Nothing can be written on a closed ticket (InvalidTransition).
    """
    locked = ticket_select_for_update(ticket_id=ticket.pk)
    target = status_after_message(locked.status, by_staff=by_staff)
    message = FeedbackMessage.objects.create(
        ticket=locked, author=_user_of(actor), author_label=actor_label(actor), by_staff=by_staff,
        body=clean_text(body, param="body", max_length=5000),
    )
    if target != locked.status:
        feedback_ticket_transition(ticket=ticket, to=target, actor=actor, by_staff=by_staff)
    return message


def feedback_ticket_close(*, ticket: FeedbackTicket, actor, by_staff: bool) -> FeedbackTicket:
    """Close a ticket for good (customer or staff)."""
    return feedback_ticket_transition(ticket=ticket, to=TicketStatus.CLOSED, actor=actor, by_staff=by_staff)
