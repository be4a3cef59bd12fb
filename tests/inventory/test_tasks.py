"""The expiry task: unpaid orders' reservations give their stock back once their time is up."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from clearhouse.inventory.models import Reservation
from clearhouse.inventory.services import reservations_release_expired, stock_commit, stock_receive, stock_reserve
from clearhouse.inventory.tasks import release_expired_reservations
from tests.inventory.support import counters


def test_the_task_releases_expired_reservations_only(sku, sku2):
    stock_receive(variant_id=sku.pk, quantity=5)
    stock_receive(variant_id=sku2.pk, quantity=5)
    now = timezone.now()
    stock_reserve(lines=[(sku.pk, 2)], reference="SO-late", expires_at=now - timedelta(minutes=1))
    stock_reserve(lines=[(sku2.pk, 1)], reference="SO-fresh", expires_at=now + timedelta(minutes=30))
    stock_reserve(lines=[(sku2.pk, 1)], reference="SO-forever")
    assert release_expired_reservations.call() == 1
    assert counters(sku) == (5, 0) and counters(sku2) == (5, 2)
    assert Reservation.objects.get(reference="SO-late").status == "released"
    assert release_expired_reservations.call() == 0  # running it again does nothing again


def test_a_reservation_committed_before_the_sweep_stays_committed(sku):
    stock_receive(variant_id=sku.pk, quantity=5)
    stock_reserve(lines=[(sku.pk, 2)], reference="SO-1", expires_at=timezone.now() - timedelta(minutes=1))
    stock_commit(reference="SO-1")
    assert reservations_release_expired() == 0
    assert counters(sku) == (3, 0)


def test_the_sweep_is_a_module_level_task_the_worker_can_import():
    assert release_expired_reservations.module_path == "clearhouse.inventory.tasks.release_expired_reservations"
