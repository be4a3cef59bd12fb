"""notify_after_commit: the message goes out from a task after the commit, never for a rolled-back change."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction

from clearhouse.notifications.models import Delivery, DeliveryStatus
from clearhouse.notifications.services import notify_after_commit
from clearhouse.notifications.tasks import notification_send_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _reminder(**overrides):
    kwargs = {"template": "payment_reminder", "channel": "email", "recipient": "lin@example.com",
              "context": {"order_number": "SO-1", "amount": "¥12.00", "pay_url": "http://x/p", "expires_at": "14:30"},
              "dedupe_key": "payment_reminder:SO-1:10", "related": ("order", "SO-1")}
    return {**kwargs, **overrides}


def test_nothing_is_sent_before_the_commit_and_the_task_sends_after_it(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify_after_commit(**_reminder())
        assert mail.outbox == [] and not Delivery.objects.exists()
    assert len(callbacks) == 1
    [message] = mail.outbox
    assert message.subject == "Order SO-1 is waiting for payment"
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.related_id) == (DeliveryStatus.SENT, "SO-1")


def test_a_rolled_back_transaction_sends_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                notify_after_commit(**_reminder())
                raise RuntimeError("payment failed to post")
        except RuntimeError:
            pass
    assert callbacks == [] and mail.outbox == []


def test_attachments_travel_base64_encoded_in_the_task_arguments(django_capture_on_commit_callbacks):
    pdf = bytes(range(256))  # not text: must survive JSON
    with django_capture_on_commit_callbacks(execute=True):
        notify_after_commit(**_reminder(attachments=[("voucher.pdf", pdf, "application/pdf")]))
    assert mail.outbox[0].attachments == [("voucher.pdf", pdf, "application/pdf")]


def test_a_context_the_task_cannot_carry_is_refused_in_the_caller():
    from decimal import Decimal

    with pytest.raises(TypeError):
        notify_after_commit(**_reminder(context={"amount": Decimal("12.00")}))


def test_the_task_is_a_module_level_task_the_worker_can_import():
    assert notification_send_task.module_path == "clearhouse.notifications.tasks.notification_send_task"
