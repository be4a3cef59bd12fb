"""What a payment's arrival or failure means elsewhere, applied in the same transaction.

Captured money is booked (capture and provider fee, one entry each, posted
together and keyed by the intent so a second delivery books nothing);
money held or taken makes the order paid; the customer hears about it after
commit. A payment that lands on an order that can no longer be paid
(cancelled or expired meanwhile) is given back right after commit.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from clearhouse.core.money import Money
from clearhouse.ledger.posting_recipes import offline_payment_received, payment_captured_draft, provider_fee_draft
from clearhouse.ledger.services import journal_entries_post
from clearhouse.orders.domain import OrderStatus
from clearhouse.orders.models import Order
from clearhouse.orders.services import order_paid_if_payable
from clearhouse.payments.models import PaymentIntent
from clearhouse.payments.services import notices

PAID_OR_LATER = {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED}


def book_capture(*, intent: PaymentIntent, actor=None) -> None:
    """Post the capture (and the provider's fee, when known) to the ledger, idempotently."""
    day = timezone.localdate()
    captured = Money(intent.amount_captured_minor, intent.currency)
    if intent.provider in ("bank_transfer", "cash"):
        offline_payment_received(payment_id=intent.reference, method=intent.provider, amount=captured, day=day,
                                 merchant=intent.merchant_id, actor=actor)
        return
    drafts = [payment_captured_draft(payment_id=intent.reference, provider=intent.provider, amount=captured,
                                     day=day, merchant=intent.merchant_id)]
    if intent.fee_minor:
        drafts.append(provider_fee_draft(payment_id=intent.reference, provider=intent.provider,
                                         fee=Money(intent.fee_minor, intent.currency), day=day))
    journal_entries_post(drafts=drafts, actor=actor)


def book_fee(*, intent: PaymentIntent, actor=None) -> None:
    """The provider's fee on a captured payment, learned after the capture was booked."""
    journal_entries_post(drafts=[provider_fee_draft(
        payment_id=intent.reference, provider=intent.provider, fee=Money(intent.fee_minor, intent.currency),
        day=timezone.localdate())], actor=actor)


def order_paid(*, intent: PaymentIntent, actor=None) -> bool:
    """Mark the intent's order paid; False when the order can no longer take the money (give it back).

    The intent's lock read its order alongside (select_related): that status is where the order moves from,
    by one conditional UPDATE (see order_paid_if_payable); refused, nothing is written and no savepoint is
    needed: the order is already paid (authorized earlier, or a webhook for this very payment got there
    first), or cancelled or expired and unable to take the money.
    """
    order = intent.order if "order" in intent._state.fields_cache else Order(pk=intent.order_id)
    order, moved = order_paid_if_payable(order=order, actor=actor or "system:payments",
                                         note=f"{intent.method} {intent.reference}")
    intent.order = order
    return moved or order.status in PAID_OR_LATER


def on_secured(*, intent: PaymentIntent, captured_now: bool, actor=None) -> None:
    """The customer's money is held (authorized) or taken (captured)."""
    if captured_now:
        book_capture(intent=intent, actor=actor)
    if not order_paid(intent=intent, actor=actor):
        _give_back(intent=intent)
        return
    if captured_now:
        notices.payment_succeeded(intent=intent)


def _give_back(*, intent: PaymentIntent) -> None:
    """After commit (it calls the provider, which no transaction may wait on): refund or void it all."""
    from clearhouse.payments.tasks import give_back_payment

    reference = intent.reference
    transaction.on_commit(lambda: give_back_payment.enqueue(reference=reference), robust=True)
