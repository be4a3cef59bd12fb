"""Row locks of payments, taken inside services only (DESIGN §12.7).

Lock order: the order, then its intent, then the intent's refunds. Paying
locks the order first (one live intent per order); everything after that
locks the intent, so a webhook, a poll and a customer's click on one
payment take turns.
"""

from __future__ import annotations

from clearhouse.payments.models import PaymentIntent, Refund


def intent_select_for_update(*, intent_id: int) -> PaymentIntent:
    """The intent, locked, with its order, merchant and customer read alongside (not locked: only the intent is)."""
    return PaymentIntent.objects.select_for_update(of=("self",)).select_related(
        "order", "merchant", "customer").get(pk=intent_id)


def refund_select_for_update(*, refund_id: int) -> Refund:
    return Refund.objects.select_for_update().get(pk=refund_id)
