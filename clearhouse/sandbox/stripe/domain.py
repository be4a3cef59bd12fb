"""Rules of the Stripe simulator that need no database: test cards, form decoding, amounts, fees, signatures.

The simulator speaks Stripe's v1 wire format: form-encoded request bodies with
bracketed keys (`metadata[reference]=PAY-1`, `expand[]=latest_charge`), JSON
answers whose objects carry `"object"`, errors shaped
`{"error": {"type", "code", "decline_code", "message", "param"}}`, and events
signed `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(whsec, "<t>.<body>")>`.
Nothing here imports Django.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from clearhouse.core.money import round_minor


class Behaviour(StrEnum):
    """What a test card does when a PaymentIntent is confirmed with it (Stripe's documented test cards)."""

    SUCCEED = "succeed"
    DECLINE_INSUFFICIENT_FUNDS = "insufficient_funds"
    DECLINE_GENERIC = "generic_decline"
    PROCESSING_ERROR = "processing_error"
    REQUIRE_3DS = "require_3ds"


@dataclass(frozen=True)
class TestCard:
    """A Stripe test card number, its behaviour and the ready-made PaymentMethod id Stripe documents for it."""

    __test__ = False  # not a pytest test class

    number: str
    behaviour: Behaviour
    token: str


TEST_CARDS: tuple[TestCard, ...] = (
    TestCard("4242424242424242", Behaviour.SUCCEED, "pm_card_visa"),
    TestCard("4000000000009995", Behaviour.DECLINE_INSUFFICIENT_FUNDS, "pm_card_visa_chargeDeclinedInsufficientFunds"),
    TestCard("4000000000000002", Behaviour.DECLINE_GENERIC, "pm_card_visa_chargeDeclined"),
    TestCard("4000000000000119", Behaviour.PROCESSING_ERROR, "pm_card_visa_chargeDeclinedProcessingError"),
    TestCard("4000002760003184", Behaviour.REQUIRE_3DS, "pm_card_authenticationRequired"),
)
CARD_BY_NUMBER = {card.number: card for card in TEST_CARDS}
CARD_BY_TOKEN = {card.token: card for card in TEST_CARDS}

# (code, decline_code, message) of a card_error per declining behaviour, as Stripe words them.
DECLINES: dict[Behaviour, tuple[str, str, str]] = {
    Behaviour.DECLINE_INSUFFICIENT_FUNDS: ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    Behaviour.DECLINE_GENERIC: ("card_declined", "generic_decline", "Your card was declined."),
    Behaviour.PROCESSING_ERROR: ("processing_error", "processing_error",
                                 "An error occurred while processing your card. Try again in a little bit."),
}


class IntentStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    CANCELED = "canceled"
    SUCCEEDED = "succeeded"


CANCELABLE = frozenset({IntentStatus.REQUIRES_PAYMENT_METHOD, IntentStatus.REQUIRES_CONFIRMATION,
                        IntentStatus.REQUIRES_ACTION, IntentStatus.REQUIRES_CAPTURE})
CONFIRMABLE = frozenset({IntentStatus.REQUIRES_PAYMENT_METHOD, IntentStatus.REQUIRES_CONFIRMATION})
CANCELLATION_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer", "abandoned"})
REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})


class StripeError(Exception):
    """An error answer: HTTP status plus Stripe's error object."""

    def __init__(self, *, status: int, type: str, message: str, code: str = "", decline_code: str = "",
                 param: str = "", payment_intent: dict | None = None):
        super().__init__(message)
        self.status, self.type, self.message = status, type, message
        self.code, self.decline_code, self.param = code, decline_code, param
        self.payment_intent = payment_intent

    def as_dict(self) -> dict:
        error: dict = {"type": self.type, "message": self.message}
        for name in ("code", "decline_code", "param"):
            if getattr(self, name):
                error[name] = getattr(self, name)
        if self.payment_intent is not None:
            error["payment_intent"] = self.payment_intent
        return {"error": error}


def invalid_request(message: str, *, code: str = "", param: str = "", status: int = 400) -> StripeError:
    return StripeError(status=status, type="invalid_request_error", code=code, param=param, message=message)


def resource_missing(kind: str, ident: str, param: str = "id") -> StripeError:
    return invalid_request(f"No such {kind}: '{ident}'", code="resource_missing", param=param, status=404)


def unexpected_state(status: str, action: str) -> StripeError:
    return invalid_request(f"This PaymentIntent's {action} could not be performed because it has a status of "
                           f"{status}.", code="payment_intent_unexpected_state")


