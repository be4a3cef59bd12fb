"""Feedback tickets: customers open, follow up and close their own; staff read, answer and close any.

Customer endpoints live under `/customers/me/feedback` and see only the
caller's tickets (another's is a 404). Staff endpoints under
`/customers/feedback` need `customers.view_customers` to read and
`customers.answer_feedback` to answer or close.
"""

from __future__ import annotations

from ninja import Router, Status

from clearhouse.accounts.roles import ANSWER_FEEDBACK, VIEW_CUSTOMERS
from clearhouse.api.pagination import Page, paginate
from clearhouse.api.routers.customer_schemas import (
    MessageIn,
    PageNumber,
    PageSize,
    PathId,
    TicketDetailOut,
    TicketIn,
    TicketOut,
    ticket_detail_out,
    ticket_out,
)
from clearhouse.api.routers.customers import me, staff
from clearhouse.customers import selectors, services
from clearhouse.customers.domain import TicketStatus

router = Router(tags=["feedback"])


# --- the customer's own tickets -------------------------------------------------------------
@router.post("/me/feedback", response={201: TicketDetailOut}, summary="Open a feedback ticket")
def open_ticket(request, payload: TicketIn):
    ticket = services.feedback_ticket_open(customer=me(request), subject=payload.subject, body=payload.body,
                                           order_reference=payload.order_reference, actor=request.auth)
    return Status(201, ticket_detail_out(ticket, for_staff=False))


@router.get("/me/feedback", response=Page[TicketOut], summary="My feedback tickets (newest first)")
def list_my_tickets(request, status: TicketStatus | None = None, page: PageNumber = 1, page_size: PageSize = 50):
    return paginate(selectors.feedback_ticket_list(customer=me(request), status=status), page, page_size,
                    ticket_out)


@router.get("/me/feedback/{int:ticket_id}", response=TicketDetailOut, summary="One of my tickets, with replies")
def get_my_ticket(request, ticket_id: PathId):
    ticket = selectors.feedback_ticket_get(ticket_id=ticket_id, customer=me(request))
    return ticket_detail_out(ticket, for_staff=False)


@router.post("/me/feedback/{int:ticket_id}/messages", response={201: TicketDetailOut},
             summary="Follow up on my ticket (reopens an answered one)")
def follow_up(request, ticket_id: PathId, payload: MessageIn):
    ticket = selectors.feedback_ticket_get(ticket_id=ticket_id, customer=me(request))
    services.feedback_ticket_reply(ticket=ticket, body=payload.body, actor=request.auth, by_staff=False)
    return Status(201, ticket_detail_out(ticket, for_staff=False))


@router.post("/me/feedback/{int:ticket_id}/close", response=TicketDetailOut, summary="Close my ticket")
def close_my_ticket(request, ticket_id: PathId):
    ticket = selectors.feedback_ticket_get(ticket_id=ticket_id, customer=me(request))
    services.feedback_ticket_close(ticket=ticket, actor=request.auth, by_staff=False)
    return ticket_detail_out(ticket, for_staff=False)


# --- staff ------------------------------------------------------------------------------
@router.get("/feedback", response=Page[TicketOut], summary="Every customer's tickets (newest first)")
def list_tickets(request, status: TicketStatus | None = None, page: PageNumber = 1, page_size: PageSize = 50):
    staff(request, VIEW_CUSTOMERS)
    return paginate(selectors.feedback_ticket_list(status=status), page, page_size, ticket_out)


@router.get("/feedback/{int:ticket_id}", response=TicketDetailOut, summary="A ticket, with replies and timeline")
def get_ticket(request, ticket_id: PathId):
    staff(request, VIEW_CUSTOMERS)
    return ticket_detail_out(selectors.feedback_ticket_get(ticket_id=ticket_id), for_staff=True)


@router.post("/feedback/{int:ticket_id}/answers", response={201: TicketDetailOut}, summary="Answer a ticket")
def answer_ticket(request, ticket_id: PathId, payload: MessageIn):
    principal = staff(request, ANSWER_FEEDBACK)
    ticket = selectors.feedback_ticket_get(ticket_id=ticket_id)
    services.feedback_ticket_reply(ticket=ticket, body=payload.body, actor=principal, by_staff=True)
    return Status(201, ticket_detail_out(ticket, for_staff=True))


@router.post("/feedback/{int:ticket_id}/close", response=TicketDetailOut, summary="Close a ticket")
def close_ticket(request, ticket_id: PathId):
    principal = staff(request, ANSWER_FEEDBACK)
    ticket = selectors.feedback_ticket_get(ticket_id=ticket_id)
    services.feedback_ticket_close(ticket=ticket, actor=principal, by_staff=True)
    return ticket_detail_out(ticket, for_staff=True)
