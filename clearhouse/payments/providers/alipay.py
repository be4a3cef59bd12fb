"""Adapter for Alipay's Open Platform (RSA2), spoken over HTTP to `account.settings["api_base"]`.

Wire protocol (the gateway, e.g. https://openapi.alipay.com/gateway.do, or the local simulator's
/sandbox/alipay/gateway.do):

- Every request is one set of form parameters: the common ones (app_id, method, format=JSON,
  charset=utf-8, sign_type=RSA2, timestamp "yyyy-MM-dd HH:mm:ss" Beijing time, version=1.0,
  notify_url, return_url) and `biz_content`, the method's own fields as compact JSON.
- Request signature: drop `sign` and empty values, sort by key, join `k=v` with `&` using raw values,
  SHA256withRSA (PKCS#1 v1.5) with the app's private key, base64 (`sign_type` stays in the string).
- A sync answer is `{"<method_with_underscores>_response": {..., "code": "10000"}, "sign": "..."}`;
  the signature covers the exact raw text of the response object, sliced out of the body.
- An async notify is a form POST signed like a request but with `sign` and `sign_type` both left
  out; we answer the plain text `success` (anything else makes Alipay retry for about 25 hours).

Flows: page pay (`alipay.trade.page.pay`, the default: no server call, the customer's browser goes
to the gateway with the signed query and Alipay's cashier takes over) or QR (`alipay.trade.precreate`,
settings["flow"] = "qr": the customer scans `qr_code`). Idempotency is Alipay's own: `out_trade_no`
(our intent reference) names the trade, `out_request_no` (our refund reference) names a refund;
re-sending either does nothing twice. Amounts are yuan strings with two decimals; only CNY.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
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

logger = logging.getLogger(__name__)

BEIJING = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SUCCESS_CODE = "10000"
CURRENCY = "CNY"
# Alipay sends no signed timestamp header; a notify whose notify_time is older than this is refused as
# a replay (Alipay's own retries stop after about 25 hours, and each carries a fresh notify_time).
NOTIFY_MAX_AGE_S = 24 * 3600
NOTIFY_MAX_FUTURE_S = 300
# A trade not paid within this is closed by Alipay (`time_expire`): a page-pay link cannot be paid after
# Clearhouse gave up on it (a trade the buyer never opened does not exist yet, so a close cannot reach it).
PAY_WITHIN_S = 30 * 60

TRADE_STATUSES = {
    "WAIT_BUYER_PAY": ProviderStatus.REQUIRES_PAYMENT,
    "TRADE_SUCCESS": ProviderStatus.CAPTURED,  # paid, refundable
    "TRADE_FINISHED": ProviderStatus.CAPTURED,  # paid, no longer refundable
    "TRADE_CLOSED": ProviderStatus.CANCELLED,  # closed unpaid (or paid and fully refunded: see _payment)
}
PAID = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})
# Business errors (code 40004) by sub_code. Transient ones are retried with the same out_trade_no /
# out_request_no; declines are the buyer's account; everything else is a request Alipay refused.
TRANSIENT_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR", "isp.unknow-error",
                                 "ACQ.TRADE_SETTLE_ERROR"})
DECLINE_SUB_CODES = frozenset({"ACQ.BUYER_BALANCE_NOT_ENOUGH", "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH",
                               "ACQ.PAYMENT_FAIL", "ACQ.BUYER_ENABLE_STATUS_FORBID",
                               "ACQ.ERROR_BALANCE_PAYMENT_DISABLE", "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR",
                               "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR"})
MESSAGES = {
    "ACQ.TRADE_HAS_SUCCESS": "Alipay says this order has already been paid.",
    "ACQ.TOTAL_FEE_EXCEED": "The amount exceeds what Alipay accepts for this payment.",
    "ACQ.TRADE_HAS_CLOSE": "The Alipay payment was closed; please start the payment again.",
    "ACQ.TRADE_STATUS_ERROR": "The Alipay payment is not in a state that allows this.",
    "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL": "The refund amount does not match an earlier refund with this number.",
    "ACQ.REASON_TRADE_REFUND_FEE_ERR": "The refund is more than what is left to refund.",
    "ACQ.SELLER_BALANCE_NOT_ENOUGH": "The merchant's Alipay balance is too low for this refund.",
    "ACQ.CONTEXT_INCONSISTENT": "Alipay already knows this order with other details.",
    "isv.invalid-signature": "Alipay refused our signature: check the app private key.",
    "isv.invalid-app-id": "Alipay does not know this app id.",
}


# --- amounts -------------------------------------------------------------------------------------
def decimal_string(amount: Money) -> str:
    """`amount` in major units with exactly its currency's decimals: CNY 12345 -> "123.45", JPY 100 ->
    "100", KWD 1234 -> "1.234". Exact (Decimal scaling), never a float."""
    exponent = currency_exponent(amount.currency)
    value = Decimal(amount.minor).scaleb(-exponent)
    return f"{value:.{exponent}f}"


def yuan(amount: Money) -> str:
    """The amount as Alipay writes it: yuan with two decimals. These APIs take CNY only."""
    if amount.currency != CURRENCY:
        raise ProviderRejected(f"Alipay accepts CNY only here, not {amount.currency}.",
                               error_code="currency_not_supported")
    return decimal_string(amount)


def money_from_yuan(text: str) -> Money:
    """Alipay's "123.45" as Money (exact; more than two decimals is an error, never rounded)."""
    return Money.parse(str(text), CURRENCY)