def new_id(prefix: str, length: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return f"{prefix}_{''.join(secrets.choice(alphabet) for _ in range(length))}"


def new_secret(prefix: str) -> str:
    """An API key or webhook signing secret: 32 random bytes, URL-safe, behind Stripe's prefix."""
    return f"{prefix}_{secrets.token_urlsafe(32).replace('-', 'A').replace('_', 'b')}"


def key_digest(secret_key: str) -> str:
    """What the simulator keeps of an API key: its SHA-256, enough to recognise it, useless to replay."""
    return hashlib.sha256(secret_key.encode()).hexdigest()


# --- form-encoded bodies --------------------------------------------------------------------------
def decode_form(pairs: Iterable[tuple[str, str]]) -> dict:
    """Stripe's bracketed form keys as nested values: `metadata[a]=1` -> {"metadata": {"a": "1"}},
    `expand[]=x` or `expand[0]=x` -> {"expand": ["x"]}. Values stay strings, as sent."""
    result: dict = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        parts = [head] + ([p for p in rest.rstrip("]").split("][")] if rest else [])
        node: dict = result
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            following = parts[i + 1] if not last else None
            if last:
                _put(node, part, value)
            else:
                container = node.get(part)
                if container is None:
                    container = [] if following == "" or (following or "").isdigit() else {}
                    node[part] = container
                if isinstance(container, list):
                    if following == "" or (following or "").isdigit():
                        container.append(value)
                        break
                    raise StripeError(status=400, type="invalid_request_error", code="parameter_invalid",
                                      param=key, message=f"Invalid parameter: {key}")
                node = container
    return result


def _put(node: dict, key: str, value: str) -> None:
    if isinstance(node, dict):
        node[key] = value


def fingerprint(*, method: str, path: str, pairs: Iterable[tuple[str, str]]) -> str:
    """What makes two requests "the same" for an Idempotency-Key: method, path and sorted parameters."""
    canonical = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def int_param(value: object, name: str, *, minimum: int = 1) -> int:
    """A form value that must be a whole number (Stripe amounts are integers in the smallest unit)."""
    text = str(value).strip() if value is not None else ""
    if not text.isascii() or not text.lstrip("-").isdigit() or int(text) < minimum:
        raise invalid_request(f"Invalid integer: {value}", code="parameter_invalid_integer", param=name)
    return int(text)


# --- currencies (Stripe's own conventions, https://docs.stripe.com/currencies) ------------------------
ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
                          "vuv", "xaf", "xof", "xpf"})
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
# Zero-decimal for Stripe but sent with two decimals for backwards compatibility: a multiple of 100.
WHOLE_HUNDREDS = frozenset({"isk", "ugx"})


def stripe_exponent(currency: str) -> int:
    """Decimal places Stripe's integer `amount` carries for this (lowercase) currency."""
    if currency in WHOLE_HUNDREDS:
        return 2
    if currency in ZERO_DECIMAL:
        return 0
    return 3 if currency in THREE_DECIMAL else 2


def check_amount(amount: int, currency: str, param: str = "amount") -> None:
    """Stripe's extra rules on amounts: three-decimal currencies end in 0; ISK and UGX in 00."""
    if currency in THREE_DECIMAL and amount % 10:
        raise invalid_request(f"Amounts in {currency} must have 0 as the last digit (round to the nearest ten).",
                              code="amount_invalid_for_currency", param=param)
    if currency in WHOLE_HUNDREDS and amount % 100:
        raise invalid_request(f"Amounts in {currency} must be a multiple of 100.",
                              code="amount_invalid_for_currency", param=param)


def fee_minor(*, amount: int, rate: Decimal, fixed: int) -> int:
    """The simulator's processing fee on a captured amount: amount x rate, half up, plus a fixed part."""
    assert amount >= 0
    return round_minor(Decimal(amount) * rate) + fixed


# --- cards -------------------------------------------------------------------------------------------
def card_behaviour(number: str) -> Behaviour:
    """Documented test cards do what Stripe's list says; any other valid number succeeds."""
    card = CARD_BY_NUMBER.get(number)
    return card.behaviour if card else Behaviour.SUCCEED


# --- webhooks ----------------------------------------------------------------------------------------
def signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    """`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def retry_delay_s(*, attempts: int, base_s: int = 60) -> int:
    """Backoff between delivery attempts: 1 min, 2, 4, 8, ... after the 1st, 2nd, 3rd failure, at most 6 h."""
    assert attempts >= 1
    return min(base_s * 2 ** (attempts - 1), 6 * 3600)
