"""Adapter for WeChat Pay API v3, Native pay (a QR code the customer scans with WeChat): a thin client on
httpx + cryptography.

Wire protocol (https://pay.weixin.qq.com/doc/v3/merchant/), base URL from the account's `api_base`:
- every request is signed: `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",
  signature="…",timestamp="…",serial_no="…"`, the signature SHA256withRSA (PKCS#1 v1.5, base64) with the
  merchant's API private key over `METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n` (the path as sent;
  BODY empty for GET);
- every successful answer, and every callback, is verified: SHA256withRSA over `TIMESTAMP\\nNONCE\\nBODY\\n`
  from the `Wechatpay-Timestamp/-Nonce/-Signature` headers, with the platform certificate (or platform
  public key) whose serial is `Wechatpay-Serial`; a timestamp more than 5 minutes off is refused;
- callbacks carry their object sealed with AEAD_AES_256_GCM under the merchant's APIv3 key.

Endpoints: `POST /v3/pay/transactions/native` (-> code_url), `GET /v3/pay/transactions/out-trade-no/{otn}
?mchid=`, `POST …/out-trade-no/{otn}/close` (204), `POST /v3/refund/domestic/refunds`,
`GET /v3/refund/domestic/refunds/{out_refund_no}`, `GET /v3/certificates`.

Our references are WeChat Pay's idempotency keys: out_trade_no is the intent's reference (and this
adapter's provider_reference), out_refund_no the refund's. WeChat Pay has no idempotency header; the same
out_trade_no / out_refund_no with the same request gets the same answer, so a retry cannot pay or refund
twice. Amounts are integer fen, CNY only. Capture is automatic (no separate capture call).

Account (`ProviderAccount`): settings {"mchid", "appid", "cert_serial_no" (merchant API certificate
serial), "api_base", optional "scan_url" (a simulator's scan page), optional "platform_public_key_id"};
secrets {"private_key" (PEM), "apiv3_key" (32 characters), optional "platform_certificate" (PEM, or a
list), optional "platform_public_key" (PEM, with platform_public_key_id)}. Without a platform certificate
or public key the adapter downloads the certificates from /v3/certificates (decrypted with the APIv3 key).

Errors: a timeout, a connection error, a 5xx, SYSTEMERROR / BANKERROR / FREQUENCY_LIMITED are
`ProviderUnavailable`; NOTENOUGH / USER_ACCOUNT_ABNORMAL on a payment are `PaymentDeclined`; any other
4xx is `ProviderRejected(error_code=<code in lower case>)`. An answer whose signature does not verify is
`ProviderUnavailable(error_code="response_signature_invalid")` (the outcome is unknown: query later).
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from clearhouse.core.money import Money, currency_exponent
from clearhouse.payments.providers.base import (
    CreatePayment,
    NotSupported,
    PaymentDeclined,
    ProviderPayment,
    ProviderRefund,
    ProviderRejected,
    ProviderStatus,
    ProviderUnavailable,
    RefundStatus,
    WebhookAck,
    WebhookEvent,
    WebhookRejected,
)
from clearhouse.payments.providers.http import provider_client, provider_request

API_BASE = "https://api.mch.weixin.qq.com"
AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048"
SIGNATURE_TOLERANCE_S = 300
CERTIFICATES_CACHE_S = 12 * 3600
CURRENCY = "CNY"
USER_AGENT = "Clearhouse/1.0 (WeChat Pay API v3 client; httpx)"

TRADE_STATES = {
    "NOTPAY": ProviderStatus.REQUIRES_PAYMENT,  # waiting for the scan
    "USERPAYING": ProviderStatus.PROCESSING,
    "SUCCESS": ProviderStatus.CAPTURED,
    "REFUND": ProviderStatus.CAPTURED,  # paid, then (partly) refunded: the payment itself stays captured
    "CLOSED": ProviderStatus.CANCELLED,
    "REVOKED": ProviderStatus.CANCELLED,
    "PAYERROR": ProviderStatus.FAILED,
}
REFUND_STATES = {
    "SUCCESS": RefundStatus.SUCCEEDED,
    "PROCESSING": RefundStatus.PENDING,
    "ABNORMAL": RefundStatus.PENDING,  # stuck at the bank: stays pending, so the janitor puts it on finance's list
    "CLOSED": RefundStatus.FAILED,
}
TRANSIENT_CODES = frozenset({"SYSTEMERROR", "SYSTEM_ERROR", "BANKERROR", "FREQUENCY_LIMITED"})
DECLINE_CODES = {"NOTENOUGH": "insufficient_funds", "USER_ACCOUNT_ABNORMAL": "account_abnormal"}


class CurrencyNotSupported(NotSupported):
    code = "currency_not_supported"
    default_message = "WeChat Pay (mainland merchants) takes payments in CNY only."

    @property
    def error_code(self) -> str:
        return self.code


class SignatureInvalid(Exception):
    """A WeChat Pay signature did not verify (the reason is in the message; no secret is)."""


# --- amounts ---------------------------------------------------------------------------------------------------
def fen_from_money(amount: Money) -> int:
    """Integer fen for WeChat Pay. Only CNY (exponent 2: one minor unit is one fen); anything else is refused."""
    if amount.currency != CURRENCY:
        raise CurrencyNotSupported(f"WeChat Pay takes CNY only, not {amount.currency}.", param="currency")
    assert currency_exponent(CURRENCY) == 2, "a fen is a hundredth of a yuan"
    return amount.minor


def money_from_fen(fen: object, currency: str = CURRENCY) -> Money:
    if currency != CURRENCY:
        raise CurrencyNotSupported(f"WeChat Pay answered in {currency}, not CNY.", param="currency")
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise ValueError("WeChat Pay amounts are integers (fen)")
    return Money(fen, CURRENCY)


# --- signatures and sealed resources ----------------------------------------------------------------------------
def new_nonce(length: int = 32) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def request_signature(private_key: RSAPrivateKey, *, method: str, path_with_query: str, timestamp: str,
                      nonce: str, body: str) -> str:
    message = f"{method}\n{path_with_query}\n{timestamp}\n{nonce}\n{body}\n"
    return base64.b64encode(private_key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def authorization_header(private_key: RSAPrivateKey, *, mchid: str, serial_no: str, method: str,
                         path_with_query: str, body: str, timestamp: int, nonce: str) -> str:
    signature = request_signature(private_key, method=method, path_with_query=path_with_query,
                                  timestamp=str(timestamp), nonce=nonce, body=body)
    return (f'{AUTH_SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{serial_no}"')


def header(headers: Mapping[str, str], name: str) -> str:
    """Header lookup that ignores case (Django's and httpx's headers do; a plain dict does not)."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def verify_signed_message(*, body: bytes, headers: Mapping[str, str], platform_keys: Mapping[str, RSAPublicKey],
                          now: float, tolerance_s: int = SIGNATURE_TOLERANCE_S) -> str:
    """Check the `Wechatpay-*` signature of an answer or a callback at time `now`; returns the serial used.

    `platform_keys` maps serials (certificate serials in upper-case hex, or a PUB_KEY_ID_…) to public keys.
    Raises SignatureInvalid when a header is missing, the serial is unknown, the timestamp is more than
    `tolerance_s` away from `now`, or the signature is not the platform's over `ts\\nnonce\\nbody\\n`.
    """
    timestamp, nonce = header(headers, "Wechatpay-Timestamp"), header(headers, "Wechatpay-Nonce")
    signature, serial = header(headers, "Wechatpay-Signature"), header(headers, "Wechatpay-Serial")
    kind = header(headers, "Wechatpay-Signature-Type")
    if not (timestamp and nonce and signature and serial):
        raise SignatureInvalid("missing Wechatpay-Timestamp/-Nonce/-Signature/-Serial header")
    if kind and kind != AUTH_SCHEME:
        raise SignatureInvalid(f"unsupported signature type {kind[:40]!r}")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_s:
        raise SignatureInvalid("timestamp outside the accepted window")
    key = _key_for_serial(platform_keys, serial)
    if key is None:
        raise SignatureInvalid(f"unknown platform serial {serial[:64]!r}")
    try:
        key.verify(base64.b64decode(signature, validate=True),
                   timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n",
                   padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        raise SignatureInvalid("signature does not verify") from None
    return serial


def _key_for_serial(keys: Mapping[str, RSAPublicKey], serial: str) -> RSAPublicKey | None:
    if serial in keys:
        return keys[serial]
    normalised = serial.upper().lstrip("0")
    return next((key for name, key in keys.items() if name.upper().lstrip("0") == normalised), None)


def decrypt_resource(resource: Mapping, apiv3_key: bytes) -> bytes:
    """Open an AEAD_AES_256_GCM resource (callback or certificate): the ciphertext ends with its 16-byte tag.
    Raises SignatureInvalid when it was not sealed with this key, or was altered."""
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise SignatureInvalid(f"unsupported algorithm {str(resource.get('algorithm'))[:40]!r}")
    try:
        return AESGCM(apiv3_key).decrypt(str(resource["nonce"]).encode(),
                                         base64.b64decode(str(resource["ciphertext"]), validate=True),
                                         str(resource.get("associated_data") or "").encode())
    except (InvalidTag, KeyError, ValueError):
        raise SignatureInvalid("the resource does not decrypt with the APIv3 key") from None


def certificate_keys(pems: list[str]) -> dict[str, RSAPublicKey]:
    """Platform certificates (PEM) by serial as WeChat Pay writes it (upper-case hex)."""
    keys = {}
    for pem in pems:
        certificate = x509.load_pem_x509_certificate(pem.encode())
        keys[format(certificate.serial_number, "X")] = certificate.public_key()
    return keys


# --- answers in our words -------------------------------------------------------------------------------------------
def payment_from_json(obj: Mapping, *, action_url: str = "") -> ProviderPayment:
    """A WeChat Pay transaction (query answer or TRANSACTION.* resource) as a ProviderPayment."""
    state = obj["trade_state"]
    status = TRADE_STATES[state]
    amount = obj["amount"]
    total = money_from_fen(amount["total"], amount.get("currency") or CURRENCY)
    failed = status == ProviderStatus.FAILED
    return ProviderPayment(
        provider_reference=obj["out_trade_no"], status=status, amount=total,
        amount_captured_minor=total.minor if status == ProviderStatus.CAPTURED else 0,
        action_url=action_url if status == ProviderStatus.REQUIRES_PAYMENT else "",
        failure_code="payment_failed" if failed else "",
        failure_message=(obj.get("trade_state_desc") or "")[:300] if failed else "",
        transaction_reference=obj.get("transaction_id") or "",
    )


def refund_from_json(obj: Mapping) -> ProviderRefund:
    """A refund (refund API answer, or REFUND.* resource, which says `refund_status` and omits currency)."""
    state = obj.get("status") or obj.get("refund_status")
    amount = obj["amount"]
    return ProviderRefund(
        provider_reference=obj["out_refund_no"], status=REFUND_STATES.get(state, RefundStatus.PENDING),
        amount=money_from_fen(amount["refund"], amount.get("currency") or CURRENCY),
        payment_reference=obj.get("out_trade_no") or "",
        failure_code="refund_closed" if state == "CLOSED" else "",
    )


def raise_for_error(response: httpx.Response, *, payment: bool) -> None:
    """Map a WeChat Pay error answer (`{"code", "message"}`) onto our error tree."""
    if response.status_code < 400:
        return
    try:
        error = response.json()
        error = error if isinstance(error, dict) else {}
    except ValueError:
        error = {}
    code = str(error.get("code") or f"HTTP_{response.status_code}")
    message = str(error.get("message") or "")[:300] or None
    if response.status_code >= 500 or code in TRANSIENT_CODES:
        raise ProviderUnavailable(message, error_code=code.lower())
    if payment and code in DECLINE_CODES:
        raise PaymentDeclined(message, decline_code=DECLINE_CODES[code])
    raise ProviderRejected(message, error_code=code.lower())


# --- the adapter ------------------------------------------------------------------------------------------------------
_downloaded: dict[tuple[str, str], tuple[float, dict[str, RSAPublicKey]]] = {}  # (api_base, mchid) -> certificates


class WeChatPayProvider:
    """Clearhouse's client for one WeChat Pay merchant account (Native pay)."""

    name = "wechatpay"
    offline = False

    def __init__(self, *, mchid: str, appid: str, cert_serial_no: str, private_key_pem: str, apiv3_key: str,
                 api_base: str = API_BASE, platform_certificates: list[str] | None = None,
                 platform_public_key_pem: str = "", platform_public_key_id: str = "", scan_url: str = "",
                 timeout_s: float | None = None, clock: Callable[[], float] = time.time):
        if len(apiv3_key.encode()) not in (16, 24, 32):  # WeChat Pay's are 32; AES-GCM accepts these lengths
            raise ValueError("the APIv3 key must be 32 characters")
        self.mchid, self.appid, self.cert_serial_no = mchid, appid, cert_serial_no
        self._private_key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        self._apiv3_key = apiv3_key.encode()
        self.api_base = api_base.rstrip("/")
        self.scan_url = scan_url
        self._configured_keys = certificate_keys(platform_certificates or [])
        if platform_public_key_pem:
            if not platform_public_key_id:
                raise ValueError("a platform public key needs its platform_public_key_id (PUB_KEY_ID_…)")
            self._configured_keys[platform_public_key_id] = serialization.load_pem_public_key(
                platform_public_key_pem.encode())
        self._timeout_s = timeout_s
        self._clock = clock
        self.account_id: int | None = None  # set when built from a ProviderAccount

    @classmethod
    def from_account(cls, account) -> WeChatPayProvider:
        """From a ProviderAccount: settings {mchid, appid, cert_serial_no, api_base, scan_url?,
        platform_public_key_id?}, secrets {private_key, apiv3_key, platform_certificate?, platform_public_key?}."""
        conf, secret = account.settings or {}, json.loads(account.secrets or "{}")
        certificates = secret.get("platform_certificate") or []
        return cls(mchid=conf["mchid"], appid=conf["appid"], cert_serial_no=conf["cert_serial_no"],
                   private_key_pem=secret["private_key"], apiv3_key=secret["apiv3_key"],
                   api_base=conf.get("api_base") or API_BASE,
                   platform_certificates=[certificates] if isinstance(certificates, str) else list(certificates),
                   platform_public_key_pem=secret.get("platform_public_key") or "",
                   platform_public_key_id=conf.get("platform_public_key_id") or "",
                   scan_url=conf.get("scan_url") or "")

    def test_connection(self) -> str:
        """Prove the keys work both ways: a signed query of an order that does not exist must be a clean
        ORDER_NOT_EXIST, and the platform's certificates must be at hand to verify answers."""
        try:
            self.query(provider_reference="CONNTEST0000")
        except ProviderRejected as exc:
            if exc.error_code not in ("order_not_exist", "resource_not_exists"):
                return f"refused: {exc.error_code}"
        except ProviderUnavailable as exc:
            return f"unavailable: {exc.error_code}"
        return "ok" if self._platform_keys() else "no platform certificate"

    # --- HTTP ---------------------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, query: dict | None = None, body: dict | None = None,
              payment: bool = True) -> dict | None:
        url = f"{self.api_base}{path}" + (f"?{urlencode(query)}" if query else "")
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body is not None else ""
        raw_path = httpx.URL(url).raw_path.decode("ascii")
        headers = {
            "Authorization": authorization_header(self._private_key, mchid=self.mchid, serial_no=self.cert_serial_no,
                                                  method=method, path_with_query=raw_path, body=text,
                                                  timestamp=int(self._clock()), nonce=new_nonce()),
            "Accept": "application/json", "Content-Type": "application/json", "User-Agent": USER_AGENT,
        }
        timeout_s = self._timeout_s if self._timeout_s is not None else settings.PAYMENT_PROVIDER_TIMEOUT_S
        with provider_client(self.api_base, timeout_s=timeout_s, headers=headers) as client:
            response = provider_request(client, method, url, content=text.encode() if text else None)
        raise_for_error(response, payment=payment)
        self._verify_answer(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ProviderUnavailable("WeChat Pay sent an unreadable answer.", error_code="invalid_response") from None

    def _verify_answer(self, response: httpx.Response, *, keys: Mapping[str, RSAPublicKey] | None = None) -> None:
        try:
            self._verify(response.content, response.headers, keys=keys)
        except SignatureInvalid as exc:
            raise ProviderUnavailable(f"WeChat Pay's answer failed verification ({exc}).",
                                      error_code="response_signature_invalid") from None

    def _verify(self, body: bytes, headers: Mapping[str, str], *, keys: Mapping[str, RSAPublicKey] | None = None):
        """Verify with the configured or downloaded platform keys; an unknown serial (rotation) refreshes
        the downloaded certificates once."""
        keys = keys if keys is not None else self._platform_keys()
        serial = header(headers, "Wechatpay-Serial")
        if serial and _key_for_serial(keys, serial) is None and not self._configured_keys:
            keys = self._platform_keys(refresh=True)
        return verify_signed_message(body=body, headers=headers, platform_keys=keys, now=self._clock())

    def _platform_keys(self, *, refresh: bool = False) -> Mapping[str, RSAPublicKey]:
        if self._configured_keys:
            return self._configured_keys
        cache_key = (self.api_base, self.mchid)
        cached = _downloaded.get(cache_key)
        if refresh or cached is None or cached[0] < time.monotonic():
            cached = (time.monotonic() + CERTIFICATES_CACHE_S, self._download_certificates())
            _downloaded[cache_key] = cached
        return cached[1]

    def _download_certificates(self) -> dict[str, RSAPublicKey]:
        """GET /v3/certificates: each certificate is sealed with the APIv3 key (which proves who sent it);
        the answer must then verify with one of them. Expired or not-yet-valid ones are left out."""
        url = f"{self.api_base}/v3/certificates"
        headers = {"Authorization": authorization_header(
            self._private_key, mchid=self.mchid, serial_no=self.cert_serial_no, method="GET",
            path_with_query=httpx.URL(url).raw_path.decode("ascii"), body="", timestamp=int(self._clock()),
            nonce=new_nonce()), "Accept": "application/json", "User-Agent": USER_AGENT}
        timeout_s = self._timeout_s if self._timeout_s is not None else settings.PAYMENT_PROVIDER_TIMEOUT_S
        with provider_client(self.api_base, timeout_s=timeout_s, headers=headers) as client:
            response = provider_request(client, "GET", url)
        raise_for_error(response, payment=False)
        now = datetime.fromtimestamp(self._clock(), tz=UTC)
        keys: dict[str, RSAPublicKey] = {}
        try:
            for item in response.json().get("data") or []:
                pem = decrypt_resource(item["encrypt_certificate"], self._apiv3_key).decode()
                certificate = x509.load_pem_x509_certificate(pem.encode())
                if certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
                    keys[format(certificate.serial_number, "X")] = certificate.public_key()
        except (ValueError, KeyError, TypeError, AttributeError, SignatureInvalid) as exc:
            raise ProviderUnavailable("WeChat Pay's certificates could not be read.",
                                      error_code="certificates_unreadable") from exc
        self._verify_answer(response, keys=keys)
        return keys

    # --- payments -------------------------------------------------------------------------------------------------
    def _scan_action(self, *, out_trade_no: str, code_url: str = "", return_url: str = "") -> str:
        """A simulator's "scan and pay" page for this order (only when the account names one: real WeChat
        Pay has none; the customer scans the QR code with the phone)."""
        if not self.scan_url:
            return ""
        params = {"code_url": code_url} if code_url else {"mchid": self.mchid, "out_trade_no": out_trade_no}
        if return_url:
            params["return_url"] = return_url
        return f"{self.scan_url}?{urlencode(params)}"

    def create(self, request: CreatePayment) -> ProviderPayment:
        """A Native order: code_url becomes the QR code. out_trade_no is our intent's reference, so sending
        the same request again (a retry) returns the same code; an order already paid answers ORDERPAID,
        and then we report what the query says."""
        if request.manual_capture:
            raise NotSupported("WeChat Pay Native captures automatically; manual capture is not supported.")
        body = {"appid": self.appid, "mchid": self.mchid, "description": request.description[:127],
                "out_trade_no": request.intent_reference, "notify_url": request.notify_url,
                "amount": {"total": fen_from_money(request.amount), "currency": CURRENCY}}
        try:
            answer = self._call("POST", "/v3/pay/transactions/native", body=body) or {}
        except ProviderRejected as exc:
            if exc.error_code == "orderpaid":
                return self.query(provider_reference=request.intent_reference)
            raise
        code_url = answer.get("code_url")
        if not isinstance(code_url, str) or not code_url:
            raise ProviderUnavailable("WeChat Pay's answer has no code_url.", error_code="invalid_response")
        return ProviderPayment(
            provider_reference=request.intent_reference, status=ProviderStatus.REQUIRES_PAYMENT,
            amount=request.amount, qr_code=code_url,
            action_url=self._scan_action(out_trade_no=request.intent_reference, code_url=code_url,
                                         return_url=request.return_url))

    def confirm(self, *, provider_reference: str, payment_token: str, return_url: str,
                idempotency_key: str) -> ProviderPayment:
        raise NotSupported("WeChat Pay Native is paid by scanning the QR code; there is nothing to confirm.")

    def capture(self, *, provider_reference: str, amount: Money | None, idempotency_key: str) -> ProviderPayment:
        raise NotSupported("WeChat Pay Native captures automatically; there is no separate capture.")

    def cancel(self, *, provider_reference: str, idempotency_key: str) -> ProviderPayment:
        """Close the unpaid order (204), then report it. A paid order cannot be closed: ProviderRejected
        error_code="orderpaid"."""
        self._call("POST", f"/v3/pay/transactions/out-trade-no/{provider_reference}/close",
                   body={"mchid": self.mchid})
        return self.query(provider_reference=provider_reference)

    def query(self, *, provider_reference: str) -> ProviderPayment:
        obj = self._call("GET", f"/v3/pay/transactions/out-trade-no/{provider_reference}",
                         query={"mchid": self.mchid}) or {}
        self._check_identity(obj, appid=True, error=ProviderRejected)
        try:
            return payment_from_json(obj, action_url=self._scan_action(out_trade_no=provider_reference))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderUnavailable("WeChat Pay's answer could not be understood.",
                                      error_code="invalid_response") from exc

    def _check_identity(self, obj: Mapping, *, appid: bool, error: type[Exception]) -> None:
        """The answer or callback must be about this account (mchid, and appid where the object has one)."""
        if obj.get("mchid", self.mchid) != self.mchid or (appid and obj.get("appid", self.appid) != self.appid):
            raise error("WeChat Pay's message is about another merchant or app.")

    # --- refunds ----------------------------------------------------------------------------------------------------
    def refund(self, *, provider_reference: str, amount: Money, refund_reference: str,
               idempotency_key: str) -> ProviderRefund:
        """Refund part or all; WeChat Pay needs the order's total too, so we ask for it first.
        out_refund_no is our refund's reference: a retry returns the same refund."""
        fen = fen_from_money(amount)
        payment = self.query(provider_reference=provider_reference)
        obj = self._call("POST", "/v3/refund/domestic/refunds", payment=False, body={
            "out_trade_no": provider_reference, "out_refund_no": refund_reference, "reason": "Clearhouse refund",
            "notify_url": self._notify_url_for_refunds(),
            "amount": {"refund": fen, "total": fen_from_money(payment.amount), "currency": CURRENCY},
        }) or {}
        return self._refund(obj)

    def _notify_url_for_refunds(self) -> str:
        """Where REFUND.* callbacks go: the same per-account webhook URL the core gives payments
        (`services.intents.notify_url`), which the refund interface does not pass to adapters."""
        suffix = f"{self.account_id}/" if self.account_id else ""
        return f"{settings.CLEARHOUSE_PUBLIC_URL}/webhooks/{self.name}/{suffix}"

    def query_refund(self, *, provider_refund_reference: str) -> ProviderRefund:
        return self._refund(self._call("GET", f"/v3/refund/domestic/refunds/{provider_refund_reference}",
                                       payment=False) or {})

    def _refund(self, obj: Mapping) -> ProviderRefund:
        try:
            return refund_from_json(obj)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderUnavailable("WeChat Pay's refund answer could not be understood.",
                                      error_code="invalid_response") from exc

    # --- callbacks ------------------------------------------------------------------------------------------------
    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify the `Wechatpay-*` signature (5-minute window), open the AES-GCM resource with the APIv3 key,
        check it is about this merchant and app, and translate TRANSACTION.* and REFUND.* events."""
        try:
            self._verify(body, headers)
            envelope = json.loads(body)
            if envelope.get("resource_type") != "encrypt-resource":
                raise SignatureInvalid("resource_type is not encrypt-resource")
            resource = json.loads(decrypt_resource(envelope["resource"], self._apiv3_key))
        except SignatureInvalid as exc:
            raise WebhookRejected(f"The WeChat Pay callback failed verification: {exc}.") from None
        except ProviderUnavailable as exc:  # the certificates could not be fetched to verify it
            raise WebhookRejected(f"The WeChat Pay callback could not be verified now: {exc.error_code}.") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise WebhookRejected("The WeChat Pay callback could not be understood.") from exc
        return self._event(envelope, resource)

    def _event(self, envelope: Mapping, resource: Mapping) -> WebhookEvent:
        event_type = str(envelope.get("event_type") or "")
        payment = refund = None
        try:
            if event_type.startswith("TRANSACTION."):
                self._check_identity(resource, appid=True, error=WebhookRejected)
                payment = payment_from_json(resource)
            elif event_type.startswith("REFUND."):
                self._check_identity(resource, appid=False, error=WebhookRejected)
                refund = refund_from_json(resource)
            occurred_at = datetime.fromisoformat(str(envelope["create_time"]))
        except (KeyError, TypeError, ValueError, NotSupported) as exc:
            raise WebhookRejected("The WeChat Pay callback's resource could not be understood.") from exc
        raw = {key: envelope.get(key) for key in ("id", "create_time", "event_type", "summary", "resource_type")}
        return WebhookEvent(event_id=str(envelope["id"]), type=event_type, occurred_at=occurred_at,
                            payment=payment, refund=refund, raw={**raw, "resource": dict(resource)})

    def webhook_ack(self) -> WebhookAck:
        """WeChat Pay takes HTTP 200 or 204 with no body as "received"."""
        return WebhookAck(status=204, body=b"", content_type="application/json")

    @staticmethod
    def webhook_refusal(message: str, *, status: int = 400) -> WebhookAck:
        """What WeChat Pay expects when we refuse a callback: 4xx/5xx with {"code": "FAIL", "message": …}
        (it retries). For the generic webhook view to use (see the module docstring's note)."""
        body = json.dumps({"code": "FAIL", "message": message[:200]}, ensure_ascii=False).encode()
        return WebhookAck(status=status if status >= 400 else 400, body=body, content_type="application/json")
