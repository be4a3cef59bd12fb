"""The simulator's `gateway.do`: one address, the `method` parameter says what is asked.

Every call is checked as Alipay checks it: a known app_id, sign_type RSA2, a valid signature with the
app's public key over the sorted parameters (everything but `sign`), a well-formed timestamp and a
JSON biz_content. Answers are `{"<method>_response": {...}, "sign": "..."}` as text/html;charset=utf-8
(as Alipay sends them), signed over the exact response text; errors about the caller's credentials
are not signed (there is nobody to sign them for).

`alipay.trade.page.pay` is the browser's call: it opens the trade and sends the buyer to the cashier.
Two extra methods, signed like any other, drive the test controls:
`clearhouse.sandbox.controls.update` (biz_content: fail_next_calls, fail_kind, slow_next_calls, slow_ms,
drop_notifications, duplicate_notifications, hold_notifications) and
`clearhouse.sandbox.notifications.release` ({"reverse": true} sends held ones newest first).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from clearhouse.sandbox.alipay import services
from clearhouse.sandbox.alipay.domain import (
    AlipayError,
    business_error,
    invalid_argument,
    parse_timestamp,
    response_body,
    unsigned_string,
    verify,
)
from clearhouse.sandbox.alipay.models import App
from clearhouse.sandbox.alipay.notify import notifications_release_held

CONTENT_TYPE = "text/html;charset=utf-8"
SUCCESS = {"code": "10000", "msg": "Success"}


def _params(request: HttpRequest) -> dict[str, str]:
    params = request.GET.dict()
    params.update(request.POST.dict())
    return params


def _answer(app: App | None, response_key: str, content: dict, *, status: int = 200) -> HttpResponse:
    return HttpResponse(response_body(app.alipay_private_key if app else None, response_key, content),
                        status=status, content_type=CONTENT_TYPE)


def _error(app: App | None, response_key: str, error: AlipayError) -> HttpResponse:
    return _answer(app if error.signed else None, response_key, error.as_dict())


def authenticate(params: dict[str, str]) -> tuple[App, dict]:
    """The app and the biz_content of a genuine call; AlipayError (unsigned) otherwise."""
    app = services.app_get(params.get("app_id", ""))
    if params.get("sign_type") != "RSA2":
        raise invalid_argument("isv.invalid-signature-type", "无效的签名类型")
    if not params.get("sign"):
        raise AlipayError("40001", "isv.missing-signature", "缺少签名参数", signed=False)
    if not verify(app.app_public_key, unsigned_string(params, leave_out=("sign",)), params["sign"]):
        raise invalid_argument("isv.invalid-signature", "验签出错, 建议检查签名字符串或签名私钥与应用公钥是否匹配")
    try:
        parse_timestamp(params.get("timestamp", ""))
    except ValueError:
        raise invalid_argument("isv.invalid-timestamp", "非法的时间戳参数") from None
    try:
        biz = json.loads(params.get("biz_content") or "{}")
    except ValueError:
        biz = None
    if not isinstance(biz, dict):
        raise invalid_argument("isv.invalid-parameter", "biz_content 不是合法的 JSON 对象")
    return app, biz


# --- API methods -------------------------------------------------------------------------------------
def _precreate(request: HttpRequest, app: App, biz: dict, params: dict) -> dict:
    trade = services.trade_open(app=app, biz=biz, product_code="FACE_TO_FACE_PAYMENT",
                                notify_url=params.get("notify_url", ""), return_url="", now=timezone.now())
    qr_code = request.build_absolute_uri(reverse("sandbox:sandbox_alipay:scan", args=[trade.token]))
    return {"out_trade_no": trade.out_trade_no, "qr_code": qr_code}


def _query(request: HttpRequest, app: App, biz: dict, params: dict) -> dict:
    return services.trade_answer(services.trade_find(app, biz))


def _close(request: HttpRequest, app: App, biz: dict, params: dict) -> dict:
    trade = services.trade_close(app=app, biz=biz, now=timezone.now())
    return {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}


def _refund(request: HttpRequest, app: App, biz: dict, params: dict) -> dict:
    now = timezone.now()
    trade, moved = services.trade_refund(app=app, biz=biz, now=now)
    return services.refund_answer(trade, fund_change=moved, now=now)


def _refund_query(request: HttpRequest, app: App, biz: dict, params: dict) -> dict:
    return services.refund_query_answer(app=app, biz=biz)


def _controls(request: HttpRequest, app: App, biz: dict, params: dict) -> dict:
    return services.controls_update(app=app, values=biz)


def _release(request: HttpRequest, app: App, biz: dict, params: dict) -> dict:
    return {"released": notifications_release_held(app=app, reverse=bool(biz.get("reverse")))}


METHODS: dict[str, Callable[..., dict]] = {
    "alipay.trade.precreate": _precreate,
    "alipay.trade.query": _query,
    "alipay.trade.close": _close,
    "alipay.trade.refund": _refund,
    "alipay.trade.fastpay.refund.query": _refund_query,
    "clearhouse.sandbox.controls.update": _controls,
    "clearhouse.sandbox.notifications.release": _release,
}
CONTROL_METHODS = ("clearhouse.sandbox.controls.update", "clearhouse.sandbox.notifications.release")


def _injected_failure(app: App, response_key: str) -> HttpResponse | None:
    if not services.controls_take(app, "fail_next_calls"):
        return None
    if app.fail_kind == "system_error":
        return _error(app, response_key, business_error("ACQ.SYSTEM_ERROR", "系统错误"))
    if app.fail_kind == "unknown_error":
        return _error(app, response_key, AlipayError("20000", "isp.unknow-error", "系统繁忙"))
    return HttpResponse("Internal Server Error (test controls: fail_next_calls)", status=500,
                        content_type="text/plain")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def gateway(request: HttpRequest) -> HttpResponse:
    params = _params(request)
    method = params.get("method", "")
    if not method:
        return _answer(None, "error_response", AlipayError("40001", "isv.missing-method", "缺少方法名参数").as_dict())
    if method == "alipay.trade.page.pay":
        return page_pay(request, params)
    response_key = method.replace(".", "_") + "_response"
    try:
        app, biz = authenticate(params)
    except AlipayError as error:
        return _error(None, response_key, error)
    handler = METHODS.get(method)
    if handler is None:
        return _error(app, response_key, invalid_argument("isv.invalid-method", "不存在的方法名", signed=True))
    if method not in CONTROL_METHODS:
        failure = _injected_failure(app, response_key)
        if failure is not None:
            return failure
    slow = method not in CONTROL_METHODS and services.controls_take(app, "slow_next_calls")
    try:
        with transaction.atomic():
            content = {**SUCCESS, **handler(request, app, biz, params)}
    except AlipayError as error:
        response = _error(app, response_key, error)
    else:
        response = _answer(app, response_key, content)
    if slow:
        time.sleep(App.objects.get(pk=app.pk).slow_ms / 1000)  # the work is committed; the answer is late
    return response


def page_pay(request: HttpRequest, params: dict[str, str]) -> HttpResponse:
    """The buyer's browser arrives with the merchant's signed page-pay query: open the trade and go to
    the cashier (or show Alipay's error page)."""
    try:
        app, biz = authenticate(params)
        if biz.get("product_code", "FAST_INSTANT_TRADE_PAY") != "FAST_INSTANT_TRADE_PAY":
            raise invalid_argument("isv.invalid-parameter", "product_code 无效", signed=True)
        with transaction.atomic():
            trade = services.trade_open(app=app, biz=biz, product_code="FAST_INSTANT_TRADE_PAY",
                                        notify_url=params.get("notify_url", ""),
                                        return_url=params.get("return_url", ""), now=timezone.now())
    except AlipayError as error:
        return render(request, "sandbox_alipay/error.html", {"error": error}, status=200)
    return HttpResponseRedirect(reverse("sandbox:sandbox_alipay:cashier", args=[trade.token]))
