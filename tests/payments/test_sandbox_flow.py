"""Paying through the real sandbox provider: its hosted form, 3-D Secure page, HTTP API and signed webhooks,
all served in-process (no sockets), with the webhooks arriving at our /webhooks/sandbox/ endpoint."""

from urllib.parse import urlsplit

import pytest
from django.test import Client

from clearhouse.ledger.verify import ledger_verify
from clearhouse.orders.models import Order
from clearhouse.payments.models import ProviderEvent
from clearhouse.payments.services import (
    payment_confirm,
    payment_start,
    payments_resolve_stuck,
    refund_request,
)
from tests.payments.support import cny, fresh, ledger
from tests.payments.test_janitor import later
from tests.sandbox.support import pay_on_checkout

SUCCESS, DECLINE, THREE_DS, TIMEOUT = "4242424242424242", "4000000000009995", "4000002760003184", "4000000000007726"


@pytest.fixture(autouse=True)
def _through_the_sandbox(sandbox_provider, sandbox_webhooks_in_process, settings):
    settings.CLEARHOUSE_PUBLIC_URL = "http://testserver"  # notify and return URLs land on this project


def hosted_form(intent, number: str) -> str:
    """The customer types the card on the provider's page; we get back a token, never the number."""
    return pay_on_checkout(Client(), checkout_url=intent.action_url, number=number)


def challenge(intent, decision: str):
    """The customer answers the 3-D Secure page; the provider's webhook goes out when its work commits."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return Client().post(urlsplit(intent.action_url).path, {"decision": decision})


def controls(sandbox_http, **values):
    sandbox_http.post("/test_controls", json=values).raise_for_status()


def test_a_card_paid_on_the_hosted_form_captures_and_the_webhook_changes_nothing_more(order):
    intent = payment_start(order=order, method="card", actor="lin")
    assert urlsplit(intent.action_url).path == f"/sandbox/checkout/{intent.provider_reference}/"
    token = hosted_form(intent, SUCCESS)
    assert token.startswith("pm_")
    intent = payment_confirm(intent=intent, payment_token=token, actor="lin")
    assert intent.status == "captured" and intent.fee_minor == 120 and intent.transaction_reference.startswith("ch_")
    assert Order.objects.get(pk=order.pk).status == "paid"
    # In-process the sandbox's webhook runs inside our confirm call (over HTTP it waits for our row lock);
    # whichever lands first moves the payment, the other changes nothing.
    assert ProviderEvent.objects.get(type="payment_intent.succeeded").outcome in {"applied", "stale"}
    assert intent.status_changes.filter(to_status="captured").count() == 1
    assert ledger() == {"1100.sandbox": 19880, "2100": -20000, "6100": 120}
    assert ledger_verify().ok


def test_a_declined_card_leaves_the_order_unpaid(order):
    intent = payment_start(order=order, method="card", actor="lin")
    intent = payment_confirm(intent=intent, payment_token=hosted_form(intent, DECLINE), actor="lin")
    assert intent.status == "failed" and intent.failure_code == "insufficient_funds"
    assert Order.objects.get(pk=order.pk).status == "submitted" and ledger() == {}


def test_three_d_secure_approved_on_the_challenge_page_is_completed_by_the_webhook(order):
    intent = payment_start(order=order, method="card", actor="lin")
    intent = payment_confirm(intent=intent, payment_token=hosted_form(intent, THREE_DS), actor="lin")
    assert intent.status == "requires_action" and "/sandbox/authenticate/" in intent.action_url
    assert challenge(intent, "approve").status_code == 302
    assert fresh(intent).status == "captured"  # the provider's webhook told us before the customer came back
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_three_d_secure_denied_fails_the_payment(order):
    intent = payment_start(order=order, method="card", actor="lin")
    intent = payment_confirm(intent=intent, payment_token=hosted_form(intent, THREE_DS), actor="lin")
    challenge(intent, "deny")
    assert fresh(intent).status == "failed" and fresh(intent).failure_code == "authentication_failed"


def test_out_of_order_and_duplicate_webhooks_leave_one_capture(order, sandbox_http):
    controls(sandbox_http, hold_webhooks=True, duplicate_webhooks=3)
    intent = payment_start(order=order, method="card", actor="lin")
    intent = payment_confirm(intent=intent, payment_token=hosted_form(intent, THREE_DS), actor="lin")
    challenge(intent, "approve")
    assert fresh(intent).status == "requires_action"  # the news is held back
    controls(sandbox_http, hold_webhooks=False)
    sandbox_http.post("/test_controls/release_held", json={"reverse": True}).raise_for_status()
    assert fresh(intent).status == "captured"
    assert ProviderEvent.objects.filter(type="payment_intent.succeeded").count() == 1
    assert ledger() == {"1100.sandbox": 19880, "2100": -20000, "6100": 120}


def test_the_provider_took_the_money_but_the_answer_and_the_webhook_were_lost(order, sandbox_http, settings):
    """The must-show: between the provider's success and our handling everything is lost (a timeout, a
    dropped webhook, as if our worker died); the janitor's poll finds the money, once."""
    settings.PAYMENT_PROVIDER_TIMEOUT_S = 0.1  # the slow card answers after 0.3 s
    controls(sandbox_http, drop_webhooks=True)
    intent = payment_start(order=order, method="card", actor="lin")
    intent = payment_confirm(intent=intent, payment_token=hosted_form(intent, TIMEOUT), actor="lin")
    assert intent.status == "processing" and Order.objects.get(pk=order.pk).status == "submitted"
    assert payments_resolve_stuck(now=later()).resolved == 1
    assert fresh(intent).status == "captured" and Order.objects.get(pk=order.pk).status == "paid"
    assert payments_resolve_stuck(now=later(7200)).resolved == 0
    assert ledger() == {"1100.sandbox": 19880, "2100": -20000, "6100": 120}
    assert ledger_verify().ok


def test_a_refund_goes_back_through_the_provider(order, sandbox_http, clerk):
    intent = payment_start(order=order, method="card", actor="lin")
    intent = payment_confirm(intent=intent, payment_token=hosted_form(intent, SUCCESS), actor="lin")
    refund = refund_request(intent=intent, amount=cny("80.00"), reason="returned one", actor=clerk, user=clerk)
    assert refund.status == "succeeded" and refund.provider_reference.startswith("re_")
    assert sandbox_http.get(f"/payment_intents/{intent.provider_reference}").json()["amount_refunded"] == 8000
    assert ledger()["2100"] == -12000


def test_transient_provider_errors_are_retried_then_succeed(order, sandbox_http):
    intent = payment_start(order=order, method="card", actor="lin")
    token = hosted_form(intent, SUCCESS)
    controls(sandbox_http, fail_next_calls=2)
    intent = payment_confirm(intent=intent, payment_token=token, actor="lin")
    assert intent.status == "captured"
    assert [a.outcome for a in intent.attempts.filter(operation="confirm")] == ["unavailable", "unavailable",
                                                                               "succeeded"]
