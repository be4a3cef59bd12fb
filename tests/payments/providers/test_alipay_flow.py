"""Paying an order with Alipay end to end through Clearhouse's services and the simulator, all in-process:
payment_start -> the buyer on the simulator's cashier (page pay) or scan page (QR) -> the signed notify
arrives at our /webhooks/alipay/<account>/ and/or the buyer returns -> intent captured, order paid,
ledger posted. Plus the bad-input cases at the webhook endpoint."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from clearhouse.ledger.verify import ledger_verify
from clearhouse.orders.models import Order
from clearhouse.payments.models import ProviderEvent, RejectedWebhook
from clearhouse.payments.providers.http import transport_factory
from clearhouse.payments.services import payment_return, payment_start, payments_resolve_stuck, refund_request
from clearhouse.sandbox.alipay.domain import sign_params
from clearhouse.sandbox.alipay.models import Trade
from clearhouse.sandbox.alipay.notify import notify_params
from tests.payments.support import cny, fresh, ledger
from tests.payments.test_janitor import later
from tests.sandbox.alipay.fixtures import (  # noqa: F401
    alipay,
    alipay_account,
    alipay_app,
    alipay_notify_in_process,
    alipay_settings,
    buyer_cancels,
    buyer_pays,
    controls,
    notify_receiver,
    open_cashier,
    release_held,
)
from tests.sandbox.support import DjangoTransport


@pytest.fixture(autouse=True)
def _through_the_simulator(alipay_account, alipay_notify_in_process, settings):
    settings.CLEARHOUSE_PUBLIC_URL = "http://testserver"  # notify and return URLs land on this project
    with transport_factory(lambda base_url: DjangoTransport()):
        yield


def pay_at_cashier(intent, **kw) -> dict[str, str]:
    """The buyer opens the action_url, logs in and pays; returns the params the browser brings back."""
    client = Client()
    response = buyer_pays(client, open_cashier(client, intent.action_url), **kw)
    if response.status_code != 302:
        return {}
    assert response["Location"].startswith(f"http://testserver/pay/{intent.order.number}/return/{intent.reference}/")
    return dict(parse_qsl(urlsplit(response["Location"]).query))


def post_notify(account, body: bytes):
    return Client().post(f"/webhooks/alipay/{account.pk}/", data=body,
                         content_type="application/x-www-form-urlencoded; charset=utf-8")


def test_page_pay_notify_captures_and_the_return_changes_nothing_more(order, alipay_account):
    intent = payment_start(order=order, method="alipay", actor="lin")
    assert intent.provider == "alipay" and intent.provider_reference == intent.reference
    assert intent.action_url.startswith("http://testserver/sandbox/alipay/gateway.do?")
    params = pay_at_cashier(intent)
    assert fresh(intent).status == "captured"  # the notify arrived before the buyer came back
    event = ProviderEvent.objects.get(provider="alipay")
    assert event.outcome == "applied" and "sign" not in event.payload
    intent = payment_return(intent=fresh(intent), params=params, actor="lin")
    assert intent.status == "captured" and intent.transaction_reference == Trade.objects.get().trade_no
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert intent.status_changes.filter(to_status="captured").count() == 1
    assert ledger()["2100"] == -20000 and ledger_verify().ok


def test_with_the_notify_lost_the_signed_return_and_a_query_capture(order, alipay):
    controls(alipay, drop_notifications=True)
    intent = payment_start(order=order, method="alipay", actor="lin")
    params = pay_at_cashier(intent)
    assert fresh(intent).status == "requires_payment"
    intent = payment_return(intent=fresh(intent), params=params, actor="lin")
    assert intent.status == "captured" and Order.objects.get(pk=order.pk).status == "paid"


def test_a_lost_notify_and_no_return_are_recovered_by_the_janitor(order, alipay):
    controls(alipay, drop_notifications=True)
    intent = payment_start(order=order, method="alipay", actor="lin")
    pay_at_cashier(intent)  # ... and the buyer closes the tab
    assert fresh(intent).status == "requires_payment"
    assert payments_resolve_stuck(now=later()).resolved == 1
    assert fresh(intent).status == "captured" and Order.objects.get(pk=order.pk).status == "paid"
    assert payments_resolve_stuck(now=later(7200)).resolved == 0
    assert ledger()["2100"] == -20000 and ledger_verify().ok


def test_a_buyer_without_balance_who_cancels_leaves_the_order_unpaid(order):
    intent = payment_start(order=order, method="alipay", actor="lin")
    client = Client()
    cashier = open_cashier(client, intent.action_url)
    assert buyer_pays(client, cashier, account="nobalance@sandbox.alipay").status_code == 200
    back = buyer_cancels(client, cashier)
    intent = payment_return(intent=fresh(intent), params=dict(parse_qsl(urlsplit(back["Location"]).query)),
                            actor="lin")
    assert intent.status == "failed" and intent.failure_code == "trade_closed"
    assert Order.objects.get(pk=order.pk).status == "submitted" and ledger() == {}


def test_qr_precreate_is_scanned_and_paid(order, alipay_account):
    alipay_account.settings = {**alipay_account.settings, "flow": "qr"}
    alipay_account.save()
    from clearhouse.payments.providers import reset_cache

    reset_cache()
    intent = payment_start(order=order, method="alipay", actor="lin")
    assert intent.qr_code and "/sandbox/alipay/qr/" in intent.qr_code
    assert buyer_pays(Client(), intent.qr_code).status_code == 200
    assert fresh(intent).status == "captured" and Order.objects.get(pk=order.pk).status == "paid"


def test_transient_errors_at_precreate_are_retried_then_succeed(order, alipay_account, alipay):
    alipay_account.settings = {**alipay_account.settings, "flow": "qr"}
    alipay_account.save()
    from clearhouse.payments.providers import reset_cache

    reset_cache()
    controls(alipay, fail_next_calls=2, fail_kind="system_error")
    intent = payment_start(order=order, method="alipay", actor="lin")
    assert intent.qr_code
    assert [a.outcome for a in intent.attempts.filter(operation="create")] == ["unavailable", "unavailable",
                                                                              "succeeded"]
    assert intent.attempts.first().error_code == "ACQ.SYSTEM_ERROR"


def test_duplicate_and_out_of_order_notifications_leave_one_capture(order, alipay):
    controls(alipay, hold_notifications=True, duplicate_notifications=3)
    intent = payment_start(order=order, method="alipay", actor="lin")
    pay_at_cashier(intent)
    assert fresh(intent).status == "requires_payment"
    controls(alipay, hold_notifications=False)
    assert release_held(alipay, reverse=True) == 3
    assert fresh(intent).status == "captured"
    assert ProviderEvent.objects.filter(provider="alipay").count() == 1
    assert ledger()["2100"] == -20000


def _genuine(order, alipay, alipay_app, **changes) -> bytes:
    """A paid trade's notify, signed by the simulator's Alipay key, with `changes` before signing."""
    controls(alipay, drop_notifications=True)
    intent = payment_start(order=order, method="alipay", actor="lin")
    pay_at_cashier(intent)
    trade = Trade.objects.get(out_trade_no=intent.reference)
    return urlencode(sign_params(alipay_app.alipay_private_key,
                                 {**notify_params(trade, now=timezone.now()), **changes})).encode()


def test_a_replayed_notification_is_acknowledged_once_and_applied_once(order, alipay, alipay_app, alipay_account):
    body = _genuine(order, alipay, alipay_app)
    first, replay = post_notify(alipay_account, body), post_notify(alipay_account, body)
    assert (first.status_code, first.content, first["Content-Type"]) == (200, b"success", "text/plain")
    assert replay.content == b"success" and replay["X-Clearhouse-Webhook-Outcome"] == "duplicate"
    assert ProviderEvent.objects.filter(provider="alipay").count() == 1


@pytest.mark.parametrize(("changes", "reason"), [
    ({"total_amount": "1.00", "receipt_amount": "1.00"}, "amount_mismatch"),
    ({"app_id": "9021000999999999"}, "app id"),
    ({"seller_id": "2088000000000009"}, "seller id"),
    ({"notify_time": "2020-01-01 00:00:00"}, "expired"),
    ({"out_trade_no": "PAY-UNKNOWN"}, "unknown_payment_reference"),
])
def test_bad_notifications_are_refused_logged_and_change_nothing(order, alipay, alipay_app, alipay_account, changes,
                                                                 reason):
    response = post_notify(alipay_account, _genuine(order, alipay, alipay_app, **changes))
    assert 400 <= response.status_code < 500 and response.content != b"success"
    assert reason in RejectedWebhook.objects.get(provider="alipay").reason
    assert Order.objects.get(pk=order.pk).status == "submitted" and ledger() == {}


def test_a_tampered_notification_is_refused(order, alipay, alipay_app, alipay_account):
    body = _genuine(order, alipay, alipay_app).replace(b"total_amount=200.00", b"total_amount=200.01")
    assert post_notify(alipay_account, body).status_code == 400
    assert "signature" in RejectedWebhook.objects.get(provider="alipay").reason


def test_partial_then_full_refund_go_back_through_alipay(order, clerk):
    intent = payment_start(order=order, method="alipay", actor="lin")
    pay_at_cashier(intent)
    intent = fresh(intent)
    partial = refund_request(intent=intent, amount=cny("80.00"), reason="returned one", actor=clerk, user=clerk)
    assert partial.status == "succeeded" and partial.provider_reference == f"{intent.reference}/{partial.reference}"
    rest = refund_request(intent=fresh(intent), amount=cny("120.00"), reason="returned all", actor=clerk, user=clerk)
    assert rest.status == "succeeded"
    trade = Trade.objects.get()
    assert str(trade.refunded_amount) == "200.00" and trade.status == "TRADE_CLOSED"
    assert ledger().get("2100", 0) == 0 and ledger_verify().ok


def test_no_private_key_is_stored_in_plain_text(order):
    from django.db import connection

    intent = payment_start(order=order, method="alipay", actor="lin")
    pay_at_cashier(intent)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM payments_provideraccount")
        stored = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT alipay_private_key FROM sandbox_alipay_app")
        stored += [row[0] for row in cursor.fetchall()]
    assert stored and all(value.startswith("v1:") and "PRIVATE KEY" not in value for value in stored)
