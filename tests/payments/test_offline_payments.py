"""Bank transfers and cash: the customer gets instructions, finance or staff record the money, the books follow."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from clearhouse.core.errors import InvalidTransition, ValidationFailed
from clearhouse.orders.models import Order
from clearhouse.payments.domain import AmountMismatch, OrderAlreadyPaid, reference_is_well_formed
from clearhouse.payments.models import PaymentIntent
from clearhouse.payments.services import payment_cash_record, payment_mark_received, payment_start
from tests.payments.support import books_balance, cny, fresh, ledger


def test_a_bank_transfer_gets_a_unique_reference_and_days_to_arrive(order):
    intent = payment_start(order=order, method="bank_transfer", actor="lin")
    assert intent.status == "requires_payment" and intent.provider == "bank_transfer"
    assert reference_is_well_formed(intent.reference, "PAY")
    assert intent.amount_minor == 20000 and intent.currency == "CNY"
    order.refresh_from_db()
    assert order.expires_at > timezone.now() + timedelta(days=2)


def test_finance_marks_the_transfer_received_and_the_order_is_paid_and_booked(order, clerk,
                                                                               django_capture_on_commit_callbacks):
    intent = payment_start(order=order, method="bank_transfer", actor="lin")
    with django_capture_on_commit_callbacks(execute=True):
        payment_mark_received(intent=intent, amount=cny("200.00"), bank_reference="BOC-7781", actor=clerk)
    intent = fresh(intent)
    assert intent.status == "captured" and intent.amount_captured_minor == 20000
    assert intent.order.status == "paid"
    assert ledger() == {"1000.main": 20000, "2100": -20000}
    assert books_balance()
    assert [m.to for m in mail.outbox] == [["lin@example.com"]]
    assert mail.outbox[0].attachments[0][0].endswith(".pdf")


def test_marking_the_same_transfer_twice_books_it_once(order, clerk):
    intent = payment_start(order=order, method="bank_transfer", actor="lin")
    payment_mark_received(intent=intent, amount=cny("200.00"), bank_reference="BOC-7781", actor=clerk)
    payment_mark_received(intent=intent, amount=cny("200.00"), bank_reference="BOC-7781", actor=clerk)
    assert ledger() == {"1000.main": 20000, "2100": -20000}


def test_a_short_transfer_is_refused_and_changes_nothing(order, clerk):
    intent = payment_start(order=order, method="bank_transfer", actor="lin")
    with pytest.raises(AmountMismatch):
        payment_mark_received(intent=intent, amount=cny("199.99"), bank_reference="BOC-7781", actor=clerk)
    assert fresh(intent).status == "requires_payment"
    assert Order.objects.get(pk=order.pk).status == "submitted"
    assert ledger() == {}


def test_a_transfer_needs_the_banks_reference(order, clerk):
    intent = payment_start(order=order, method="bank_transfer", actor="lin")
    with pytest.raises(ValidationFailed):
        payment_mark_received(intent=intent, amount=cny("200.00"), bank_reference="  ", actor=clerk)


def test_cash_is_recorded_with_its_receipt_number_into_cash_on_hand(order, clerk):
    intent = payment_cash_record(order=order, amount=cny("200.00"), receipt_number="R-0042", actor=clerk)
    assert intent.status == "captured" and intent.receipt_number == "R-0042"
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert ledger() == {"1050.on_hand": 20000, "2100": -20000}
    again = payment_cash_record(order=order, amount=cny("200.00"), receipt_number="R-0042", actor=clerk)
    assert again.pk == intent.pk and ledger() == {"1050.on_hand": 20000, "2100": -20000}


def test_a_paid_order_cannot_be_paid_again(order, clerk):
    payment_cash_record(order=order, amount=cny("200.00"), receipt_number="R-1", actor=clerk)
    with pytest.raises(OrderAlreadyPaid):
        payment_start(order=order, method="bank_transfer", actor="lin")
    assert PaymentIntent.objects.count() == 1


def test_choosing_another_method_cancels_the_waiting_transfer(order, clerk):
    transfer = payment_start(order=order, method="bank_transfer", actor="lin")
    cash = payment_start(order=order, method="cash", actor="lin")
    assert fresh(transfer).status == "cancelled" and cash.status == "requires_payment"
    with pytest.raises(InvalidTransition):
        payment_mark_received(intent=transfer, amount=cny("200.00"), bank_reference="late", actor=clerk)
