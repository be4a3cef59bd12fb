"""Paying an order by WeChat Pay end to end through Clearhouse's services: the demo account provisioned by
`demo_provision`, the QR code, the buyer's scan page on the simulator, its signed encrypted callbacks
arriving at our /webhooks/wechatpay/<account>/ endpoint, the janitor's queries, refunds. All in-process."""

import pytest
from django.test import Client, TestCase

from clearhouse.ledger.verify import ledger_verify
from clearhouse.orders.models import Order
from clearhouse.payments.models import ProviderAccount, ProviderEvent, RejectedWebhook
from clearhouse.payments.providers.http import transport_factory
from clearhouse.payments.services import (
    payment_return,
    payment_start,
    payments_resolve_stuck,
    refund_request,
)
from clearhouse.sandbox.wechatpay.callbacks import deliveries_retry, delivery_transport
from clearhouse.sandbox.wechatpay.demo import DEMO_MCHID, demo_provision
from clearhouse.sandbox.wechatpay.models import Merchant
from clearhouse.sandbox.wechatpay.services import controls_update
from tests.payments.support import cny, fresh, ledger
from tests.payments.test_janitor import later
from tests.sandbox.support import DjangoTransport
from tests.sandbox.wechatpay.support import signed_callback


@pytest.fixture(autouse=True)
def _through_the_simulator(db, settings):
    settings.CLEARHOUSE_PUBLIC_URL = "http://testserver"  # notify and return URLs land on this project
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    demo_provision(public_url="http://testserver")
    with transport_factory(lambda base_url: DjangoTransport()), delivery_transport(DjangoTransport()):
        yield


def merchant() -> Merchant:
    return Merchant.objects.get(mchid=DEMO_MCHID)


def controls(**values):
    controls_update(merchant=merchant(), **values)


