"""Named locks for customers, taken inside services only (DESIGN §12.7).

A customer's profile row is the lock for everything that must not
interleave for one customer: points movements (two checkouts spending the
same points) and spend records (the level follows the sum).
"""

from __future__ import annotations

from clearhouse.customers.models import CustomerProfile, FeedbackTicket


def customer_select_for_update(*, customer_id: int) -> CustomerProfile:
    return CustomerProfile.objects.select_for_update().get(pk=customer_id)


def ticket_select_for_update(*, ticket_id: int) -> FeedbackTicket:
    return FeedbackTicket.objects.select_for_update().get(pk=ticket_id)
