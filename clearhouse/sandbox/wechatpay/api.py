"""The simulator's WeChat Pay API v3 endpoints under /sandbox/wechatpay/v3/ (same paths as the real gateway).

Every request must carry `Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,signature=…,
timestamp=…,serial_no=…`, signed by the merchant's API key over `METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\n
BODY\\n` (the path as sent, including this mount point) within 5 minutes; else 401 SIGN_ERROR. Every
answer, errors included, is signed with the platform key (`Wechatpay-Timestamp/-Nonce/-Serial/-Signature`).
Test controls (per merchant, also signed requests) make the next calls fail with 500 SYSTEMERROR (nothing
done) or answer slowly (work done and committed, answer late).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from clearhouse.sandbox.wechatpay import services
from clearhouse.sandbox.wechatpay.callbacks import notifications_held_release
from clearhouse.sandbox.wechatpay.domain import (
    WeChatPayError,
    check_request_signature,
    parse_authorization,
    rfc3339_cst,
    seal,
    signed_headers,
)
from clearhouse.sandbox.wechatpay.models import Merchant
from clearhouse.sandbox.wechatpay.selectors import (
    controls_get,
    controls_json,
    merchant_get,
    refund_json,
    transaction_by_id,
    transaction_json,
)


@dataclass(frozen=True)
class Answer:
    status: int
    payload: dict | None = None  # None: no body (204)


Handler = Callable[..., Answer]


def _body(request: HttpRequest) -> dict:
    if request.method == "GET" or not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise WeChatPayError(400, "PARAM_ERROR", "请求体不是有效的 JSON") from None
    if not isinstance(body, dict):
        raise WeChatPayError(400, "PARAM_ERROR", "请求体须为 JSON 对象")
    return body


def _authenticate(request: HttpRequest) -> Merchant:
    auth = parse_authorization(request.headers.get("Authorization", ""))
    merchant = merchant_get(mchid=auth.mchid)
    try:
        body_text = request.body.decode()
    except UnicodeDecodeError:
        raise WeChatPayError(400, "PARAM_ERROR", "请求体须为 UTF-8") from None
    check_request_signature(auth, merchant_public_key_pem=merchant.merchant_public_key,
                            merchant_serial=merchant.merchant_serial, method=request.method,
                            path_with_query=request.get_full_path(), body=body_text, now=time.time())
    return merchant


def _respond(answer: Answer, merchant: Merchant | None) -> HttpResponse:
    text = "" if answer.payload is None else json.dumps(answer.payload, ensure_ascii=False, separators=(",", ":"))
    response = HttpResponse(text.encode(), status=answer.status, content_type="application/json; charset=utf-8")
    response["Request-ID"] = str(uuid.uuid4())
    if merchant is not None:
        for name, value in signed_headers(platform_private_key_pem=merchant.platform_private_key,
                                          platform_serial=merchant.platform_serial, body=text,
                                          timestamp=int(time.time())).items():
            response[name] = value
    return response


def endpoint(*, methods: tuple[str, ...], counts_for_faults: bool = True):
    """Wrap handler(request, merchant, body, **url_kwargs) -> Answer with signatures, faults and errors."""

    def wrap(handler: Handler):
        @csrf_exempt
        def view(request: HttpRequest, **kwargs) -> HttpResponse:
            merchant = None
            delay_s = 0.0
            try:
                if request.method not in methods:
                    raise WeChatPayError(405, "INVALID_REQUEST", f"不支持 {request.method} 方法")
                merchant = _authenticate(request)
                fault = services.controls_take_fault(merchant=merchant) if counts_for_faults else ""
                if fault == "fail":
                    raise WeChatPayError(500, "SYSTEMERROR", "系统错误(测试开关 fail_next_calls)")
                if fault == "slow":
                    delay_s = controls_get(merchant=merchant).slow_s
                with transaction.atomic():
                    answer = handler(request, merchant, _body(request), **kwargs)
            except WeChatPayError as error:
                answer = Answer(error.status, error.as_dict())
            if delay_s:
                time.sleep(delay_s)
            return _respond(answer, merchant)

        view.__name__ = handler.__name__
        return view

    return wrap


# --- Native pay ---------------------------------------------------------------------------------------------
@endpoint(methods=("POST",))
def native(request: HttpRequest, merchant: Merchant, body: dict) -> Answer:
    return Answer(200, {"code_url": services.transaction_create(merchant=merchant, body=body).code_url})


def _check_mchid_query(request: HttpRequest, merchant: Merchant) -> None:
    if request.GET.get("mchid") != merchant.mchid:
        raise WeChatPayError(400, "PARAM_ERROR", "mchid 查询参数缺失或与签名商户号不一致")


@endpoint(methods=("GET",))
def transaction_by_out_trade_no(request: HttpRequest, merchant: Merchant, body: dict, out_trade_no: str) -> Answer:
    _check_mchid_query(request, merchant)
    return Answer(200, transaction_json(services.transaction_query(merchant=merchant, out_trade_no=out_trade_no)))


@endpoint(methods=("GET",))
def transaction_by_transaction_id(request: HttpRequest, merchant: Merchant, body: dict,
                                  transaction_id: str) -> Answer:
    _check_mchid_query(request, merchant)
    return Answer(200, transaction_json(transaction_by_id(merchant=merchant, transaction_id=transaction_id)))


@endpoint(methods=("POST",))
def close(request: HttpRequest, merchant: Merchant, body: dict, out_trade_no: str) -> Answer:
    services.transaction_close(merchant=merchant, out_trade_no=out_trade_no, body=body)
    return Answer(204)


# --- refunds ------------------------------------------------------------------------------------------------
@endpoint(methods=("POST",))
def refunds(request: HttpRequest, merchant: Merchant, body: dict) -> Answer:
    return Answer(200, refund_json(services.refund_create(merchant=merchant, body=body)))


@endpoint(methods=("GET",))
def refund_detail(request: HttpRequest, merchant: Merchant, body: dict, out_refund_no: str) -> Answer:
    return Answer(200, refund_json(services.refund_query(merchant=merchant, out_refund_no=out_refund_no)))


# --- platform certificates ----------------------------------------------------------------------------------
@endpoint(methods=("GET",), counts_for_faults=False)
def certificates(request: HttpRequest, merchant: Merchant, body: dict) -> Answer:
    """The platform certificate, sealed with the merchant's APIv3 key (associated data "certificate")."""
    cert = x509.load_pem_x509_certificate(merchant.platform_certificate.encode())
    return Answer(200, {"data": [{
        "serial_no": merchant.platform_serial, "effective_time": rfc3339_cst(cert.not_valid_before_utc),
        "expire_time": rfc3339_cst(cert.not_valid_after_utc),
        "encrypt_certificate": seal(merchant.platform_certificate, apiv3_key=merchant.apiv3_key,
                                    associated_data="certificate"),
    }]})


# --- test controls (not part of WeChat Pay's API) ---------------------------------------------------------------
@endpoint(methods=("GET", "POST"), counts_for_faults=False)
def test_controls(request: HttpRequest, merchant: Merchant, body: dict) -> Answer:
    if request.method == "POST":
        services.controls_update(merchant=merchant, **body)
    return Answer(200, controls_json(controls_get(merchant=merchant)))


@endpoint(methods=("POST",), counts_for_faults=False)
def test_release_held(request: HttpRequest, merchant: Merchant, body: dict) -> Answer:
    return Answer(200, {"released": notifications_held_release(merchant=merchant,
                                                               reverse=bool(body.get("reverse")))})
