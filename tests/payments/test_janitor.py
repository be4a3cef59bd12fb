"""The janitor: nothing stays unknown silently. Stuck payments are asked about with backoff, then flagged."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clearhouse.orders.models import Order
from clearhouse.payments.models import Attempt, PaymentIntent
from clearhouse.payments.selectors import payment_exceptions
from clearhouse.payments.services import payment_confirm, payment_start, payments_resolve_stuck, refund_request
from tests.payments.support import cny, fresh, ledger


def later(seconds=3600):
    return timezone.now() + timedelta(seconds=seconds)


@pytest.fixture
def lost_answer(order, card):
    """The provider took the money but its answer (and its webhook) never reached us."""
    card.script("confirm", "timeout_after_success")
    intent = payment_confirm(intent=payment_start(order=order, method="card", actor="lin"), payment_token="t")
    assert intent.status == "processing"
    return intent


def test_a_lost_answer_is_recovered_by_asking_the_provider(lost_answer):
    report = payments_resolve_stuck(now=later())
    assert report.resolved == 1
    intent = fresh(lost_answer)
    assert intent.status == "captured" and intent.order.status == "paid"
    assert ledger()["2100"] == -20000
    # Running again finds nothing to do and books nothing twice.
    assert payments_resolve_stuck(now=later(7200)).resolved == 0
    assert ledger()["2100"] == -20000


def test_a_payment_not_due_yet_is_left_alone(lost_answer):
    assert payments_resolve_stuck(now=timezone.now()).resolved == 0
    assert fresh(lost_answer).status == "processing"


def test_a_provider_that_keeps_failing_is_asked_with_growing_gaps_then_flagged_for_finance(lost_answer, card,
                                                                                          settings):
    settings.PAYMENT_STUCK_MAX_QUERIES = 3
    card.script("query", "unavailable", times=10)
    now = later()
    due_times = []
    for _ in range(3):
        payments_resolve_stuck(now=now)
        intent = fresh(lost_answer)
        if intent.next_query_at:
            due_times.append(intent.next_query_at)
            now = intent.next_query_at + timedelta(seconds=1)
    intent = fresh(lost_answer)
    assert intent.status == "processing" and intent.query_count == 3
    assert "after 3 queries" in intent.attention_reason
    assert payment_exceptions()["intents"] == [intent]
    assert Attempt.objects.filter(intent=intent, operation="query").count() == 3
    assert Order.objects.get(pk=intent.order_id).status == "submitted"


def test_an_abandoned_three_d_secure_challenge_is_voided_in_the_end(order, card, settings):
    settings.PAYMENT_STUCK_MAX_QUERIES = 2
    card.script("confirm", "requires_action")
    intent = payment_confirm(intent=payment_start(order=order, method="card", actor="lin"), payment_token="t")
    payments_resolve_stuck(now=later())
    payments_resolve_stuck(now=later(100000))
    assert fresh(intent).status == "cancelled" and payment_exceptions()["intents"] == []
    assert PaymentIntent.objects.filter(order=order, status="cancelled").count() == 1


def test_a_refund_whose_answer_was_lost_is_sent_again_with_its_key_and_booked_once(order, card, clerk):
    intent = payment_confirm(intent=payment_start(order=order, method="card", actor="lin"), payment_token="t")
    card.script("refund", "timeout_after_success")
    refund = refund_request(intent=intent, amount=cny("20.00"), reason="x", actor=clerk, user=clerk)
    assert refund.status == "pending"
    payments_resolve_stuck(now=later())
    refund.refresh_from_db()
    assert refund.status == "succeeded" and card.calls_to("refund") == 2
    assert len(card.refunds) == 1
    assert ledger()["2100"] == -18000


class SimulatedCrash(Exception):
    """The process dies: whatever the transaction wrote is rolled back."""


def test_a_crash_between_the_providers_success_and_our_commit_is_recovered_once(order, card, client, monkeypatch):
    intent = payment_start(order=order, method="card", actor="lin")

    def die(**kwargs):
        raise SimulatedCrash

    monkeypatch.setattr("clearhouse.payments.services.intents.intent_apply", die)
    with pytest.raises(SimulatedCrash):
        payment_confirm(intent=intent, payment_token="t", actor="lin")
    monkeypatch.undo()
    assert card.payments[intent.provider_reference].status == "captured"  # the provider took the money
    assert fresh(intent).status == "processing" and ledger() == {}  # ... we only know a confirm went out

    # The webhook that would have told us was lost too; the janitor's poll finds the money.
    assert payments_resolve_stuck(now=later()).resolved == 1
    assert fresh(intent).status == "captured" and Order.objects.get(pk=order.pk).status == "paid"
    # The webhook turning up late changes nothing.
    body, headers = card.webhook(intent.provider_reference)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    response = client.post("/webhooks/sandbox/", data=body, content_type="application/json", **extra)
    assert response.status_code == 200 and response["X-Clearhouse-Webhook-Outcome"] == "stale"
    assert ledger() == {"1100.sandbox": 19880, "2100": -20000, "6100": 120}


def test_a_payment_the_customer_never_finished_is_voided_after_the_last_question(order, card, settings):
    settings.PAYMENT_STUCK_MAX_QUERIES = 2
    intent = payment_start(order=order, method="card", actor="lin")
    payments_resolve_stuck(now=later())
    assert fresh(intent).status == "requires_payment"
    payments_resolve_stuck(now=later(100000))
    assert fresh(intent).status == "cancelled" and payment_exceptions()["intents"] == []
