"""Rules of the Alipay simulator that need no database: signatures, ids, amounts, errors, retry schedule.

The simulator plays Alipay: it verifies requests with the app's public key (RSA2 over the sorted
`k=v&...` string, `sign` left out) and signs its answers and notifications with its own private key
(notifications and sync returns leave out `sign` and `sign_type`). This is written separately from
Clearhouse's adapter, so a mistake on one side is not mirrored on the other; the official SDK checks
both in the tests.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

BEIJING = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_AMOUNT = Decimal("100000000.00")
# Alipay retries an unacknowledged notify 8 times within about 25 hours: 4m, 10m, 10m, 1h, 2h, 6h, 15h.
RETRY_SCHEDULE_S = (4 * 60, 10 * 60, 10 * 60, 3600, 2 * 3600, 6 * 3600, 15 * 3600)
MAX_ATTEMPTS = len(RETRY_SCHEDULE_S) + 1


class TradeStatus:
    WAIT_BUYER_PAY = "WAIT_BUYER_PAY"
    TRADE_SUCCESS = "TRADE_SUCCESS"
    TRADE_FINISHED = "TRADE_FINISHED"
    TRADE_CLOSED = "TRADE_CLOSED"
    CHOICES = [(s, s) for s in (WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_FINISHED, TRADE_CLOSED)]


class AlipayError(Exception):
    """An answer with a non-10000 code, as Alipay writes it: code, msg, sub_code, sub_msg."""

    MSGS = {"20000": "Service Currently Unavailable", "40001": "Missing Required Arguments",
            "40002": "Invalid Arguments", "40004": "Business Failed", "40006": "Insufficient Permissions"}

    def __init__(self, code: str, sub_code: str, sub_msg: str, *, signed: bool = True):
        super().__init__(f"{code} {sub_code}: {sub_msg}")
        self.code, self.sub_code, self.sub_msg = code, sub_code, sub_msg
        self.signed = signed  # errors about the caller's credentials cannot be signed for it

    def as_dict(self) -> dict:
        return {"code": self.code, "msg": self.MSGS.get(self.code, "Business Failed"),
                "sub_code": self.sub_code, "sub_msg": self.sub_msg}


def business_error(sub_code: str, sub_msg: str) -> AlipayError:
    return AlipayError("40004", sub_code, sub_msg)


def invalid_argument(sub_code: str, sub_msg: str, *, signed: bool = False) -> AlipayError:
    return AlipayError("40002", sub_code, sub_msg, signed=signed)


# --- keys and signatures -----------------------------------------------------------------------
def new_key_pair() -> tuple[str, str]:
    """A fresh RSA-2048 key pair as (PKCS#8 private PEM, SubjectPublicKeyInfo public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def public_pem_of(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def unsigned_string(params: dict[str, str], *, leave_out: tuple[str, ...]) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k not in leave_out and v not in (None, ""))
    return "&".join(f"{k}={v}" for k, v in pairs)


@lru_cache(maxsize=32)
def _private_key(private_pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@lru_cache(maxsize=32)
def _public_key(public_pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def sign(private_pem: str, text: str) -> str:
    key = _private_key(private_pem)
    return base64.b64encode(key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(public_pem: str, text: str, signature: str) -> bool:
    key = _public_key(public_pem)
    try:
        key.verify(base64.b64decode(signature, validate=True), text.encode("utf-8"), padding.PKCS1v15(),
                   hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def sign_params(private_pem: str, params: dict[str, str]) -> dict[str, str]:
    """Notification / sync-return params with `sign` added (over everything but sign and sign_type)."""
    signed = dict(params)
    signed["sign"] = sign(private_pem, unsigned_string(params, leave_out=("sign", "sign_type")))
    return signed


def response_body(private_pem: str | None, response_key: str, content: dict) -> str:
    """The exact answer text: the response object's compact JSON, signed as emitted."""
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    if private_pem is None:
        return f'{{"{response_key}":{text}}}'
    return f'{{"{response_key}":{text},"sign":"{sign(private_pem, text)}"}}'


# --- ids, times, amounts -----------------------------------------------------------------------
def new_trade_no(now: datetime) -> str:
    """Alipay's 28-digit trade number: date, channel 22001, random digits."""
    return now.astimezone(BEIJING).strftime("%Y%m%d") + "22001" + "".join(secrets.choice("0123456789")
                                                                        for _ in range(15))


def new_digits(length: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


def new_token() -> str:
    return secrets.token_urlsafe(18)


def beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime(TIME_FORMAT)


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BEIJING)


def parse_amount(text: object, field: str) -> Decimal:
    """A yuan amount as Alipay takes it: positive, at most two decimals, at most 100,000,000.00."""
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError):
        raise invalid_argument("isv.invalid-parameter", f"参数 {field} 格式错误", signed=True) from None
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")):
        raise invalid_argument("isv.invalid-parameter", f"参数 {field} 格式错误", signed=True)
    if value > MAX_AMOUNT:
        raise business_error("ACQ.TOTAL_FEE_EXCEED", "订单金额超过限额")
    return value.quantize(Decimal("0.01"))


def yuan_text(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):.2f}"


def retry_delay_s(*, attempts: int) -> int:
    """Seconds until the next try after `attempts` failed ones (Alipay's schedule)."""
    assert attempts >= 1
    return RETRY_SCHEDULE_S[min(attempts, len(RETRY_SCHEDULE_S)) - 1]
