"""Helpers for the WeChat Pay simulator tests: a registered merchant with its own key, a client that signs
requests with the official `wechatpayv3` SDK's helpers (the independent peer), and a callback receiver."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import httpx
from cryptography.x509 import load_pem_x509_certificate
from django.utils import timezone
from wechatpayv3.utils import aes_decrypt, build_authorization, load_private_key, rsa_verify

from clearhouse.sandbox.wechatpay.domain import (
    new_rsa_key,
    private_pem,
    public_pem,
    rfc3339_cst,
    seal,
    self_signed_certificate,
    serial_hex,
    signed_headers,
)
from clearhouse.sandbox.wechatpay.models import Merchant
from clearhouse.sandbox.wechatpay.services import merchant_register
from tests.sandbox.support import DjangoTransport

MCHID = "1900000109"
APPID = "wxd930ea5d5a258f4f"
BASE = "http://testserver/sandbox/wechatpay"
PREFIX = "/sandbox/wechatpay"


@dataclass
class RegisteredMerchant:
    """A simulator merchant and the merchant-side secrets Clearhouse would hold for it."""

    merchant: Merchant
    private_key_pem: str
    serial: str

    @property
    def apiv3_key(self) -> str:
        return self.merchant.apiv3_key


def register(*, mchid: str = MCHID, appid: str = APPID) -> RegisteredMerchant:
    key = new_rsa_key()
    serial = serial_hex(self_signed_certificate(key, common_name=f"{mchid} api cert", now=timezone.now()))
    merchant = merchant_register(mchid=mchid, appid=appid, merchant_serial=serial,
                                 merchant_public_key=public_pem(key))
    return RegisteredMerchant(merchant, private_pem(key), serial)


class SignedClient:
    """Calls the simulator as a merchant would, signing with wechatpayv3.utils.build_authorization."""

    def __init__(self, registered: RegisteredMerchant, *, mchid: str | None = None):
        self.registered = registered
        self.mchid = mchid or registered.merchant.mchid
        self.http = httpx.Client(transport=DjangoTransport(), base_url="http://testserver", timeout=5)

    def request(self, method: str, path: str, body: dict | None = None, *, serial: str | None = None,
                private_key_pem: str | None = None) -> httpx.Response:
        text = json.dumps(body) if body is not None else ""
        authorization = build_authorization(f"{PREFIX}{path}", method, self.mchid, serial or self.registered.serial,
                                            load_private_key(private_key_pem or self.registered.private_key_pem),
                                            data=text or None)
        return self.http.request(method, f"{PREFIX}{path}", content=text.encode() if text else None,
                                 headers={"Authorization": authorization, "Content-Type": "application/json",
                                          "Accept": "application/json"})

    def get(self, path: str, **kw) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: dict | None = None, **kw) -> httpx.Response:
        return self.request("POST", path, body if body is not None else {}, **kw)

    def controls(self, **values) -> None:
        assert self.post("/test/controls", values).status_code == 200


def platform_public_key(merchant: Merchant):
    return load_pem_x509_certificate(merchant.platform_certificate.encode()).public_key()


def sdk_verifies(merchant: Merchant, headers, body: bytes | str) -> bool:
    """The SDK's own verification of an answer or a callback against the simulator's platform certificate."""
    text = body.decode() if isinstance(body, bytes) else body
    return headers["Wechatpay-Serial"] == merchant.platform_serial and rsa_verify(
        headers["Wechatpay-Timestamp"], headers["Wechatpay-Nonce"], text, headers["Wechatpay-Signature"],
        platform_public_key(merchant))


def sdk_decrypt(merchant: Merchant, envelope: dict) -> dict:
    resource = envelope["resource"]
    return json.loads(aes_decrypt(resource["nonce"], resource["ciphertext"], resource["associated_data"],
                                  merchant.apiv3_key))


def signed_callback(merchant: Merchant, *, resource: dict, event_type: str = "TRANSACTION.SUCCESS",
                    original_type: str = "transaction", timestamp: int | None = None,
                    event_id: str | None = None) -> tuple[bytes, dict]:
    """A callback exactly as the simulator would send it, for hand-made cases (amount mismatch, replay)."""
    envelope = {"id": event_id or str(uuid.uuid4()), "create_time": rfc3339_cst(timezone.now()),
                "resource_type": "encrypt-resource", "event_type": event_type, "summary": "支付成功",
                "resource": {"original_type": original_type,
                             **seal(json.dumps(resource), apiv3_key=merchant.apiv3_key,
                                    associated_data=original_type)}}
    body = json.dumps(envelope, separators=(",", ":"))
    headers = signed_headers(platform_private_key_pem=merchant.platform_private_key,
                             platform_serial=merchant.platform_serial, body=body,
                             timestamp=timestamp if timestamp is not None else int(time.time()))
    return body.encode(), {**headers, "Content-Type": "application/json"}


@dataclass(frozen=True)
class ReceivedCallback:
    url: str
    body: bytes
    headers: httpx.Headers

    @property
    def envelope(self) -> dict:
        return json.loads(self.body)


class CallbackReceiver(httpx.BaseTransport):
    """Stands in for the merchant's notify_url: records every POST, answers as scripted (then 204)."""

    def __init__(self) -> None:
        self.received: list[ReceivedCallback] = []
        self.script: list[int | str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.script.pop(0) if self.script else 204
        if answer == "error":
            raise httpx.ConnectError("connection refused", request=request)
        self.received.append(ReceivedCallback(str(request.url), request.read(), request.headers))
        if int(answer) >= 400:
            return httpx.Response(int(answer), json={"code": "FAIL", "message": "失败"}, request=request)
        return httpx.Response(int(answer), request=request)

    @property
    def event_types(self) -> list[str]:
        return [r.envelope["event_type"] for r in self.received]

