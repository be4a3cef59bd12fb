"""Payment reminders: one per slot and channel, none once the order is paid or cancelled."""

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from clearhouse.notifications import sms
from clearhouse.notifications.models import Delivery
from clearhouse.orders.services import order_cancel
from clearhouse.payments.services import payment_cash_record, payment_reminders_send
from tests.payments.support import cny


def test_an_unpaid_order_is_reminded_once_per_slot(order, settings):
    settings.PAYMENT_REMINDER_MINUTES = [10, 20]
    created = order.created_at
    assert payment_reminders_send(now=created + timedelta(minutes=5)) == 0
    assert payment_reminders_send(now=created + timedelta(minutes=11)) == 2  # email and SMS
    assert payment_reminders_send(now=created + timedelta(minutes=12)) == 0
    assert payment_reminders_send(now=created + timedelta(minutes=21)) == 2
    assert len(mail.outbox) == 2 and len(sms.outbox) == 2
    assert f"/pay/{order.number}/" in mail.outbox[0].body
    assert Delivery.objects.filter(template="payment_reminder").count() == 4


def test_reminders_stop_when_the_order_is_paid(order, clerk, settings):
    settings.PAYMENT_REMINDER_MINUTES = [10]
    payment_cash_record(order=order, amount=cny("200.00"), receipt_number="R-1", actor=clerk)
    assert payment_reminders_send(now=order.created_at + timedelta(minutes=11)) == 0


def test_reminders_stop_when_the_order_is_cancelled_or_expired(order, settings):
    settings.PAYMENT_REMINDER_MINUTES = [10]
    assert payment_reminders_send(now=order.expires_at + timedelta(minutes=1)) == 0
    order_cancel(order=order, reason="no longer needed", actor="lin")
    assert payment_reminders_send(now=timezone.now() + timedelta(minutes=11)) == 0
