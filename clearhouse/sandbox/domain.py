"""Rules of the sandbox card provider that need no database: test cards, card checks, fees, signatures.

The sandbox simulates a card provider's "test mode" (like Stripe's): the card
number typed on its hosted form decides what happens at confirm. Nothing here
imports Django, so the rules are tested without a database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from clearhouse.core.money import round_minor


class Behaviour(StrEnum):
    """What a test card does when a payment is confirmed with it."""

    SUCCEED = "succeed"
    DECLINE_INSUFFICIENT_FUNDS = "decline_insufficient_funds"
    REQUIRE_3DS = "require_3ds"
    PROCESSING_ERROR = "processing_error"  # HTTP 500, nothing changes: a transient fault
    SLOW = "slow"  # the payment completes, but the answer comes after SLOW_RESPONSE_S


class IntentStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


CANCELABLE = frozenset({
    IntentStatus.REQUIRES_PAYMENT_METHOD, IntentStatus.REQUIRES_ACTION, IntentStatus.REQUIRES_CAPTURE,
})


@dataclass(frozen=True)
class TestCard:
    """One documented test card number and its behaviour (shown on the hosted form)."""

    __test__ = False  # not a pytest test class

    number: str
    behaviour: Behaviour
    description: str
    token: str  # a ready-made payment method id for API-only tests, like Stripe's pm_card_visa


TEST_CARDS: tuple[TestCard, ...] = (
    TestCard("4242424242424242", Behaviour.SUCCEED, "Succeeds", "pm_card_visa"),
    TestCard("4000000000009995", Behaviour.DECLINE_INSUFFICIENT_FUNDS, "Declined: insufficient funds",
             "pm_card_visa_chargeDeclinedInsufficientFunds"),
    TestCard("4000002760003184", Behaviour.REQUIRE_3DS, "Requires 3-D Secure authentication",
             "pm_card_authenticationRequired"),
    TestCard("4000000000000119", Behaviour.PROCESSING_ERROR, "Processing error (HTTP 500, retry)",
             "pm_card_chargeDeclinedProcessingError"),
    TestCard("4000000000007726", Behaviour.SLOW, "Succeeds, but the answer is slow (caller times out)",
             "pm_card_timeout"),
)
BEHAVIOUR_BY_NUMBER = {card.number: card.behaviour for card in TEST_CARDS}
CARD_BY_TOKEN = {card.token: card for card in TEST_CARDS}


class SandboxError(Exception):
    """An error the sandbox API answers with: `{"error": {type, code, decline_code, message}}`."""

    def __init__(self, *, status: int, type: str, code: str, message: str, decline_code: str = ""):
        super().__init__(message)
        self.status = status
        self.type = type
        self.code = code
        self.message = message
        self.decline_code = decline_code

    def as_dict(self) -> dict:
        error = {"type": self.type, "code": self.code, "message": self.message}
        if self.decline_code:
            error["decline_code"] = self.decline_code
        return {"error": error}


def invalid_request(code: str, message: str) -> SandboxError:
    return SandboxError(status=400, type="invalid_request_error", code=code, message=message)


def not_found(what: str, ident: str) -> SandboxError:
    return SandboxError(status=404, type="invalid_request_error", code="resource_missing",
                        message=f"No such {what}: {ident!r}.")


def unexpected_state(status: str, action: str) -> SandboxError:
    return invalid_request("payment_intent_unexpected_state",
                           f"You cannot {action} this PaymentIntent because it has a status of {status}.")


def new_id(prefix: str, length: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return f"{prefix}_{''.join(secrets.choice(alphabet) for _ in range(length))}"


# --- cards -------------------------------------------------------------------
def digits_only(number: str) -> str:
    return "".join(ch for ch in number if ch not in " -")


def luhn_valid(number: str) -> bool:
    """The Luhn checksum every real card number satisfies (a typo catcher, not a security check)."""
    if not number.isascii() or not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number.startswith("62"):
        return "unionpay"
    return "unknown"


def card_behaviour(number: str) -> Behaviour:
    """Documented test cards do what the list says; any other valid number succeeds."""
    return BEHAVIOUR_BY_NUMBER.get(number, Behaviour.SUCCEED)


def expiry_in_future(*, month: int, year: int, today: date) -> bool:
    """A card is valid through the last day of its expiry month."""
    return 1 <= month <= 12 and (year, month) >= (today.year, today.month)


# --- money -------------------------------------------------------------------
def fee_minor(*, amount_received_minor: int, fee_rate: Decimal) -> int:
    """The sandbox's fee on a captured amount: amount * rate, rounded half up to a minor unit."""
    assert amount_received_minor >= 0
    return round_minor(Decimal(amount_received_minor) * fee_rate)


# --- webhooks ----------------------------------------------------------------
def signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    """`Sandbox-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def retry_delay_s(*, attempts: int, base_s: int = 30) -> int:
    """Exponential backoff between delivery attempts: 30 s, 60 s, 120 s, ... after the 1st, 2nd, 3rd failure."""
    assert attempts >= 1
    return base_s * 2 ** (attempts - 1)
