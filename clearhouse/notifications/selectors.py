"""Reads of the delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from clearhouse.notifications.models import Delivery


def delivery_list(*, related: tuple[str, str] | None = None, template: str | None = None,
                  status: str | None = None, channel: str | None = None) -> QuerySet[Delivery]:
    """Deliveries, newest first; `related=("order", "SO-...")` gives everything sent about one object."""
    qs = Delivery.objects.all()
    if related is not None:
        qs = qs.filter(related_type=related[0], related_id=str(related[1]))
    if template is not None:
        qs = qs.filter(template=template)
    if status is not None:
        qs = qs.filter(status=status)
    if channel is not None:
        qs = qs.filter(channel=channel)
    return qs.order_by("-id")


def dedupe_keys_taken(*, keys: list[str]) -> set[str]:
    """Which of these dedupe keys already have a delivery (callers skip those without a write)."""
    if not keys:
        return set()
    return set(Delivery.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
