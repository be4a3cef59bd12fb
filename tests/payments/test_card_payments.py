"""Paying an order by card: start, confirm with the hosted form's token, and what each answer leaves behind."""

import pytest
from django.core import mail

from clearhouse.core.errors import InvalidTransition
from clearhouse.notifications import sms
from clearhouse.orders.models import Order
from clearhouse.orders.services import order_cancel
from clearhouse.payments.domain import AmountMismatch, OrderAlreadyPaid, OrderNotPayable
from clearhouse.payments.models import Attempt, PaymentIntent
from clearhouse.payments.services import (
    payment_capture,
    payment_confirm,
    payment_refresh,
    payment_start,
    payment_void,
)
from tests.payments.support import books_balance, cny, fresh, ledger


def pay(order, card, token="tok_visa"):
    intent = payment_start(order=order, method="card", actor="lin")
    return payment_confirm(intent=intent, payment_token=token, actor="lin")


def test_starting_a_card_payment_sends_the_customer_to_the_hosted_form(order, card):
    intent = payment_start(order=order, method="card", actor="lin")
    assert intent.status == "requires_payment" and intent.provider == "sandbox"
    assert intent.action_url == f"https://pay.example/checkout/{intent.reference}"
    assert card.calls[0][1]["amount"] == cny("200.00")


