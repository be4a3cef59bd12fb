"""Payment rules with no I/O: the intent and refund state machines, what a provider's
answer means for us, retry backoff, and references customers can type.

Imports nothing from Django: tested without a database.
"""

from __future__ import annotations

import random
import secrets
from enum import StrEnum

from clearhouse.core.errors import DomainError, InvalidTransition


class IntentStatus(StrEnum):
    """Where a payment is (DESIGN §5). Terminal: captured, failed, cancelled."""

    REQUIRES_PAYMENT = "requires_payment"
    PROCESSING = "processing"
    REQUIRES_ACTION = "requires_action"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Method(StrEnum):
    """What the customer chooses on the pay page; providers/__init__.py says who serves each."""

    CARD = "card"
    ALIPAY = "alipay"
    WECHAT_PAY = "wechat_pay"
    PAYPAL = "paypal"
    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"


class CaptureMethod(StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class RefundState(StrEnum):
    """A refund: above the approval threshold it first waits for a finance manager."""

    AWAITING_APPROVAL = "awaiting_approval"
    PENDING = "pending"  # sent to the provider, or (offline) due to be paid out by finance
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"


S = IntentStatus
# One table. Processing and requires_action may alternate (3-D Secure, then the
# bank's answer); nothing ever leaves a terminal state, and nothing moves back
# from authorized. An event that is not in the table is stale and ignored.
TRANSITIONS: dict[IntentStatus, frozenset[IntentStatus]] = {
    S.REQUIRES_PAYMENT: frozenset({S.PROCESSING, S.REQUIRES_ACTION, S.AUTHORIZED, S.CAPTURED, S.FAILED, S.CANCELLED}),
    S.PROCESSING: frozenset({S.REQUIRES_ACTION, S.AUTHORIZED, S.CAPTURED, S.FAILED, S.CANCELLED}),
    S.REQUIRES_ACTION: frozenset({S.PROCESSING, S.AUTHORIZED, S.CAPTURED, S.FAILED, S.CANCELLED}),
    S.AUTHORIZED: frozenset({S.CAPTURED, S.CANCELLED}),
    S.CAPTURED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}

LIVE = frozenset({S.REQUIRES_PAYMENT, S.PROCESSING, S.REQUIRES_ACTION, S.AUTHORIZED, S.CAPTURED})
UNSETTLED = frozenset({S.REQUIRES_PAYMENT, S.PROCESSING, S.REQUIRES_ACTION})
SECURED = frozenset({S.AUTHORIZED, S.CAPTURED})  # the customer's money is held or taken: the order is paid

R = RefundState
REFUND_TRANSITIONS: dict[RefundState, frozenset[RefundState]] = {
    R.AWAITING_APPROVAL: frozenset({R.PENDING, R.REJECTED}),
    R.PENDING: frozenset({R.SUCCEEDED, R.FAILED}),
    R.SUCCEEDED: frozenset(),
    R.FAILED: frozenset(),
    R.REJECTED: frozenset(),
}
# Refunds that count against what can still be refunded.
REFUND_COUNTS = frozenset({R.AWAITING_APPROVAL, R.PENDING, R.SUCCEEDED})


def can_move(current: str, to: str) -> bool:
    return IntentStatus(to) in TRANSITIONS[IntentStatus(current)]


def check_move(current: str, to: str) -> None:
    if current == to or not can_move(current, to):
        raise InvalidTransition(f"A payment cannot go from {current} to {to}.", param="status")


def check_refund_move(current: str, to: str) -> None:
    if RefundState(to) not in REFUND_TRANSITIONS[RefundState(current)]:
        raise InvalidTransition(f"A refund cannot go from {current} to {to}.", param="status")


def backoff_s(*, attempt: int, base_s: float, cap_s: float = 30.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(cap_s, base_s * (2 ** max(attempt, 0)))
    return (rng or random).uniform(0, ceiling)


# Crockford base32 without I, L, O, U: nothing a customer can misread when typing a transfer reference.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference(prefix: str, *, length: int = 10) -> str:
    """A random reference with a check character (Luhn mod 32), e.g. PAY7K3M9Q2XH4."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(length))
    return f"{prefix}{body}{_check_char(body)}"


def _check_char(body: str) -> str:
    """Luhn mod N over our alphabet: catches every single mistyped character and nearly every swap of two
    neighbours (as the Luhn check on card numbers does)."""
    total, factor = 0, 2
    for c in reversed(body):
        addend = factor * _ALPHABET.index(c)
        total += addend // 32 + addend % 32
        factor = 3 - factor
    return _ALPHABET[(32 - total % 32) % 32]


def reference_is_well_formed(reference: str, prefix: str) -> bool:
    """Catches typos in a reference typed into a bank transfer before anyone looks it up."""
    reference = reference.strip().upper()
    if not reference.startswith(prefix) or len(reference) < len(prefix) + 2:
        return False
    body, check = reference[len(prefix):-1], reference[-1]
    return all(c in _ALPHABET for c in body) and _check_char(body) == check


# --- errors callers can cause (stable codes for the API) ---------------------
class OrderNotPayable(DomainError):
    code = "order_not_payable"
    http_status = 409
    default_message = "This order cannot be paid (it is cancelled, expired or already paid)."


class OrderAlreadyPaid(OrderNotPayable):
    code = "order_already_paid"
    default_message = "This order is already paid."


class PaymentNotReady(DomainError):
    code = "payment_not_ready"
    http_status = 409
    default_message = "The payment is still being set up with the provider; try again in a moment."


class AmountMismatch(DomainError):
    code = "amount_mismatch"
    default_message = "The amount or currency does not match the order."


class PaymentMethodUnavailable(DomainError):
    code = "payment_method_unavailable"
    default_message = "This payment method is not available."


class RefundExceedsCaptured(DomainError):
    code = "refund_exceeds_captured"
    http_status = 409
    default_message = "The refund is larger than what is left to refund of the captured amount."


class CaptureExceedsAuthorized(DomainError):
    code = "capture_exceeds_authorized"
    default_message = "The capture is larger than the authorized amount."


class SelfApprovalRefused(DomainError):
    code = "self_approval_refused"
    type = "permission_error"
    http_status = 403
    default_message = "The person who requested a refund cannot approve it."