# --- signatures ----------------------------------------------------------------------------------
def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """A PEM key, or the bare base64 DER (PKCS#8 or PKCS#1) that Alipay's key tool prints."""
    text = text.strip()
    data = text.encode() if text.startswith("-----") else base64.b64decode("".join(text.split()))
    loader = serialization.load_pem_private_key if text.startswith("-----") else serialization.load_der_private_key
    key = loader(data, password=None)
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise ValueError("RSA2 needs an RSA private key of at least 2048 bits")
    return key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """A PEM public key, or the bare base64 DER (X.509 SubjectPublicKeyInfo) Alipay's console shows."""
    text = text.strip()
    if text.startswith("-----"):
        key = serialization.load_pem_public_key(text.encode())
    else:
        key = serialization.load_der_public_key(base64.b64decode("".join(text.split())))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("RSA2 needs an RSA public key")
    return key


def sign_content(params: Mapping[str, object], *, exclude: tuple[str, ...] = ("sign",)) -> str:
    """The string that is signed: non-empty params except `exclude`, sorted by key, `k=v` joined by `&`,
    raw (not URL-encoded) values; a dict value (biz_content) as compact JSON."""
    items = []
    for key, value in params.items():
        if key in exclude or value is None or value == "":
            continue
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        items.append((key, str(value)))
    return "&".join(f"{k}={v}" for k, v in sorted(items))


