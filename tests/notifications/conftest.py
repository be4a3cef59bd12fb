"""Notification fixtures: SMS into the in-memory outbox (email already goes to django.core.mail.outbox)."""

import pytest

from clearhouse.notifications import sms


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    """The SMS messages sent during the test, oldest first."""
    settings.CLEARHOUSE_SMS_BACKEND = "clearhouse.notifications.sms.LocmemSmsBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def succeeded_context():
    return {
        "order_number": "SO-20261123-000001", "amount": "¥128.00", "method": "Card •••• 4242",
        "merchant_name": "Tea House", "transaction_reference": "PA-7F3K9", "paid_at": "2026-11-23 14:05",
        "voucher_url": "http://127.0.0.1:8000/orders/SO-20261123-000001/voucher.pdf",
    }