def test_a_successful_card_payment_pays_the_order_and_books_capture_and_fee(order, card,
                                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        intent = pay(order, card)
    intent = fresh(intent)
    assert intent.status == "captured" and intent.amount_captured_minor == 20000 and intent.fee_minor == 120
    assert intent.order.status == "paid"
    # Dr clearing 200.00 / Cr Tea House payable 200.00; Dr fees 1.20 / Cr clearing 1.20.
    assert ledger() == {"1100.sandbox": 19880, "2100": -20000, "6100": 120}
    assert books_balance()
    assert mail.outbox[0].to == ["lin@example.com"] and mail.outbox[0].attachments
    assert [m.to for m in sms.outbox] == ["13800000000"]


def test_starting_twice_by_the_same_method_returns_the_same_payment(order, card):
    first = payment_start(order=order, method="card", actor="lin")
    second = payment_start(order=order, method="card", actor="lin")
    assert first.pk == second.pk and card.calls_to("create") == 1


def test_the_amount_must_match_the_order(order, card):
    with pytest.raises(AmountMismatch) as refused:
        payment_start(order=order, method="card", actor="lin", amount=cny("199.00"))
    assert refused.value.param == "amount"
    from clearhouse.core.money import Money

    with pytest.raises(AmountMismatch) as refused:
        payment_start(order=order, method="card", actor="lin", amount=Money(20000, "USD"))
    assert refused.value.param == "currency"
    assert PaymentIntent.objects.count() == 0 and card.calls == []


def test_a_cancelled_order_cannot_be_paid(order, card):
    order_cancel(order=order, reason="changed my mind", actor="lin")
    with pytest.raises(OrderNotPayable):
        payment_start(order=order, method="card", actor="lin")


def test_a_paid_order_cannot_be_paid_again(order, card):
    pay(order, card)
    with pytest.raises(OrderAlreadyPaid):
        payment_start(order=Order.objects.get(pk=order.pk), method="card", actor="lin")


def test_a_declined_card_fails_the_payment_and_the_customer_may_try_again(order, card):
    card.script("confirm", "decline", decline_code="insufficient_funds")
    failed = pay(order, card, token="tok_poor")
    assert failed.status == "failed" and failed.failure_code == "insufficient_funds"
    assert Order.objects.get(pk=order.pk).status == "submitted" and ledger() == {}
    retry = pay(order, card)
    assert retry.pk != failed.pk and retry.status == "captured"


def test_transient_errors_are_retried_with_the_same_key_and_each_try_is_an_attempt(order, card):
    card.script("confirm", "unavailable", times=2)
    intent = pay(order, card)
    assert intent.status == "captured"
    tries = Attempt.objects.filter(intent=intent, operation="confirm").order_by("id")
    assert [(a.try_number, a.outcome) for a in tries] == [(1, "unavailable"), (2, "unavailable"), (3, "succeeded")]
    assert len({kwargs["idempotency_key"] for op, kwargs in card.calls if op == "confirm"}) == 1


def test_when_retries_run_out_the_customer_is_told_with_a_link_to_pay_again(order, card, settings,
                                                                           django_capture_on_commit_callbacks):
    card.script("confirm", "unavailable", times=settings.PAYMENT_PROVIDER_MAX_TRIES, error_code="processing_error")
    with django_capture_on_commit_callbacks(execute=True):
        intent = pay(order, card)
    assert intent.status == "failed" and intent.failure_code == "processing_error"
    assert f"https://shop.example/pay/{order.number}/" in mail.outbox[0].body
    assert f"https://shop.example/pay/{order.number}/" in sms.outbox[0].text


def test_a_timeout_leaves_the_outcome_unknown_until_the_provider_is_asked(order, card):
    card.script("confirm", "timeout_after_success")
    intent = pay(order, card)
    assert intent.status == "processing" and Order.objects.get(pk=order.pk).status == "submitted"
    assert ledger() == {}
    payment_refresh(intent=intent)
    assert fresh(intent).status == "captured" and Order.objects.get(pk=order.pk).status == "paid"
    assert ledger()["2100"] == -20000


def test_three_d_secure_sends_the_customer_to_the_challenge_then_the_answer_completes_it(order, card):
    card.script("confirm", "requires_action")
    intent = pay(order, card)
    assert intent.status == "requires_action" and "/3ds/" in intent.action_url
    card.complete_action(intent.provider_reference)
    payment_refresh(intent=intent)
    assert fresh(intent).status == "captured"


def test_manual_capture_authorizes_first_then_captures_part_and_books_what_was_taken(order, card, settings):
    settings.PAYMENT_CAPTURE_METHOD = "manual"
    intent = pay(order, card)
    assert intent.status == "authorized" and intent.amount_authorized_minor == 20000
    assert Order.objects.get(pk=order.pk).status == "paid" and ledger() == {}
    payment_capture(intent=intent, amount=cny("150.00"), actor="staff")
    intent = fresh(intent)
    assert intent.status == "captured" and intent.amount_captured_minor == 15000 and intent.fee_minor == 90
    assert ledger() == {"1100.sandbox": 14910, "2100": -15000, "6100": 90}


def test_a_capture_above_the_authorization_is_refused(order, card, settings):
    settings.PAYMENT_CAPTURE_METHOD = "manual"
    intent = pay(order, card)
    from clearhouse.payments.domain import CaptureExceedsAuthorized

    with pytest.raises(CaptureExceedsAuthorized):
        payment_capture(intent=intent, amount=cny("200.01"), actor="staff")


def test_a_failed_payment_cannot_be_captured(order, card):
    card.script("confirm", "decline")
    intent = pay(order, card)
    with pytest.raises(InvalidTransition):
        payment_capture(intent=intent, actor="staff")


def test_voiding_an_authorization_releases_it_and_cancels_the_paid_order(order, card, settings):
    settings.PAYMENT_CAPTURE_METHOD = "manual"
    intent = pay(order, card)
    payment_void(intent=intent, actor="staff")
    assert fresh(intent).status == "cancelled"
    assert Order.objects.get(pk=order.pk).status == "cancelled" and ledger() == {}


def test_money_that_arrives_for_an_order_cancelled_meanwhile_is_given_back(order, card,
                                                                         django_capture_on_commit_callbacks):
    card.script("confirm", "timeout_after_success")
    intent = pay(order, card)
    order_cancel(order=Order.objects.get(pk=order.pk), reason="changed my mind", actor="lin")
    with django_capture_on_commit_callbacks(execute=True):  # the give-back runs after the commit
        payment_refresh(intent=intent)
    intent = fresh(intent)
    assert intent.status == "captured" and intent.amount_refunded_minor == 20000
    # Captured, refunded in full: only the provider's fee (kept by it) remains, as our expense.
    assert ledger() == {"1100.sandbox": -120, "6100": 120}
    assert books_balance()
