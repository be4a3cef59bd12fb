"""delivery_list: what was sent about one object, newest first."""

from __future__ import annotations

import pytest

from clearhouse.notifications.selectors import delivery_list
from clearhouse.notifications.services import notification_send

pytestmark = pytest.mark.django_db


def test_deliveries_are_listed_by_related_object_newest_first():
    context = {"order_number": "SO-1", "amount": "¥5.00"}
    first = notification_send(template="refund_due_offline", channel="sms", recipient="+86138", context=context,
                              related=("order", "SO-1"))
    second = notification_send(template="refund_due_offline", channel="email", recipient="a@example.com",
                               context=context, related=("order", "SO-1"))
    notification_send(template="refund_due_offline", channel="sms", recipient="+86139", context=context,
                      related=("order", "SO-2"))
    assert list(delivery_list(related=("order", "SO-1"))) == [second, first]
    assert list(delivery_list(related=("order", "SO-1"), channel="sms")) == [first]
