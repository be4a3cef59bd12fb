"""Rules of the PayPal simulator with no I/O: ids, amounts, fees, error bodies, the webhook signing string.

Amounts on PayPal's wire are decimal strings with the currency's PayPal
precision: two decimals, except JPY, HUF and TWD which take none ("Decimal
amounts cause an error"). Currencies PayPal does not process (KWD, BHD, ...)
are refused with CURRENCY_NOT_SUPPORTED.
"""

from __future__ import annotations

import re
import secrets
import string
import uuid
import zlib
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from clearhouse.core.money import round_minor

SUPPORTED_CURRENCIES = frozenset(
    "AUD BRL CAD CNY CZK DKK EUR HKD HUF ILS JPY MYR MXN TWD NZD NOK PHP PLN GBP SGD SEK CHF THB USD".split())
NO_DECIMALS = frozenset({"JPY", "HUF", "TWD"})
FEE_RATE = Decimal("0.0340")  # the simulator's fee on a capture, in the currency's PayPal precision
TOKEN_LIFETIME_S = 32400
_VALUE = re.compile(r"[0-9]{1,10}(\.[0-9]+)?")


class Behaviour(StrEnum):
    """What the fake buyer account chosen on the checkout page does when the merchant captures."""

    PAYS = "pays"  # capture COMPLETED
    DECLINED = "declined"  # capture answers 422 INSTRUMENT_DECLINED
    PENDING = "pending"  # capture PENDING (e.g. an eCheck), settled later by a test control
    DENIED = "denied"  # capture created with status DECLINED


TEST_BUYERS = {
    "buyer@example.com": Behaviour.PAYS,
    "declined@example.com": Behaviour.DECLINED,
    "pending@example.com": Behaviour.PENDING,
    "denied@example.com": Behaviour.DENIED,
}


def new_id(length: int = 17) -> str:
    """PayPal-style resource ids: 17 upper-case letters and digits (e.g. 5O190127TN364715T)."""
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(length))


def new_event_id() -> str:
    return f"WH-{new_id(17)}-{new_id(17)}"


def new_transmission_id() -> str:
    return str(uuid.uuid1())


def new_debug_id() -> str:
    return secrets.token_hex(7)


@dataclass
class PayPalError(Exception):
    """An error answer in PayPal's shape: {name, message, debug_id, details:[{issue, description, ...}]}."""

    status: int
    name: str
    message: str
    details: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        body = {"name": self.name, "message": self.message, "debug_id": new_debug_id()}
        if self.details:
            body["details"] = self.details
        body["links"] = [{"href": f"https://developer.paypal.com/api/rest/reference/orders/v2/errors/#{self.name}",
                          "rel": "information_link", "method": "GET"}]
        return body


def invalid_request(issue: str, description: str, *, field_path: str = "", value: str = "") -> PayPalError:
    detail = {"issue": issue, "description": description, "location": "body"}
    if field_path:
        detail["field"] = field_path
    if value:
        detail["value"] = value
    return PayPalError(400, "INVALID_REQUEST",
                       "Request is not well-formed, syntactically incorrect, or violates schema.", [detail])


def unprocessable(issue: str, description: str) -> PayPalError:
    return PayPalError(422, "UNPROCESSABLE_ENTITY",
                       "The requested action could not be performed, semantically incorrect, or failed business "
                       "validation.", [{"issue": issue, "description": description}])


def not_found() -> PayPalError:
    return PayPalError(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.",
                       [{"issue": "INVALID_RESOURCE_ID",
                         "description": "Specified resource ID does not exist. Please check the resource ID and "
                                        "try again."}])


def not_authorized() -> PayPalError:
    return PayPalError(403, "NOT_AUTHORIZED", "Authorization failed due to insufficient permissions.",
                       [{"issue": "PERMISSION_DENIED",
                         "description": "You do not have permission to access or perform operations on this "
                                        "resource."}])


def internal_error() -> PayPalError:
    return PayPalError(500, "INTERNAL_SERVER_ERROR", "An internal server error has occurred.")


def parse_value(value: object, currency: object, *, field_path: str) -> tuple[str, Decimal]:
    """A checked (currency, amount) from an {currency_code, value} object, as PayPal validates it."""
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise invalid_request("INVALID_PARAMETER_VALUE", "currency_code is a three-letter code.",
                              field_path=f"{field_path}/currency_code")
    if not isinstance(value, str) or not _VALUE.fullmatch(value):
        raise invalid_request("INVALID_PARAMETER_SYNTAX", "The value field is a decimal string such as 10.00.",
                              field_path=f"{field_path}/value")
    if currency not in SUPPORTED_CURRENCIES:
        raise unprocessable("CURRENCY_NOT_SUPPORTED", f"Currency code {currency} is not currently supported.")
    amount = Decimal(value)
    decimals = -amount.as_tuple().exponent if "." in value else 0
    if currency in NO_DECIMALS and amount != amount.to_integral_value():
        raise unprocessable("DECIMALS_NOT_SUPPORTED", f"Currency code {currency} does not support decimals.")
    if decimals > 2:
        raise invalid_request("DECIMAL_PRECISION", "The value of the field should not exceed two decimal places.",
                              field_path=f"{field_path}/value", value=value)
    if amount <= 0:
        raise invalid_request("INVALID_PARAMETER_VALUE", "The amount must be greater than zero.",
                              field_path=f"{field_path}/value", value=value)
    return currency, amount


def format_value(amount: Decimal, currency: str) -> str:
    """An amount as PayPal writes it: "10.00", or "1000" for JPY, HUF and TWD."""
    places = 0 if currency in NO_DECIMALS else 2
    return f"{amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):.{places}f}"


def fee_for(amount: Decimal, currency: str) -> Decimal:
    places = 0 if currency in NO_DECIMALS else 2
    return Decimal(round_minor(amount.scaleb(places) * FEE_RATE)).scaleb(-places)


def signed_string(*, transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    """What PayPal signs (SHA256withRSA) for a webhook: `id|time|webhook id|CRC32 of the body (unsigned)`."""
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}".encode()


def retry_delay_s(*, attempts: int, base_s: int = 30) -> int:
    """Backoff between webhook delivery attempts: 30 s, 60 s, 120 s, ... after the 1st, 2nd, 3rd failure."""
    assert attempts >= 1
    return base_s * 2 ** (attempts - 1)
