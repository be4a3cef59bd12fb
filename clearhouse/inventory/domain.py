"""Inventory rules with no I/O: quantities, reservation lines and states, movements, low-stock crossings.

Stock per SKU is two counters: `on_hand` (units in the warehouse) and
`reserved` (units promised to submitted orders). What can still be sold is
`available = on_hand - reserved`. Invariant: 0 <= reserved <= on_hand.

Imports nothing from Django, so these rules are tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

# SKUs belong to the catalog: inventory raises (and re-exports) the catalog's error for an unknown one.
from clearhouse.catalog.domain import UnknownSku
from clearhouse.core.errors import DomainError, InvalidTransition, NotFound

# Far above any real stock, far below 64-bit overflow of the counters.
MAX_QUANTITY = 1_000_000_000
MAX_LINES = 500


# --- errors ----------------------------------------------------------------------------
class InvalidQuantity(DomainError):
    code = "invalid_quantity"
    default_message = f"Quantities are whole numbers from 1 to {MAX_QUANTITY}."


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    http_status = 409
    default_message = "Not enough stock is available."


class DuplicateLine(DomainError):
    code = "duplicate_line"
    default_message = "Each SKU may appear once in a reservation; add up the quantities."


class ReservationConflict(DomainError):
    code = "reservation_exists"
    http_status = 409
    default_message = "This reference already holds a different active reservation."


class ReservationNotFound(NotFound):
    code = "reservation_not_found"
    default_message = "No reservation has this reference."


# --- quantities and lines ------------------------------------------------------------------
def check_quantity(quantity: object, *, param: str = "quantity", signed: bool = False) -> int:
    """A whole number of units, 1..MAX_QUANTITY (or its negative too, for a signed adjustment)."""
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise InvalidQuantity(param=param)
    size = abs(quantity) if signed else quantity
    if not 1 <= size <= MAX_QUANTITY:
        raise InvalidQuantity(param=param)
    return quantity


@dataclass(frozen=True, slots=True)
class ReserveLine:
    """One SKU and how many units of it to hold; `index` is its place in the caller's list (for errors)."""

    variant_id: int
    quantity: int
    index: int = 0

    @property
    def param(self) -> str:
        return f"lines[{self.index}]"


def reserve_lines(lines: Iterable[tuple[int, int]]) -> list[ReserveLine]:
    """Check (variant_id, quantity) pairs; return them in variant-id order.

    Every writer touches stock rows in the same (variant id) order, so two
    multi-line reservations can wait for one another but never deadlock.
    """
    checked: list[ReserveLine] = []
    seen: set[int] = set()
    for i, line in enumerate(lines):
        variant_id, quantity = line
        if not isinstance(variant_id, int) or isinstance(variant_id, bool) or variant_id < 1:
            raise UnknownSku(param=f"lines[{i}].variant_id")
        check_quantity(quantity, param=f"lines[{i}].quantity")
        if variant_id in seen:
            raise DuplicateLine(param=f"lines[{i}].variant_id")
        seen.add(variant_id)
        checked.append(ReserveLine(variant_id, quantity, i))
    if not checked or len(checked) > MAX_LINES:
        raise InvalidQuantity(f"A reservation has 1 to {MAX_LINES} lines.", param="lines")
    return sorted(checked, key=lambda line: line.variant_id)


# --- movements -----------------------------------------------------------------------------
class MovementKind(StrEnum):
    """Why stock changed. Each kind moves the two counters in a fixed way (see `movement_deltas`)."""

    RECEIVE = "receive"  # goods arrived: on_hand up
    ADJUST = "adjust"  # stocktake correction: on_hand up or down
    RESERVE = "reserve"  # an order was submitted: reserved up
    RELEASE = "release"  # the order was cancelled or expired unpaid: reserved down
    COMMIT = "commit"  # the order shipped: the units leave, on_hand and reserved down


def movement_deltas(kind: MovementKind, quantity: int) -> tuple[int, int]:
    """(on_hand change, reserved change) of a movement; the log sums to the counters."""
    return {
        MovementKind.RECEIVE: (quantity, 0),
        MovementKind.ADJUST: (quantity, 0),
        MovementKind.RESERVE: (0, quantity),
        MovementKind.RELEASE: (0, -quantity),
        MovementKind.COMMIT: (-quantity, -quantity),
    }[MovementKind(kind)]


# --- reservations ----------------------------------------------------------------------------
class ReservationStatus(StrEnum):
    """A hold on units for one order line: it ends once, either released or committed."""

    ACTIVE = "active"
    RELEASED = "released"
    COMMITTED = "committed"


TRANSITIONS: dict[ReservationStatus, frozenset[ReservationStatus]] = {
    ReservationStatus.ACTIVE: frozenset({ReservationStatus.RELEASED, ReservationStatus.COMMITTED}),
    ReservationStatus.RELEASED: frozenset(),
    ReservationStatus.COMMITTED: frozenset(),
}


def check_transition(current: str, to: str) -> ReservationStatus:
    current, to = ReservationStatus(current), ReservationStatus(to)
    if to not in TRANSITIONS[current]:
        raise InvalidTransition(f"A {current} reservation cannot become {to}.", param="reference")
    return to


# --- low stock ---------------------------------------------------------------------------------
class Crossing(StrEnum):
    """How one movement moved a SKU relative to its low-stock threshold."""

    ENTERED_LOW = "entered_low"
    LEFT_LOW = "left_low"
    NONE = "none"


def low_stock_crossing(*, was_low: bool, available: int, threshold: int) -> Crossing:
    """An alert fires when availability first drops to the threshold, not on every sale below it.

    The SKU re-arms once availability climbs back above the threshold.
    """
    is_low = available <= threshold
    if is_low and not was_low:
        return Crossing.ENTERED_LOW
    if was_low and not is_low:
        return Crossing.LEFT_LOW
    return Crossing.NONE
