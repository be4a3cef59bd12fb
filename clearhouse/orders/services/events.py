"""The only writer of `OrderEvent` rows (append-only; DESIGN §12.4)."""

from __future__ import annotations

from clearhouse.core.audit import actor_label
from clearhouse.orders.models import Order, OrderEvent


def order_event_record(*, order: Order, type: str, parameters: dict | None = None, actor=None) -> OrderEvent:
    return OrderEvent.objects.create(order=order, type=type, parameters=parameters or {}, actor=actor_label(actor))
