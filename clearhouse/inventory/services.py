"""Writes to stock: receive, adjust, reserve for orders, release, commit on shipping, expire.

Every change of a SKU's counters is one conditional UPDATE that checks and
changes in the same statement (`... WHERE on_hand - reserved >= q`), never a
read followed by a write: under concurrent orders for the last unit the
database lets exactly one through, and the check constraints would refuse
a negative count even if this code were wrong. Writers touch stock rows in
variant-id order, so multi-line reservations never deadlock. Each change
appends a `StockMovement`; crossing the low-stock threshold raises one alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from clearhouse.catalog.selectors import variant_get, variant_merchant_ids
from clearhouse.core.audit import actor_label, audit_record
from clearhouse.core.errors import ValidationFailed
from clearhouse.inventory.domain import (
    MAX_QUANTITY,
    Crossing,
    InsufficientStock,
    InvalidQuantity,
    MovementKind,
    ReservationConflict,
    ReservationNotFound,
    ReservationStatus,
    ReserveLine,
    UnknownSku,
    check_quantity,
    check_transition,
    low_stock_crossing,
    movement_deltas,
    reserve_lines,
)
from clearhouse.inventory.models import LowStockAlert, Reservation, StockItem, StockMovement
from clearhouse.notifications.services import notify_after_commit


@dataclass(frozen=True, slots=True)
class Counters:
    """A stock row as the UPDATE left it."""

    on_hand: int
    reserved: int
    threshold: int
    was_low: bool

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def _update_counters(variant_id: int, on_hand_delta: int, reserved_delta: int) -> Counters | None:
    """Add the deltas if the row still satisfies 0 <= reserved <= on_hand afterwards; else touch nothing.

    One statement: the row lock it takes makes the check and the change one
    step, and holds the row until commit. None: no stock row, or not enough.
    """
    table = StockItem._meta.db_table
    sql = (
        f"UPDATE {table} SET on_hand = on_hand + %s, reserved = reserved + %s, updated_at = %s "  # noqa: S608  table name from the model; values are parameters
        "WHERE variant_id = %s AND (on_hand + %s) - (reserved + %s) >= 0 AND reserved + %s >= 0 "
        "RETURNING on_hand, reserved, low_stock_threshold, low_stock"
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [on_hand_delta, reserved_delta, now, variant_id, on_hand_delta, reserved_delta, reserved_delta]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    return None if row is None else Counters(int(row[0]), int(row[1]), int(row[2]), bool(row[3]))


def _watch_low_stock(variant_id: int, merchant_id: int, counters: Counters) -> None:
    """Raise one alert when availability reaches the threshold; re-arm when it climbs back above."""
    crossing = low_stock_crossing(was_low=counters.was_low, available=counters.available,
                                  threshold=counters.threshold)
    if crossing == Crossing.NONE:
        return
    entered = crossing == Crossing.ENTERED_LOW
    # This transaction holds the row's lock since its UPDATE: no other writer can cross at the same time.
    StockItem.objects.filter(variant_id=variant_id).update(low_stock=entered)
    if entered:
        alert = LowStockAlert.objects.create(variant_id=variant_id, merchant_id=merchant_id,
                                             available=counters.available, threshold=counters.threshold)
        _low_stock_notify(alert)
    else:
        LowStockAlert.objects.filter(variant_id=variant_id, resolved_at__isnull=True).update(
            resolved_at=timezone.now())


def _low_stock_notify(alert: LowStockAlert) -> None:
    """Email the merchant's active staff about a new alert, each in their language, after the commit.

    One email per person per alert (the dedupe key): a retried task never
    repeats it, and the next alert for the SKU, after a restock re-armed it,
    is a new one. Staff without an email address are skipped.
    """
    variant = variant_get(variant_id=alert.variant_id)
    staff = get_user_model().objects.filter(merchant_id=alert.merchant_id, is_active=True).exclude(email="")
    stock_url = settings.CLEARHOUSE_PUBLIC_URL + reverse("web:merchant_low_stock")
    for user in staff.order_by("pk"):
        language = user.preferred_language or settings.LANGUAGE_CODE
        chinese = language.lower().startswith("zh") and variant.product.name_zh_hans
        notify_after_commit(
            template="low_stock_alert", channel="email", recipient=user.email, language=language,
            dedupe_key=f"low_stock:{alert.variant_id}:{alert.pk}:{user.pk}", related=("low_stock_alert", str(alert.pk)),
            context={"merchant_name": variant.merchant.name, "sku": variant.sku, "available": alert.available,
                     "product_name": variant.product.name_zh_hans if chinese else variant.product.name,
                     "threshold": alert.threshold, "stock_url": stock_url})


def _movement(*, variant_id: int, merchant_id: int, kind: MovementKind, quantity: int, actor,
              reservation: Reservation | None = None, reference_type: str = "", reference_id: str = "",
              note: str = "") -> StockMovement:
    on_hand_delta, reserved_delta = movement_deltas(kind, quantity)
    return StockMovement(
        variant_id=variant_id, merchant_id=merchant_id, kind=kind, quantity=quantity,
        on_hand_delta=on_hand_delta, reserved_delta=reserved_delta, reservation=reservation,
        reference_type=reference_type[:50], reference_id=str(reference_id)[:100], note=note[:500],
        actor=actor_label(actor),
    )


def _merchant_of(variant_id: object, *, param: str = "variant_id") -> int:
    if not isinstance(variant_id, int) or isinstance(variant_id, bool):
        raise UnknownSku(param=param)
    merchant_id = variant_merchant_ids([variant_id]).get(variant_id)
    if merchant_id is None:
        raise UnknownSku(f"No SKU with variant id {variant_id}.", param=param)
    return merchant_id


def _ensure_stock_row(variant_id: int, merchant_id: int) -> None:
    # INSERT ... ON CONFLICT DO NOTHING: concurrent first receipts of a SKU make one row, no error.
    StockItem.objects.bulk_create([StockItem(variant_id=variant_id, merchant_id=merchant_id)],
                                  ignore_conflicts=True)


def _available(variant_id: int) -> int:
    row = StockItem.objects.filter(variant_id=variant_id).values_list("on_hand", "reserved").first()
    return 0 if row is None else row[0] - row[1]


# --- receiving and adjusting -------------------------------------------------------------
@transaction.atomic
def stock_receive(*, variant_id: int, quantity: int, actor=None, reference_type: str = "",
                  reference_id: str = "", note: str = "") -> StockItem:
    """Goods arrived: on_hand grows by `quantity` (1..MAX_QUANTITY)."""
    check_quantity(quantity)
    merchant_id = _merchant_of(variant_id)
    _ensure_stock_row(variant_id, merchant_id)
    counters = _update_counters(variant_id, quantity, 0)
    if counters is None:  # pragma: no cover - the row was just ensured and receiving cannot break the bounds
        raise RuntimeError(f"stock row of variant {variant_id} vanished")
    _movement(variant_id=variant_id, merchant_id=merchant_id, kind=MovementKind.RECEIVE, quantity=quantity,
              actor=actor, reference_type=reference_type, reference_id=reference_id, note=note).save()
    _watch_low_stock(variant_id, merchant_id, counters)
    return StockItem.objects.get(variant_id=variant_id)


@transaction.atomic
def stock_adjust(*, variant_id: int, quantity: int, note: str = "", actor=None) -> StockItem:
    """Correct on_hand after a count (signed); it can never drop below what is reserved for orders."""
    check_quantity(quantity, signed=True)
    merchant_id = _merchant_of(variant_id)
    _ensure_stock_row(variant_id, merchant_id)
    counters = _update_counters(variant_id, quantity, 0)
    if counters is None:
        raise InsufficientStock(
            f"Only {_available(variant_id)} unreserved units can be adjusted away.", param="quantity")
    _movement(variant_id=variant_id, merchant_id=merchant_id, kind=MovementKind.ADJUST, quantity=quantity,
              actor=actor, note=note).save()
    _watch_low_stock(variant_id, merchant_id, counters)
    audit_record(action="inventory.stock_adjusted", actor=actor, object_type="variant", object_id=variant_id,
                 payload={"quantity": quantity, "note": note[:200]})
    return StockItem.objects.get(variant_id=variant_id)


@transaction.atomic
def stock_threshold_set(*, variant_id: int, threshold: int, actor=None) -> StockItem:
    """Set the low-stock threshold; if availability is already at or below it, that alerts now."""
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 0 <= threshold <= MAX_QUANTITY:
        raise InvalidQuantity(f"Thresholds are whole numbers from 0 to {MAX_QUANTITY}.", param="threshold")
    merchant_id = _merchant_of(variant_id)
    _ensure_stock_row(variant_id, merchant_id)
    StockItem.objects.filter(variant_id=variant_id).update(low_stock_threshold=threshold)
    counters = _update_counters(variant_id, 0, 0)  # a no-op change that locks and reads the row
    _watch_low_stock(variant_id, merchant_id, counters)
    return StockItem.objects.get(variant_id=variant_id)


# --- reservations --------------------------------------------------------------------------
def _reference(reference: object) -> str:
    if not isinstance(reference, str) or not reference.strip() or len(reference.strip()) > 100:
        raise ValidationFailed("A reservation needs a reference (e.g. the order number) of 1-100 characters.",
                               param="reference")
    return reference.strip()


def _replay(reference: str, lines: Sequence[ReserveLine]) -> list[Reservation] | None:
    """The active hold of a reference if it is exactly these lines (a retry); a different one is a conflict."""
    held = list(Reservation.objects.filter(reference=reference, status=ReservationStatus.ACTIVE))
    if not held:
        return None
    if sorted((r.variant_id, r.quantity) for r in held) != [(ln.variant_id, ln.quantity) for ln in lines]:
        raise ReservationConflict(f"{reference!r} already holds other quantities; release it first.",
                                  param="reference")
    return held


def _hold(pairs: Sequence[tuple[str, ReserveLine]], merchants: dict[int, int], expires_at: datetime | None,
          actor) -> list[Reservation]:
    """Hold (reference, line) pairs; the caller gives them in variant-id order (never deadlocks)."""
    counters = {}
    for _, line in pairs:
        after = _update_counters(line.variant_id, 0, line.quantity)
        if after is None:
            raise InsufficientStock(
                f"Only {_available(line.variant_id)} unit(s) of variant {line.variant_id} are available; "
                f"{line.quantity} requested.", param=line.param)
        counters[line.variant_id] = after
    held = Reservation.objects.bulk_create([
        Reservation(variant_id=ln.variant_id, merchant_id=merchants[ln.variant_id], quantity=ln.quantity,
                    reference=reference, expires_at=expires_at)
        for reference, ln in pairs
    ])
    StockMovement.objects.bulk_create([
        _movement(variant_id=r.variant_id, merchant_id=r.merchant_id, kind=MovementKind.RESERVE,
                  quantity=r.quantity, actor=actor, reservation=r, reference_type="reservation",
                  reference_id=r.reference)
        for r in held
    ])
    for r in held:
        _watch_low_stock(r.variant_id, r.merchant_id, counters[r.variant_id])
    return held


def stock_reserve(*, lines: Iterable[tuple[int, int]], reference: str, expires_at: datetime | None = None,
                  actor=None) -> list[Reservation]:
    """Hold units of several SKUs for one order: all lines or none.

    Any line short of stock raises InsufficientStock (its param names the
    line) and nothing is held. Reserving the same lines again under the same
    reference returns the first hold (safe to retry).
    """
    checked = reserve_lines(lines)
    reference = _reference(reference)
    merchants = variant_merchant_ids([ln.variant_id for ln in checked])
    for line in sorted(checked, key=lambda ln: ln.index):
        if line.variant_id not in merchants:
            raise UnknownSku(f"No SKU with variant id {line.variant_id}.", param=f"{line.param}.variant_id")
    try:
        with transaction.atomic():
            return _replay(reference, checked) or _hold([(reference, ln) for ln in checked], merchants, expires_at,
                                                        actor)
    except IntegrityError:
        # A concurrent call with the same reference committed first.
        replay = _replay(reference, checked)
        if replay is None:
            raise
        return replay


def stock_reserve_many(*, holds: Mapping[str, Iterable[tuple[int, int]]], expires_at: datetime | None = None,
                       actor=None, merchants: Mapping[int, int] | None = None,
                       new_references: bool = False) -> dict[str, list[Reservation]]:
    """Hold stock for several references at once (the orders of one checkout): every hold or none.

    Each reference is checked as in `stock_reserve`, but the stock rows of
    all holds are updated in one variant-id order, so two checkouts that span
    the same SKUs can wait for one another but never deadlock. A SKU may
    appear in one hold only; a reference that already holds stock is a
    conflict (no replay: the caller's own transaction makes the retry safe).

    A caller that knows each variant's merchant passes `merchants` (variant id -> merchant id, read in its
    own transaction: not read again). `new_references=True` is for references the caller made in its open
    transaction (checkout's fresh order numbers): no hold can exist for them, so none is looked for, and
    no savepoint is taken: a refusal must roll the caller's transaction back (checkout lets it propagate).
    """
    checked = {}
    for reference, lines in holds.items():
        checked[_reference(reference)] = reserve_lines(lines)
    pairs = sorted(((ref, ln) for ref, lines in checked.items() for ln in lines), key=lambda p: p[1].variant_id)
    ids = [ln.variant_id for _, ln in pairs]
    if not pairs or len(set(ids)) != len(ids):
        raise ValidationFailed("Each SKU is held by one reference, and there is at least one.", param="holds")
    merchants = variant_merchant_ids(ids) if merchants is None else merchants
    for reference, line in pairs:
        if line.variant_id not in merchants:
            raise UnknownSku(f"No SKU with variant id {line.variant_id}.", param=f"{reference}.variant_id")
    if new_references:
        if not connection.in_atomic_block:
            raise RuntimeError("stock_reserve_many(new_references=True) runs inside the caller's transaction")
        held = _hold(pairs, merchants, expires_at, actor)
    else:
        held = _reserve_checked(pairs, checked, merchants, expires_at, actor)
    out: dict[str, list[Reservation]] = {ref: [] for ref in checked}
    for reservation in held:
        out[reservation.reference].append(reservation)
    return out


def _reserve_checked(pairs, checked, merchants, expires_at, actor) -> list[Reservation]:
    with transaction.atomic():
        if Reservation.objects.filter(reference__in=list(checked), status=ReservationStatus.ACTIVE).exists():
            raise ReservationConflict("A reference already holds stock; release it first.", param="holds")
        return _hold(pairs, merchants, expires_at, actor)


def _resolve(reservation: Reservation, to: ReservationStatus, actor) -> bool:
    """End one active reservation; False if someone else ended it first (then nothing changes)."""
    won = Reservation.objects.filter(pk=reservation.pk, status=ReservationStatus.ACTIVE).update(
        status=to, resolved_at=timezone.now())
    if not won:
        return False
    kind = MovementKind.RELEASE if to == ReservationStatus.RELEASED else MovementKind.COMMIT
    on_hand_delta, reserved_delta = movement_deltas(kind, reservation.quantity)
    counters = _update_counters(reservation.variant_id, on_hand_delta, reserved_delta)
    if counters is None:  # only if the counters were edited behind our back
        raise RuntimeError(f"stock of variant {reservation.variant_id} is below its reservations")
    _movement(variant_id=reservation.variant_id, merchant_id=reservation.merchant_id, kind=kind,
              quantity=reservation.quantity, actor=actor, reservation=reservation,
              reference_type="reservation", reference_id=reservation.reference).save()
    _watch_low_stock(reservation.variant_id, reservation.merchant_id, counters)
    reservation.status, reservation.resolved_at = to, timezone.now()
    return True


def _reservations_of(reference: str) -> list[Reservation]:
    found = list(Reservation.objects.filter(reference=_reference(reference)).order_by("variant_id", "id"))
    if not found:
        raise ReservationNotFound(f"No reservation has reference {reference!r}.", param="reference")
    return found


@transaction.atomic
def stock_release(*, reference: str, actor=None) -> list[Reservation]:
    """Give back the units an order held (cancelled, or expired unpaid). Idempotent.

    Returns the reservations released by this call: none when they were
    released already. A hold that already shipped (committed) cannot be
    released: InvalidTransition.
    """
    found = _reservations_of(reference)
    active = [r for r in found if r.status == ReservationStatus.ACTIVE]
    if not active and any(r.status == ReservationStatus.COMMITTED for r in found):
        check_transition(ReservationStatus.COMMITTED, ReservationStatus.RELEASED)
    return [r for r in active if _resolve(r, ReservationStatus.RELEASED, actor)]


@transaction.atomic
def stock_commit(*, reference: str, actor=None) -> list[Reservation]:
    """The order shipped: its held units leave the warehouse (on_hand and reserved both drop). Idempotent.

    Returns the reservations committed by this call (none on a repeat). A
    hold that was released (cancelled, expired) cannot ship: InvalidTransition.
    """
    found = _reservations_of(reference)
    active = [r for r in found if r.status == ReservationStatus.ACTIVE]
    if not active and not any(r.status == ReservationStatus.COMMITTED for r in found):
        check_transition(ReservationStatus.RELEASED, ReservationStatus.COMMITTED)
    return [r for r in active if _resolve(r, ReservationStatus.COMMITTED, actor)]


def reservations_release_expired(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Release active reservations whose time ran out (unpaid orders); returns how many.

    One short transaction per reservation, so a long sweep never holds many
    stock rows; one that was committed or released meanwhile is skipped.
    """
    now = now or timezone.now()
    due = Reservation.objects.filter(status=ReservationStatus.ACTIVE, expires_at__lte=now).order_by(
        "expires_at", "id")[:limit]
    released = 0
    for reservation in list(due):
        with transaction.atomic():
            released += _resolve(reservation, ReservationStatus.RELEASED, "system:reservation_expiry")
    return released
