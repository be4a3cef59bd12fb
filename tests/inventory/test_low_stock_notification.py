"""Low stock tells the merchant's staff: one email per person per alert, in their language, after the commit."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction

from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import user_create
from clearhouse.inventory.models import LowStockAlert
from clearhouse.inventory.services import stock_release, stock_reserve, stock_threshold_set
from clearhouse.notifications.models import Delivery
from tests.catalog.support import make_product, only_variant


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def staff(merchant, other_merchant):
    """Two people of the tea house (one reading Chinese), one without email, one of another merchant."""
    mei = user_create(username="mei", password="x-mei-pass-1", role=Role.MERCHANT_ADMIN, merchant=merchant,
                      email="mei@teahouse.example")
    mei.preferred_language = "zh-hans"
    mei.save(update_fields=["preferred_language"])
    user_create(username="tom", password="x-tom-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant,
                email="tom@teahouse.example")
    user_create(username="noemail", password="x-noe-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant)
    user_create(username="other", password="x-oth-pass-1", role=Role.MERCHANT_ADMIN, merchant=other_merchant,
                email="boss@noodles.example")


@pytest.fixture
def longjing(merchant, tea):
    variant = only_variant(make_product(merchant, tea, "Longjing", sku="TEA-LJ", name_zh_hans="龙井", stock=10))
    stock_threshold_set(variant_id=variant.pk, threshold=3)
    return variant


def test_crossing_the_threshold_emails_each_staff_member_once_in_their_language(
        staff, longjing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(lines=[(longjing.pk, 7)], reference="SO-1")
    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(lines=[(longjing.pk, 1)], reference="SO-2")  # still low: no new alert, no new email
    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert sorted(by_recipient) == ["mei@teahouse.example", "tom@teahouse.example"]
    assert by_recipient["tom@teahouse.example"].subject == "Low stock: TEA-LJ Longjing"
    assert "3 available, threshold 3" in by_recipient["tom@teahouse.example"].body
    assert "http://127.0.0.1:8000/merchant/low-stock/" in by_recipient["tom@teahouse.example"].body
    assert by_recipient["mei@teahouse.example"].subject == "库存不足：TEA-LJ 龙井"  # noqa: RUF001  Chinese punctuation on purpose
    alert = LowStockAlert.objects.get()
    assert set(Delivery.objects.values_list("related_type", "related_id", "status")) == {
        ("low_stock_alert", str(alert.pk), "sent")}


def test_a_new_alert_after_a_restock_emails_again(staff, longjing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        stock_reserve(lines=[(longjing.pk, 8)], reference="SO-1")
        stock_release(reference="SO-1")
        stock_reserve(lines=[(longjing.pk, 9)], reference="SO-2")
    assert LowStockAlert.objects.count() == 2
    assert len(mail.outbox) == 4


def test_a_rolled_back_sale_sends_nothing(staff, longjing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                stock_reserve(lines=[(longjing.pk, 8)], reference="SO-1")
                raise RuntimeError("checkout failed later")
        except RuntimeError:
            pass
    assert mail.outbox == [] and not Delivery.objects.exists()
