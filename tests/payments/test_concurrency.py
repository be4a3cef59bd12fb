"""Exactly once under concurrency, on PostgreSQL with real row locks: one charge, one webhook effect, refunds
never past the captured amount; and the ledger agrees (`clearhouse verify` is clean)."""

from __future__ import annotations

import pytest
from django.test import Client

from clearhouse.core.errors import DomainError
from clearhouse.ledger.models import JournalEntry
from clearhouse.ledger.verify import ledger_verify
from clearhouse.orders.models import Order
from clearhouse.payments.models import PaymentIntent, ProviderEvent, Refund
from clearhouse.payments.services import payment_confirm, payment_start, refund_request
from tests.payments.support import cny, fresh, ledger
from tests.support import run_threads

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_fifty_concurrent_pay_requests_for_one_order_charge_once(order, card):
    def pay(i: int):
        intent = payment_start(order=order, method="card", actor=f"tab-{i}")
        return payment_confirm(intent=intent, payment_token=f"tok_{i}", actor=f"tab-{i}").status

    results, errors = run_threads(50, pay)
    # One tab's confirm goes to the provider; the others see it in flight (or done), or still being set up
    # with the provider (payment_not_ready), and change nothing.
    assert all(isinstance(e, DomainError) and e.code == "payment_not_ready" for e in errors), errors
    assert set(r for r in results if r) <= {"processing", "captured"} and "captured" in results
    assert PaymentIntent.objects.count() == 1 and card.calls_to("create") == 1
    assert sum(1 for op, _ in card.calls if op == "confirm") == 1
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert JournalEntry.objects.filter(source_type="payment").count() == 2  # the capture and its fee
    assert ledger() == {"1100.sandbox": 19880, "2100": -20000, "6100": 120}
    assert ledger_verify().ok


def test_fifty_duplicate_deliveries_of_one_webhook_apply_once(order, card):
    card.script("confirm", "processing")
    intent = payment_confirm(intent=payment_start(order=order, method="card", actor="lin"), payment_token="t")
    card.settle(intent.provider_reference)
    body, headers = card.webhook(intent.provider_reference)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}

    def deliver(i: int):
        response = Client().post("/webhooks/sandbox/", data=body, content_type="application/json", **extra)
        return response.status_code, response["X-Clearhouse-Webhook-Outcome"]

    results, errors = run_threads(50, deliver)
    assert errors == [] and {status for status, _ in results} == {200}
    assert [outcome for _, outcome in results].count("applied") == 1
    assert ProviderEvent.objects.count() == 1 and fresh(intent).status == "captured"
    assert JournalEntry.objects.filter(source_type="payment").count() == 2
    assert ledger_verify().ok


def test_twenty_concurrent_full_refunds_refund_once(order, card, clerk):
    intent = payment_confirm(intent=payment_start(order=order, method="card", actor="lin"), payment_token="t")

    def refund(i: int):
        return refund_request(intent=intent, amount=cny("200.00"), reason=f"request {i}", actor=clerk,
                              user=clerk).status

    results, errors = run_threads(20, refund)
    assert [r for r in results if r] == ["succeeded"]
    assert len(errors) == 19 and all(isinstance(e, DomainError) and e.code == "refund_exceeds_captured"
                                     for e in errors)
    assert Refund.objects.count() == 1 and card.calls_to("refund") == 1
    assert fresh(intent).amount_refunded_minor == 20000
    assert JournalEntry.objects.filter(source_type="refund").count() == 1
    assert ledger_verify().ok


def test_twenty_concurrent_partial_refunds_stop_exactly_at_the_captured_amount(order, card, clerk):
    intent = payment_confirm(intent=payment_start(order=order, method="card", actor="lin"), payment_token="t")

    results, errors = run_threads(20, lambda i: refund_request(
        intent=intent, amount=cny("30.00"), reason="part", actor=clerk, user=clerk).status)
    assert results.count("succeeded") == 6 and len(errors) == 14  # 6 x 30.00 = 180.00; a 7th would pass 200.00
    assert fresh(intent).amount_refunded_minor == 18000
    assert ledger_verify().ok