def scan(intent, decision="pay"):
    """The buyer opens the simulator's scan page (the phone) and decides; callbacks go out on commit."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return Client().post(intent.action_url.split("?")[0] + "?" + intent.action_url.split("?", 1)[1],
                             {"decision": decision})


def post_callback(body, headers):
    account = ProviderAccount.objects.get(provider="wechatpay")
    return Client().post(f"/webhooks/wechatpay/{account.pk}/", body, content_type="application/json",
                         headers={k: v for k, v in headers.items() if k != "Content-Type"})


def test_demo_provision_is_idempotent_and_offers_wechat_pay(order):
    from clearhouse.payments.providers import methods_available

    account = ProviderAccount.objects.get(provider="wechatpay")
    demo_provision(public_url="http://testserver")
    again = ProviderAccount.objects.get(provider="wechatpay")
    assert again.pk == account.pk and again.secrets == account.secrets and Merchant.objects.count() == 1
    assert "wechat_pay" in methods_available(merchant_id=order.merchant_id)


def test_scan_and_pay_captures_by_the_callback_and_posts_the_ledger(order):
    intent = payment_start(order=order, method="wechat_pay", actor="lin")
    assert intent.qr_code.startswith("weixin://wxpay/bizpayurl?pr=") and intent.provider_reference == intent.reference
    assert intent.action_url.startswith("http://testserver/sandbox/wechatpay/scan/?code_url=")
    response = scan(intent)
    assert response.status_code == 302 and f"/return/{intent.reference}/" in response["Location"]
    assert fresh(intent).status == "captured" and fresh(intent).transaction_reference.startswith("4200")
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert ProviderEvent.objects.get(type="TRANSACTION.SUCCESS").outcome == "applied"
    assert ledger()["2100"] == -20000 and ledger_verify().ok
    # The buyer's browser comes back to our return URL: the query finds it paid, nothing moves twice.
    assert payment_return(intent=fresh(intent), params={"out_trade_no": intent.reference}).status == "captured"
    assert fresh(intent).status_changes.filter(to_status="captured").count() == 1


def test_a_failed_payment_on_the_phone_fails_the_intent_on_return(order):
    intent = payment_start(order=order, method="wechat_pay", actor="lin")
    scan(intent, "fail")
    intent = payment_return(intent=fresh(intent), params={"out_trade_no": intent.reference})
    assert intent.status == "failed" and intent.failure_code == "payment_failed"
    assert Order.objects.get(pk=order.pk).status == "submitted" and ledger() == {}


def test_transient_errors_are_retried_and_a_timeout_fails_only_that_try(order, settings):
    controls(fail_next_calls=2)
    intent = payment_start(order=order, method="wechat_pay", actor="lin")
    assert [a.outcome for a in intent.attempts.filter(operation="create")] == ["unavailable", "unavailable",
                                                                              "succeeded"]
    assert intent.qr_code


def test_a_create_timeout_then_a_new_try_pays(order, settings):
    from clearhouse.payments.providers.base import ProviderUnavailable

    settings.PAYMENT_PROVIDER_TIMEOUT_S = 0.1
    controls(slow_next_calls=1, slow_s=0.3)
    with pytest.raises(ProviderUnavailable):
        payment_start(order=order, method="wechat_pay", actor="lin")
    settings.PAYMENT_PROVIDER_TIMEOUT_S = 5
    intent = payment_start(order=order, method="wechat_pay", actor="lin")
    scan(intent)
    assert fresh(intent).status == "captured"


def test_a_lost_callback_is_recovered_by_the_janitors_query(order):
    controls(drop_notifications=True)
    intent = payment_start(order=order, method="wechat_pay", actor="lin")
    scan(intent)
    assert fresh(intent).status == "requires_payment" and Order.objects.get(pk=order.pk).status == "submitted"
    assert payments_resolve_stuck(now=later()).resolved == 1
    assert fresh(intent).status == "captured" and Order.objects.get(pk=order.pk).status == "paid"
    assert ledger()["2100"] == -20000 and ledger_verify().ok


def test_duplicate_and_out_of_order_callbacks_change_nothing_twice(order, clerk):
    controls(hold_notifications=True, duplicate_notifications=2)
    intent = payment_start(order=order, method="wechat_pay", actor="lin")
    scan(intent)
    intent = payment_return(intent=fresh(intent), params={"out_trade_no": intent.reference})  # query: paid
    assert intent.status == "captured"
    refund = refund_request(intent=intent, amount=cny("50.00"), reason="one tin dented", actor=clerk, user=clerk)
    assert refund.status == "pending"  # WeChat Pay answers PROCESSING; its REFUND.SUCCESS callback is held
    controls(hold_notifications=False)
    from clearhouse.sandbox.wechatpay.callbacks import notifications_held_release

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert notifications_held_release(merchant=merchant(), reverse=True) == 4  # refund first, then payment
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert ProviderEvent.objects.filter(type="TRANSACTION.SUCCESS").count() == 1
    assert ProviderEvent.objects.get(type="TRANSACTION.SUCCESS").outcome == "stale"
    assert ProviderEvent.objects.filter(type="REFUND.SUCCESS").count() == 1
    assert fresh(intent).status_changes.filter(to_status="captured").count() == 1
    assert ledger()["2100"] == -15000 and ledger_verify().ok


def test_full_refund_cancels_the_unshipped_order_even_when_its_callback_races_ahead(order, clerk):
    intent = payment_start(order=order, method="wechat_pay", actor="lin")
    scan(intent)
    refund = refund_request(intent=fresh(intent), amount=cny("200.00"), reason="changed mind", actor=clerk,
                            user=clerk, needs_approval=False)
    # In-process the REFUND.SUCCESS callback arrives before the refund's own answer; it names the refund by our
    # out_refund_no, so it is found and applied at once (nothing refused, nothing left pending).
    refund.refresh_from_db()
    assert refund.status == "succeeded" and not RejectedWebhook.objects.exists()
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    with TestCase.captureOnCommitCallbacks(execute=True):
        deliveries_retry(now=later(60))
    assert ProviderEvent.objects.filter(type="REFUND.SUCCESS").count() == 1
    assert ledger_verify().ok


def test_a_pending_refund_is_settled_by_the_janitor(order, clerk):
    controls(drop_notifications=True)
    intent = payment_start(order=order, method="wechat_pay", actor="lin")
    scan(intent)
    payments_resolve_stuck(now=later())
    refund = refund_request(intent=fresh(intent), amount=cny("80.00"), reason="partial", actor=clerk, user=clerk)
    assert refund.status == "pending"
    payments_resolve_stuck(now=later(7200))
    refund.refresh_from_db()
    assert refund.status == "succeeded" and fresh(intent).amount_refunded_minor == 8000


def resource_for(intent, **changes):
    m = merchant()
    return {"mchid": m.mchid, "appid": m.appid, "out_trade_no": intent.reference, "trade_state": "SUCCESS",
            "transaction_id": "4200000000202601010000000001",
            "amount": {"total": 20000, "currency": "CNY", "payer_total": 20000}, **changes}


@pytest.mark.parametrize("case,status", [
    ("amount", 400), ("appid", 400), ("mchid", 400), ("expired", 400), ("tampered", 400), ("unknown", 404)])
def test_bad_callbacks_are_refused_logged_and_change_nothing(order, case, status):
    intent = payment_start(order=order, method="wechat_pay", actor="lin")
    changes = {"amount": {"amount": {"total": 1, "currency": "CNY", "payer_total": 1}},
               "appid": {"appid": "wx0000000000000000"}, "mchid": {"mchid": "1900000999"},
               "unknown": {"out_trade_no": "PAYNOSUCHONE1"}}.get(case, {})
    body, headers = signed_callback(merchant(), resource=resource_for(intent, **changes),
                                    timestamp=int(later(0).timestamp()) - 301 if case == "expired" else None)
    if case == "tampered":
        body = body.replace(b'"summary":"', b'"summary":"!')
    response = post_callback(body, headers)
    assert response.status_code == status
    assert fresh(intent).status == "requires_payment" and not ProviderEvent.objects.exists()
    assert RejectedWebhook.objects.count() == 1


def test_a_replayed_callback_is_acknowledged_once_and_applied_once(order):
    intent = payment_start(order=order, method="wechat_pay", actor="lin")
    body, headers = signed_callback(merchant(), resource=resource_for(intent))
    first, replay = post_callback(body, headers), post_callback(body, headers)
    assert (first.status_code, first.content) == (204, b"") and first["X-Clearhouse-Webhook-Outcome"] == "applied"
    assert replay.status_code == 204 and replay["X-Clearhouse-Webhook-Outcome"] == "duplicate"
    assert fresh(intent).status == "captured" and ProviderEvent.objects.count() == 1