def rsa2_sign(private_key: rsa.RSAPrivateKey, content: str) -> str:
    """SHA256withRSA (PKCS#1 v1.5) over the UTF-8 bytes of `content`, base64."""
    return base64.b64encode(private_key.sign(content.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verify(public_key: rsa.RSAPublicKey, content: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
    except (ValueError, TypeError):
        return False
    try:
        public_key.verify(raw, content.encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def verify_notification(params: Mapping[str, str], public_key: rsa.RSAPublicKey) -> bool:
    """An async notify's (or a sync return's) signature: over every param except `sign` and `sign_type`."""
    signature = params.get("sign") or ""
    return bool(signature) and rsa2_verify(public_key, sign_content(params, exclude=("sign", "sign_type")),
                                           signature)


def response_content(body: str, response_key: str) -> str | None:
    """The exact raw text of `response_key`'s object inside a sync answer (what the signature covers).

    Unlike a brace counter, the JSON decoder finds the object's end even when a value holds a brace."""
    key_at = body.find(f'"{response_key}"')
    if key_at < 0:
        return None
    start = body.find("{", key_at + len(response_key) + 2)
    if start < 0:
        return None
    try:
        _, end = json.JSONDecoder().raw_decode(body, start)
    except ValueError:
        return None
    return body[start:end]


def beijing_now(clock: Callable[[], float] = time.time) -> str:
    return datetime.fromtimestamp(clock(), tz=BEIJING).strftime(TIME_FORMAT)


def beijing_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BEIJING)


# --- errors --------------------------------------------------------------------------------------
def raise_for_business_error(answer: Mapping[str, str]) -> None:
    """Map a non-10000 answer to our error tree (code 20000 and ACQ.SYSTEM_ERROR are transient)."""
    code = str(answer.get("code") or "")
    if code == SUCCESS_CODE:
        return
    sub_code = str(answer.get("sub_code") or "") or f"alipay_{code or 'error'}"
    message = MESSAGES.get(sub_code) or f"Alipay refused the request ({sub_code})."
    if code == "20000" or sub_code in TRANSIENT_SUB_CODES:
        raise ProviderUnavailable("Alipay is temporarily unavailable; try again shortly.", error_code=sub_code)
    if sub_code in DECLINE_SUB_CODES:
        raise PaymentDeclined("Alipay declined the payment from the buyer's account.", decline_code=sub_code)
    raise ProviderRejected(message, error_code=sub_code)


class AlipayProvider:
    """Clearhouse's client for one Alipay app (its app id, the app's private key, Alipay's public key)."""

    name = "alipay"
    offline = False

    def __init__(self, *, app_id: str, app_private_key: str, alipay_public_key: str, api_base: str,
                 seller_id: str = "", flow: str = "page", timeout_s: float | None = None,
                 clock: Callable[[], float] = time.time):
        if flow not in ("page", "qr"):
            raise ValueError(f"Alipay flow must be 'page' or 'qr', not {flow!r}")
        self.app_id, self.seller_id, self.flow = app_id, seller_id, flow
        self.api_base = api_base
        self._private_key = load_private_key(app_private_key)
        self._alipay_public_key = load_public_key(alipay_public_key)
        self._timeout_s = timeout_s
        self._clock = clock
        self.account_id: int | None = None  # set when built from a ProviderAccount

    def __repr__(self) -> str:  # never the keys
        return f"AlipayProvider(app_id={self.app_id!r}, flow={self.flow!r}, api_base={self.api_base!r})"

    @classmethod
    def from_account(cls, account) -> AlipayProvider:
        """From a ProviderAccount: settings {"app_id", "seller_id", "api_base", "flow"},
        secrets {"app_private_key", "alipay_public_key"}."""
        secrets = json.loads(account.secrets or "{}")
        config = account.settings or {}
        return cls(app_id=str(config.get("app_id", "")), seller_id=str(config.get("seller_id", "")),
                   api_base=config.get("api_base") or "https://openapi.alipay.com/gateway.do",
                   flow=config.get("flow") or "page", app_private_key=secrets.get("app_private_key", ""),
                   alipay_public_key=secrets.get("alipay_public_key", ""))

    def test_connection(self) -> str:
        """A signed query for a trade that cannot exist: a signed ACQ.TRADE_NOT_EXIST proves the app id,
        both keys and the address."""
        try:
            self._call("alipay.trade.query", {"out_trade_no": "CLEARHOUSE-CONNECTION-TEST"})
        except ProviderRejected as exc:
            if exc.error_code == "ACQ.TRADE_NOT_EXIST":
                return "ok"
            return f"{exc.error_code}: {exc.message}"
        except ProviderUnavailable as exc:
            return f"{exc.error_code}: {exc.message}"
        return "ok"

    # --- HTTP ------------------------------------------------------------------------------------
    def signed_params(self, method: str, biz_content: Mapping, **extra: str) -> dict[str, str]:
        """The common parameters, `biz_content` and `sign` for one call."""
        params = {"app_id": self.app_id, "method": method, "format": "JSON", "charset": "utf-8",
                  "sign_type": "RSA2", "timestamp": beijing_now(self._clock), "version": "1.0",
                  "biz_content": json.dumps(biz_content, ensure_ascii=False, separators=(",", ":"))}
        params.update({k: v for k, v in extra.items() if v})
        params["sign"] = rsa2_sign(self._private_key, sign_content(params))
        return params

    def _call(self, method: str, biz_content: Mapping, **extra: str) -> dict:
        """POST one signed call; return the verified response object (code 10000) or raise."""
        timeout_s = self._timeout_s if self._timeout_s is not None else settings.PAYMENT_PROVIDER_TIMEOUT_S
        params = self.signed_params(method, biz_content, **extra)
        with provider_client(self.api_base, timeout_s=timeout_s) as client:
            response = provider_request(
                client, "POST", self.api_base, content=urlencode(params).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})
        return self._answer(response, method.replace(".", "_") + "_response")

    def _answer(self, response: httpx.Response, response_key: str) -> dict:
        if response.status_code >= 500:
            raise ProviderUnavailable("Alipay did not answer; try again shortly.",
                                      error_code=f"http_{response.status_code}")
        text = response.content.decode("utf-8", "replace")
        try:
            body = json.loads(text)
            content = response_content(text, response_key) if response_key in body else None
            answer = json.loads(content) if content else body.get("error_response")
        except (ValueError, AttributeError):
            answer = None
        if response.status_code >= 400 or not isinstance(answer, dict):
            raise ProviderUnavailable("Alipay sent an unreadable answer.", error_code="invalid_response")
        signature = body.get("sign") or ""
        if signature and not rsa2_verify(self._alipay_public_key, content or "", signature):
            raise ProviderRejected("Alipay's answer is not signed with the configured Alipay public key.",
                                   error_code="invalid_response_signature")
        if not signature and answer.get("code") == SUCCESS_CODE:
            raise ProviderRejected("Alipay's answer carries no signature.", error_code="invalid_response_signature")
        raise_for_business_error(answer)  # an unsigned error (bad app id, bad signature) is only ever a refusal
        return answer

    # --- payments --------------------------------------------------------------------------------
    def create(self, request: CreatePayment) -> ProviderPayment:
        """Page pay: the customer's browser goes to the gateway with the signed query (no server call).
        QR: precreate the trade and show its qr_code (re-sending the same out_trade_no gives the same code)."""
        if request.manual_capture:
            raise NotSupported("Alipay payments are captured at once; there is no separate capture.")
        biz = {"out_trade_no": request.intent_reference, "total_amount": yuan(request.amount),
               "subject": (request.description or request.intent_reference)[:256],
               "time_expire": beijing_now(lambda: self._clock() + PAY_WITHIN_S)}
        if self.flow == "page":
            biz["product_code"] = "FAST_INSTANT_TRADE_PAY"
            params = self.signed_params("alipay.trade.page.pay", biz, return_url=request.return_url,
                                        notify_url=request.notify_url)
            separator = "&" if "?" in self.api_base else "?"
            return ProviderPayment(provider_reference=request.intent_reference,
                                   status=ProviderStatus.REQUIRES_PAYMENT, amount=request.amount,
                                   action_url=f"{self.api_base}{separator}{urlencode(params)}")
        try:
            answer = self._call("alipay.trade.precreate", biz, notify_url=request.notify_url)
        except ProviderRejected as exc:
            if exc.error_code == "ACQ.TRADE_HAS_SUCCESS":  # a retry after the buyer already paid
                return self.query(provider_reference=request.intent_reference)
            raise
        qr_code = str(answer.get("qr_code") or "")
        return ProviderPayment(provider_reference=str(answer.get("out_trade_no") or request.intent_reference),
                               status=ProviderStatus.REQUIRES_PAYMENT, amount=request.amount,
                               action_url=qr_code, qr_code=qr_code)

    def confirm(self, *, provider_reference: str, payment_token: str, return_url: str,
                idempotency_key: str) -> ProviderPayment:
        raise NotSupported("Alipay payments are completed on Alipay's own pages, not with a token.")

    def capture(self, *, provider_reference: str, amount: Money | None, idempotency_key: str) -> ProviderPayment:
        raise NotSupported("Alipay payments are captured at once; there is no separate capture.")

    def cancel(self, *, provider_reference: str, idempotency_key: str) -> ProviderPayment:
        """Close an unpaid trade (`alipay.trade.close`). A trade the buyer never opened does not exist at
        Alipay yet: nothing to close, which is cancelled too. A paid trade is refused (refund it instead)."""
        try:
            answer = self._call("alipay.trade.close", {"out_trade_no": provider_reference})
        except ProviderRejected as exc:
            if exc.error_code != "ACQ.TRADE_NOT_EXIST":
                raise
            answer = {}
        return ProviderPayment(provider_reference=provider_reference, status=ProviderStatus.CANCELLED,
                               amount=Money.zero(CURRENCY), transaction_reference=str(answer.get("trade_no") or ""))

    def refund(self, *, provider_reference: str, amount: Money, refund_reference: str,
               idempotency_key: str) -> ProviderRefund:
        """`alipay.trade.refund` with out_request_no = our refund reference (one per partial refund).
        Re-sent, Alipay answers fund_change=N and moves nothing again: then we ask where that refund is."""
        answer = self._call("alipay.trade.refund", {
            "out_trade_no": provider_reference, "refund_amount": yuan(amount), "out_request_no": refund_reference,
            "refund_reason": "Refund"})
        reference = f"{provider_reference}/{refund_reference}"
        if answer.get("fund_change") == "Y":
            return ProviderRefund(provider_reference=reference, status=RefundStatus.SUCCEEDED, amount=amount,
                                  payment_reference=provider_reference)
        return self.query_refund(provider_refund_reference=reference)

    def query(self, *, provider_reference: str) -> ProviderPayment:
        """`alipay.trade.query` by out_trade_no. No trade yet (the buyer has not opened the cashier) is a
        payment still waiting for the buyer."""
        try:
            answer = self._call("alipay.trade.query", {"out_trade_no": provider_reference})
        except ProviderRejected as exc:
            if exc.error_code != "ACQ.TRADE_NOT_EXIST":
                raise
            return ProviderPayment(provider_reference=provider_reference, status=ProviderStatus.REQUIRES_PAYMENT,
                                   amount=Money.zero(CURRENCY))
        if answer.get("trade_status") not in TRADE_STATUSES or not answer.get("total_amount"):
            raise ProviderUnavailable("Alipay's trade answer could not be understood.", error_code="invalid_response")
        return _payment(answer, provider_reference)

    def query_refund(self, *, provider_refund_reference: str) -> ProviderRefund:
        """`alipay.trade.fastpay.refund.query`; an answer without refund_amount means Alipay has no such
        refund (it was never received)."""
        out_trade_no, _, out_request_no = provider_refund_reference.rpartition("/")
        answer = self._call("alipay.trade.fastpay.refund.query",
                            {"out_trade_no": out_trade_no, "out_request_no": out_request_no})
        if not answer.get("refund_amount"):
            return ProviderRefund(provider_reference=provider_refund_reference, status=RefundStatus.FAILED,
                                  amount=Money.zero(CURRENCY), payment_reference=out_trade_no,
                                  failure_code="refund_not_found")
        done = answer.get("refund_status", "REFUND_SUCCESS") == "REFUND_SUCCESS"
        return ProviderRefund(provider_reference=provider_refund_reference,
                              status=RefundStatus.SUCCEEDED if done else RefundStatus.PENDING,
                              amount=money_from_yuan(answer["refund_amount"]), payment_reference=out_trade_no)

    def handle_return(self, *, provider_reference: str, params: Mapping[str, str],
                      idempotency_key: str) -> ProviderPayment:
        """The buyer is back from Alipay's cashier. The signed return params are checked, but only the
        answer to a trade query decides; a trade closed unpaid (they cancelled) is a decline."""
        if params.get("sign"):
            genuine = verify_notification(params, self._alipay_public_key) and \
                params.get("app_id") == self.app_id and params.get("out_trade_no") == provider_reference
            if not genuine:
                logger.warning("alipay return for %s: signature or ids do not match; asking Alipay instead",
                               provider_reference)
        payment = self.query(provider_reference=provider_reference)
        if payment.status == ProviderStatus.CANCELLED:
            raise PaymentDeclined("The Alipay payment was cancelled.", decline_code="trade_closed")
        return payment

    # --- notifications ---------------------------------------------------------------------------
    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify an async notify (RSA2 with Alipay's public key), that it is for this app and seller,
        and not older than NOTIFY_MAX_AGE_S; translate it. The amount is checked against the intent by
        the caller."""
        try:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError) as exc:
            raise WebhookRejected("The notification is not a form-encoded UTF-8 body.") from exc
        if params.get("sign_type", "RSA2") != "RSA2":
            raise WebhookRejected("The notification is not signed with RSA2.")
        if not verify_notification(params, self._alipay_public_key):
            raise WebhookRejected("The notification's signature does not match.")
        if params.get("app_id") != self.app_id:
            raise WebhookRejected("The notification is for another app id.")
        if self.seller_id and params.get("seller_id") != self.seller_id:
            raise WebhookRejected("The notification is for another seller id.")
        try:
            sent_at = beijing_time(params["notify_time"])
        except (KeyError, ValueError) as exc:
            raise WebhookRejected("The notification has no valid notify_time.") from exc
        age_s = self._clock() - sent_at.timestamp()
        if age_s > NOTIFY_MAX_AGE_S or age_s < -NOTIFY_MAX_FUTURE_S:
            raise WebhookRejected("The notification's notify_time is outside the accepted window (expired).")
        status = params.get("trade_status", "")
        if status not in TRADE_STATUSES or not params.get("out_trade_no"):
            raise WebhookRejected(f"The notification's trade_status {status!r} is not understood.")
        try:
            payment = _payment(params, params["out_trade_no"])
            occurred_at = beijing_time(params.get("gmt_payment") or params["notify_time"])
        except (ValueError, KeyError) as exc:
            raise WebhookRejected("The notification could not be understood.") from exc
        event_id = params.get("notify_id") or f"{params.get('trade_no')}:{status}:{params.get('gmt_payment', '')}"
        raw = {k: v for k, v in params.items() if k != "sign"}
        return WebhookEvent(event_id=event_id, type=f"{params.get('notify_type', 'notify')}.{status}",
                            occurred_at=occurred_at, payment=payment, raw=raw)

    def webhook_ack(self) -> WebhookAck:
        return WebhookAck(status=200, body=b"success", content_type="text/plain")


def _payment(fields: Mapping[str, str], provider_reference: str) -> ProviderPayment:
    """A query answer or a notify in our words. A closed trade that was paid (fully refunded since) is
    still a captured payment, never a cancelled one."""
    status = fields.get("trade_status", "")
    total = money_from_yuan(fields["total_amount"])
    paid = status in PAID or (status == "TRADE_CLOSED" and bool(fields.get("send_pay_date")
                                                                  or fields.get("gmt_payment")))
    refunded = money_from_yuan(fields["refund_fee"]).minor if fields.get("refund_fee") else 0
    if status == "TRADE_CLOSED" and paid and not refunded:
        refunded = total.minor
    return ProviderPayment(
        provider_reference=str(fields.get("out_trade_no") or provider_reference),
        status=ProviderStatus.CAPTURED if paid else TRADE_STATUSES[status],
        amount=total,
        amount_captured_minor=total.minor if paid else 0,
        amount_refunded_minor=refunded,
        transaction_reference=str(fields.get("trade_no") or ""),
        failure_code="trade_closed" if status == "TRADE_CLOSED" and not paid else "",
    )
