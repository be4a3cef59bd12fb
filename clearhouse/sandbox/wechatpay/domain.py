"""Rules of the WeChat Pay simulator that need no database: keys, the platform certificate, signatures,
AES-GCM resources, trade states and the callback retry schedule.

These are the simulator's side of the wire protocol (WeChat Pay API v3),
written independently of Clearhouse's adapter: requests are verified here
with the merchant's public key, answers and callbacks are signed with the
platform's private key, callback resources and downloaded certificates are
sealed with the merchant's APIv3 key. Nothing here imports Django.
"""

from __future__ import annotations

import base64
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048"
SIGNATURE_TOLERANCE_S = 300
# WeChat Pay's documented retry schedule for callbacks not acknowledged with 2xx (15 s ... 6 h, about 24 h).
RETRY_DELAYS_S = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)


class TradeState(StrEnum):
    NOTPAY = "NOTPAY"
    USERPAYING = "USERPAYING"
    SUCCESS = "SUCCESS"
    REFUND = "REFUND"
    CLOSED = "CLOSED"
    REVOKED = "REVOKED"
    PAYERROR = "PAYERROR"


class RefundState(StrEnum):
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    CLOSED = "CLOSED"
    ABNORMAL = "ABNORMAL"


class WeChatPayError(Exception):
    """An error answer: HTTP status and WeChat's `{"code": ..., "message": ...}` body."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


# --- keys and the platform certificate ------------------------------------------------------------------
def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def self_signed_certificate(key: rsa.RSAPrivateKey, *, common_name: str, now: datetime,
                            days: int = 1825) -> x509.Certificate:
    """A certificate like WeChat Pay's platform (or a merchant's API) certificate: the serial is its id."""
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Clearhouse WeChat Pay simulator"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=days))
            .sign(key, hashes.SHA256()))


def certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def serial_hex(certificate: x509.Certificate) -> str:
    """A certificate serial as WeChat Pay writes it: upper-case hex, no leading zeros."""
    return format(certificate.serial_number, "X")


def new_apiv3_key() -> str:
    """32 ASCII letters and digits, like the key a merchant sets in WeChat Pay's merchant platform."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


def new_nonce(length: int = 32) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


# --- signatures -------------------------------------------------------------------------------------------
def rsa_sign(private_key_pem: str, message: str) -> str:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(public_key_pem: str, message: str, signature_b64: str) -> bool:
    key = serialization.load_pem_public_key(public_key_pem.encode())
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), message.encode(), padding.PKCS1v15(),
                   hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Authorization:
    """The parsed `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",…` header."""

    mchid: str
    nonce_str: str
    signature: str
    timestamp: str
    serial_no: str


def parse_authorization(header: str) -> Authorization:
    scheme, _, rest = header.strip().partition(" ")
    if scheme != AUTH_SCHEME:
        raise WeChatPayError(401, "SIGN_ERROR", f"Authorization 须使用 {AUTH_SCHEME} 认证类型")
    fields = {}
    for part in rest.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields[key] = value.strip().strip('"')
    try:
        return Authorization(fields["mchid"], fields["nonce_str"], fields["signature"], fields["timestamp"],
                             fields["serial_no"])
    except KeyError as missing:
        raise WeChatPayError(401, "SIGN_ERROR", f"Authorization 缺少 {missing.args[0]}") from None


def request_message(method: str, path_with_query: str, timestamp: str, nonce: str, body: str) -> str:
    return f"{method}\n{path_with_query}\n{timestamp}\n{nonce}\n{body}\n"


def response_message(timestamp: str, nonce: str, body: str) -> str:
    return f"{timestamp}\n{nonce}\n{body}\n"


def check_request_signature(auth: Authorization, *, merchant_public_key_pem: str, merchant_serial: str,
                            method: str, path_with_query: str, body: str, now: float) -> None:
    """Raise WeChatPayError 401 SIGN_ERROR unless the merchant signed exactly this request, lately."""
    if auth.serial_no.upper() != merchant_serial.upper():
        raise WeChatPayError(401, "SIGN_ERROR", "商户证书序列号有误")
    if not auth.timestamp.isdigit() or abs(now - int(auth.timestamp)) > SIGNATURE_TOLERANCE_S:
        raise WeChatPayError(401, "SIGN_ERROR", "请求的时间戳已过期")
    message = request_message(method, path_with_query, auth.timestamp, auth.nonce_str, body)
    if not rsa_verify(merchant_public_key_pem, message, auth.signature):
        raise WeChatPayError(401, "SIGN_ERROR", "签名错误")


def signed_headers(*, platform_private_key_pem: str, platform_serial: str, body: str, timestamp: int) -> dict:
    """The `Wechatpay-*` headers on every answer and callback."""
    nonce = new_nonce()
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Serial": platform_serial,
        "Wechatpay-Signature": rsa_sign(platform_private_key_pem, response_message(str(timestamp), nonce, body)),
        "Wechatpay-Signature-Type": AUTH_SCHEME,
    }


# --- AES-256-GCM resources -----------------------------------------------------------------------------------
def seal(plaintext: str, *, apiv3_key: str, associated_data: str) -> dict:
    """`{algorithm, ciphertext, nonce, associated_data}` as in callbacks and /v3/certificates."""
    nonce = new_nonce(12)
    sealed = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext.encode(), associated_data.encode())
    return {"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.b64encode(sealed).decode(), "nonce": nonce,
            "associated_data": associated_data}


# --- amounts and times -----------------------------------------------------------------------------------------
def rfc3339_cst(moment: datetime) -> str:
    """WeChat Pay's time format, in China Standard Time: 2024-01-02T15:04:05+08:00."""
    return moment.astimezone(timezone(timedelta(hours=8))).replace(microsecond=0).isoformat()


def retry_delay_s(*, attempts: int) -> int:
    """Delay before the next callback attempt after `attempts` unacknowledged ones."""
    return RETRY_DELAYS_S[min(max(attempts, 1), len(RETRY_DELAYS_S)) - 1]


def new_transaction_id(now: datetime) -> str:
    return "4200" + now.astimezone(UTC).strftime("%Y%m%d") + "".join(secrets.choice(string.digits)
                                                                    for _ in range(18))


def new_refund_id() -> str:
    return "5030" + "".join(secrets.choice(string.digits) for _ in range(25))


def new_code_url() -> str:
    return "weixin://wxpay/bizpayurl?pr=" + "".join(secrets.choice(string.ascii_letters + string.digits)
                                                      for _ in range(7))
