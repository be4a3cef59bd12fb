"""Notifications from the Alipay simulator: signed form bodies (checked by the official SDK), retried on
Alipay's schedule until the answer is exactly `success`, and the drop / duplicate / hold controls."""

from __future__ import annotations

from datetime import timedelta

from alipay import AliPay
from django.test import Client
from django.utils import timezone

from clearhouse.sandbox.alipay.domain import RETRY_SCHEDULE_S, retry_delay_s
from clearhouse.sandbox.alipay.models import Delivery, DeliveryState
from clearhouse.sandbox.alipay.notify import notification_deliveries_retry
from tests.sandbox.alipay.fixtures import alipay_secrets, buyer_pays, controls, release_held
from tests.sandbox.alipay.test_gateway import precreate


def pay(alipay, out_trade_no="PAY-1"):
    buyer_pays(Client(), precreate(alipay, out_trade_no)["alipay_trade_precreate_response"]["qr_code"])


def test_the_notification_verifies_with_the_official_sdk(alipay, alipay_account, alipay_app, notify_receiver):
    pay(alipay)
    params = notify_receiver.received[0].params
    sdk = AliPay(appid=alipay_app.app_id, app_private_key_string=alipay_secrets(alipay_account)["app_private_key"],
                 alipay_public_key_string=alipay_app.alipay_public_key)
    signature = params.pop("sign")
    assert params["notify_type"] == "trade_status_sync" and params["seller_id"] == alipay_app.seller_id
    assert sdk.verify(dict(params), signature)
    params["total_amount"] = "0.01"
    assert not sdk.verify(dict(params), signature)


def test_an_answer_other_than_success_is_retried_on_alipays_schedule(alipay, notify_receiver):
    notify_receiver.script = ["fail", 500]
    pay(alipay)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1
    first_retry = delivery.next_attempt_at
    assert notification_deliveries_retry(now=first_retry) == 0  # the 500
    assert notification_deliveries_retry(now=timezone.now() + timedelta(hours=1)) == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 3
    bodies = {r.body for r in notify_receiver.received}
    assert len(bodies) == 1  # every retry sends the same signed bytes (same notify_id)


def test_the_retry_schedule_is_alipays():
    assert [retry_delay_s(attempts=n) for n in range(1, 8)] == list(RETRY_SCHEDULE_S)
    assert RETRY_SCHEDULE_S[0] == 240 and sum(RETRY_SCHEDULE_S) < 25 * 3600


def test_dropped_duplicated_and_held_notifications(alipay, notify_receiver):
    controls(alipay, drop_notifications=True)
    pay(alipay, "PAY-D")
    assert notify_receiver.received == []
    controls(alipay, drop_notifications=False, duplicate_notifications=2, hold_notifications=True)
    pay(alipay, "PAY-E")
    pay(alipay, "PAY-F")
    assert notify_receiver.received == []
    assert release_held(alipay, reverse=True) == 4
    order = [r.params["out_trade_no"] for r in notify_receiver.received]
    assert order == ["PAY-F", "PAY-F", "PAY-E", "PAY-E"]
    assert len({r.params["notify_id"] for r in notify_receiver.received}) == 2
