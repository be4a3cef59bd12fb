"""Refunds: never more than was captured, large ones approved by someone else, offline ones paid by finance."""

import pytest
from django.core import mail

from clearhouse.core.errors import InvalidTransition
from clearhouse.orders.models import Order
from clearhouse.orders.services import order_deliver, order_ship
from clearhouse.payments.domain import RefundExceedsCaptured, SelfApprovalRefused
from clearhouse.payments.models import Refund
from clearhouse.payments.services import (
    payment_cash_record,
    payment_confirm,
    payment_mark_received,
    payment_start,
    refund_approve,
    refund_mark_paid_offline,
    refund_reject,
    refund_request,
)
from tests.payments.support import books_balance, cny, fresh, ledger


@pytest.fixture
def paid(order, card):
    intent = payment_start(order=order, method="card", actor="lin")
    return payment_confirm(intent=intent, payment_token="tok_visa", actor="lin")


def test_a_partial_refund_goes_through_the_provider_and_is_booked(paid, card, clerk,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_request(intent=paid, amount=cny("50.00"), reason="one box damaged", actor=clerk, user=clerk)
    assert refund.status == "succeeded" and refund.provider_reference
    assert fresh(paid).amount_refunded_minor == 5000
    assert Order.objects.get(pk=paid.order_id).status == "paid"
    # Dr Tea House payable 50.00 / Cr clearing 50.00
    assert ledger() == {"1100.sandbox": 14880, "2100": -15000, "6100": 120}
    assert books_balance()
    assert any("RF" in m.body for m in mail.outbox)


def test_several_partial_refunds_never_exceed_what_was_captured(paid, clerk):
    refund_request(intent=paid, amount=cny("120.00"), reason="a", actor=clerk, user=clerk)
    refund_request(intent=paid, amount=cny("80.00"), reason="b", actor=clerk, user=clerk)
    with pytest.raises(RefundExceedsCaptured):
        refund_request(intent=paid, amount=cny("0.01"), reason="c", actor=clerk, user=clerk)
    assert Refund.objects.count() == 2 and fresh(paid).amount_refunded_minor == 20000


def test_a_refund_above_the_captured_amount_is_refused_and_nothing_is_sent(paid, card, clerk):
    with pytest.raises(RefundExceedsCaptured):
        refund_request(intent=paid, amount=cny("200.01"), reason="too much", actor=clerk, user=clerk)
    assert Refund.objects.count() == 0 and card.calls_to("refund") == 0


def test_a_full_refund_of_an_unshipped_order_cancels_it_and_gives_the_stock_back(paid, clerk, longjing):
    refund_request(intent=paid, amount=cny("200.00"), reason="out of stock after all", actor=clerk, user=clerk)
    assert Order.objects.get(pk=paid.order_id).status == "cancelled"
    from clearhouse.inventory.models import StockItem

    assert StockItem.objects.get(variant=longjing).reserved == 0


def test_a_full_refund_of_a_delivered_order_marks_it_refunded(paid, clerk):
    order = Order.objects.get(pk=paid.order_id)
    order_ship(order=order, carrier="SF", tracking_number="SF1", actor="staff")
    order_deliver(order=order, signed_by="Lin", actor="staff")
    refund_request(intent=paid, amount=cny("200.00"), reason="returned", actor=clerk, user=clerk)
    assert Order.objects.get(pk=paid.order_id).status == "refunded"


def test_a_refund_above_the_threshold_waits_for_another_finance_manager(order, card, clerk, manager, settings):
    settings.REFUND_APPROVAL_THRESHOLD = "100.00"
    intent = payment_confirm(intent=payment_start(order=order, method="card", actor="lin"), payment_token="t")
    refund = refund_request(intent=intent, amount=cny("150.00"), reason="big", actor=manager, user=manager)
    assert refund.status == "awaiting_approval" and card.calls_to("refund") == 0
    with pytest.raises(SelfApprovalRefused):
        refund_approve(refund=refund, approver=manager)
    assert Refund.objects.get(pk=refund.pk).status == "awaiting_approval"
    approved = refund_approve(refund=refund, approver=clerk)
    assert approved.status == "succeeded" and card.calls_to("refund") == 1


def test_a_rejected_refund_frees_the_amount_again(order, card, manager, clerk, settings):
    settings.REFUND_APPROVAL_THRESHOLD = "100.00"
    intent = payment_confirm(intent=payment_start(order=order, method="card", actor="lin"), payment_token="t")
    refund = refund_request(intent=intent, amount=cny("200.00"), reason="big", actor=clerk, user=clerk)
    refund_reject(refund=refund, approver=manager, reason="no proof")
    with pytest.raises(InvalidTransition):
        refund_approve(refund=Refund.objects.get(pk=refund.pk), approver=manager)
    again = refund_request(intent=intent, amount=cny("50.00"), reason="partial", actor=clerk, user=clerk)
    assert again.status == "succeeded"


def test_an_offline_payment_is_refunded_by_finance_and_booked_when_paid_out(order, clerk, manager):
    intent = payment_start(order=order, method="bank_transfer", actor="lin")
    payment_mark_received(intent=intent, amount=cny("200.00"), bank_reference="BOC-1", actor=clerk)
    refund = refund_request(intent=intent, amount=cny("30.00"), reason="price match", actor=clerk, user=clerk)
    assert refund.offline and refund.status == "pending"
    assert ledger() == {"1000.main": 20000, "2100": -20000}
    refund_mark_paid_offline(refund=refund, bank_reference="OUT-9", actor=manager)
    assert Refund.objects.get(pk=refund.pk).status == "succeeded"
    assert ledger() == {"1000.main": 17000, "2100": -17000}
    refund_mark_paid_offline(refund=Refund.objects.get(pk=refund.pk), bank_reference="OUT-9", actor=manager)
    assert ledger() == {"1000.main": 17000, "2100": -17000}


def test_a_provider_refund_failure_is_recorded_and_can_be_retried(paid, card, clerk):
    card.script("refund", "failed")
    refund = refund_request(intent=paid, amount=cny("10.00"), reason="x", actor=clerk, user=clerk)
    assert refund.status == "failed"
    assert fresh(paid).amount_refunded_minor == 0
    assert refund_request(intent=paid, amount=cny("200.00"), reason="y", actor=clerk, user=clerk).status \
        == "succeeded"


def test_cash_refunds_are_paid_out_by_finance_too(order, clerk):
    intent = payment_cash_record(order=order, amount=cny("200.00"), receipt_number="R-7", actor=clerk)
    refund = refund_request(intent=intent, amount=cny("200.00"), reason="returned", actor=clerk, user=clerk)
    assert refund.offline and refund.status == "pending"
