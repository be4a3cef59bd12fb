"""Writes of the WeChat Pay simulator: merchants, Native orders, the buyer's scan, close, refunds, controls.

Each service is one transaction. Errors are `WeChatPayError`s, answered as
WeChat Pay does: an HTTP status and `{"code", "message"}`. Idempotency is
WeChat Pay's own: by out_trade_no and out_refund_no (the same request
again gets the same answer; a different one under the same number is refused).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from clearhouse.sandbox.wechatpay.callbacks import notification_emit
from clearhouse.sandbox.wechatpay.domain import (
    RefundState,
    TradeState,
    WeChatPayError,
    certificate_pem,
    new_apiv3_key,
    new_code_url,
    new_refund_id,
    new_rsa_key,
    new_transaction_id,
    private_pem,
    self_signed_certificate,
    serial_hex,
)
from clearhouse.sandbox.wechatpay.models import Merchant, Refund, TestControls, Transaction
from clearhouse.sandbox.wechatpay.selectors import (
    controls_get,
    refund_get,
    refund_notification_json,
    transaction_get,
    transaction_json,
)

OUT_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
PAYABLE = (TradeState.NOTPAY, TradeState.USERPAYING)


def _fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _param(condition: bool, message: str) -> None:
    if not condition:
        raise WeChatPayError(400, "PARAM_ERROR", message)


def _fen(amount: object, name: str) -> int:
    _param(isinstance(amount, int) and not isinstance(amount, bool) and amount > 0,
           f"{name} 须为正整数(单位: 分)")
    return amount  # type: ignore[return-value]


def _currency(amount: dict) -> str:
    currency = amount.get("currency", "CNY")
    _param(currency == "CNY", "境内商户仅支持人民币 CNY")
    return currency


def _check_identity(merchant: Merchant, body: dict, *, appid_required: bool) -> None:
    _param(body.get("mchid") == merchant.mchid, "mchid 与请求签名的商户号不一致")
    if (appid_required or "appid" in body) and body.get("appid") != merchant.appid:
        raise WeChatPayError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")


# --- merchants ------------------------------------------------------------------------------------------------
@transaction.atomic
def merchant_register(*, mchid: str, appid: str, merchant_serial: str, merchant_public_key: str,
                      apiv3_key: str = "", name: str = "Clearhouse demo shop") -> Merchant:
    """Register a merchant (or update its API certificate): the platform key pair, its self-signed
    certificate and the APIv3 key are generated here, once, as WeChat Pay would hold them."""
    merchant = Merchant.objects.select_for_update().filter(mchid=mchid).first()
    if merchant is None:
        key = new_rsa_key()
        certificate = self_signed_certificate(key, common_name=f"Tenpay.com Root CA (simulated) {mchid}",
                                              now=timezone.now())
        merchant = Merchant(mchid=mchid, apiv3_key=apiv3_key or new_apiv3_key(),
                            platform_serial=serial_hex(certificate), platform_certificate=certificate_pem(certificate),
                            platform_private_key=private_pem(key))
    merchant.appid, merchant.name = appid, name
    merchant.merchant_serial, merchant.merchant_public_key = merchant_serial.upper(), merchant_public_key
    merchant.save()
    controls_get(merchant=merchant)
    return merchant


# --- Native orders ------------------------------------------------------------------------------------------
@transaction.atomic
def transaction_create(*, merchant: Merchant, body: dict) -> Transaction:
    """A Native order (NOTPAY) with a code_url to show as a QR code. The same out_trade_no and request
    again gets the same code_url; a paid or closed one is refused (ORDERPAID, ORDER_CLOSED)."""
    _check_identity(merchant, body, appid_required=True)
    out_trade_no = body.get("out_trade_no")
    _param(isinstance(out_trade_no, str) and bool(OUT_NO.fullmatch(out_trade_no)),
           "out_trade_no 须为6-32位数字、字母或 _-|*")
    description = body.get("description")
    _param(isinstance(description, str) and 0 < len(description) <= 127, "description 必填, 最长127字符")
    notify_url = body.get("notify_url")
    _param(isinstance(notify_url, str) and notify_url.startswith(("https://", "http://")),
           "notify_url 须为 http(s) 地址")
    amount = body.get("amount") if isinstance(body.get("amount"), dict) else {}
    total, currency = _fen(amount.get("total"), "amount.total"), _currency(amount)
    time_expire = _time_expire(body.get("time_expire"))
    fingerprint = _fingerprint(body)
    existing = Transaction.objects.select_for_update().filter(merchant=merchant, out_trade_no=out_trade_no).first()
    if existing is not None:
        _expire_if_due(existing)
        if existing.trade_state in (TradeState.SUCCESS, TradeState.REFUND):
            raise WeChatPayError(403, "ORDERPAID", "该订单已支付")
        if existing.trade_state == TradeState.CLOSED:
            raise WeChatPayError(400, "ORDER_CLOSED", "订单已关闭")
        if existing.request_fingerprint != fingerprint:
            raise WeChatPayError(403, "OUT_TRADE_NO_USED", "商户订单号重复")
        return existing
    return Transaction.objects.create(
        merchant=merchant, out_trade_no=out_trade_no, appid=merchant.appid, description=description,
        notify_url=notify_url, attach=str(body.get("attach") or "")[:128], total=total, currency=currency,
        code_url=new_code_url(), time_expire=time_expire, request_fingerprint=fingerprint)


def _time_expire(value: object) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    _param(parsed is not None and parsed.tzinfo is not None, "time_expire 须为 RFC 3339 格式")
    return parsed


def _expire_if_due(trade: Transaction) -> None:
    """An unpaid order past its time_expire is closed (WeChat Pay closes it on its own)."""
    if trade.trade_state in PAYABLE and trade.time_expire and trade.time_expire <= timezone.now():
        trade.trade_state, trade.trade_state_desc = TradeState.CLOSED, "订单已超时关闭"
        trade.save(update_fields=["trade_state", "trade_state_desc"])


@transaction.atomic
def transaction_query(*, merchant: Merchant, out_trade_no: str) -> Transaction:
    trade = transaction_get(merchant=merchant, out_trade_no=out_trade_no)
    _expire_if_due(trade)
    return trade


@transaction.atomic
def transaction_close(*, merchant: Merchant, out_trade_no: str, body: dict) -> Transaction:
    """Close an unpaid order (answered 204). Closing a closed one again is fine; a paid one is ORDERPAID."""
    _check_identity(merchant, body, appid_required=False)
    transaction_get(merchant=merchant, out_trade_no=out_trade_no)
    trade = Transaction.objects.select_for_update().get(merchant=merchant, out_trade_no=out_trade_no)
    if trade.trade_state in (TradeState.SUCCESS, TradeState.REFUND):
        raise WeChatPayError(403, "ORDERPAID", "该订单已支付, 不能关闭")
    if trade.trade_state != TradeState.CLOSED:
        trade.trade_state, trade.trade_state_desc = TradeState.CLOSED, "已关闭"
        trade.save(update_fields=["trade_state", "trade_state_desc"])
    return trade


@transaction.atomic
def transaction_scan(*, code_url: str, decision: str) -> Transaction:
    """The buyer scanned the code on their phone and chose: `pay`, `fail` (balance too low) or `cancel`.

    Paying sends the TRANSACTION.SUCCESS callback after commit; WeChat Pay sends none for the others.
    """
    trade = Transaction.objects.select_for_update().select_related("merchant").filter(code_url=code_url).first()
    if trade is None:
        raise WeChatPayError(404, "ORDER_NOT_EXIST", "二维码已失效")
    _expire_if_due(trade)
    if trade.trade_state not in PAYABLE or decision == "cancel":
        return trade
    if decision == "fail":
        trade.trade_state, trade.trade_state_desc = TradeState.PAYERROR, "支付失败, 零钱余额不足"
        trade.save(update_fields=["trade_state", "trade_state_desc"])
        return trade
    now = timezone.now()
    trade.trade_state, trade.trade_state_desc = TradeState.SUCCESS, "支付成功"
    trade.transaction_id, trade.success_time = new_transaction_id(now), now
    trade.payer_openid = "oSim" + secrets.token_urlsafe(18)[:24]
    trade.save()
    notification_emit(merchant=trade.merchant, event_type="TRANSACTION.SUCCESS", summary="支付成功",
                      original_type="transaction", resource=transaction_json(trade), notify_url=trade.notify_url)
    return trade


# --- refunds --------------------------------------------------------------------------------------------------
@transaction.atomic
def refund_create(*, merchant: Merchant, body: dict) -> Refund:
    """A refund of a paid order, answered PROCESSING; it settles just after (see `refund_settle`).
    The same out_refund_no and request again returns that refund."""
    out_refund_no = body.get("out_refund_no")
    _param(isinstance(out_refund_no, str) and bool(OUT_REFUND_NO.fullmatch(out_refund_no)),
           "out_refund_no 须为1-64位数字、字母或 _-|*@")
    amount = body.get("amount") if isinstance(body.get("amount"), dict) else {}
    refund_fen, total = _fen(amount.get("refund"), "amount.refund"), _fen(amount.get("total"), "amount.total")
    _currency(amount)
    fingerprint = _fingerprint(body)
    existing = Refund.objects.filter(merchant=merchant, out_refund_no=out_refund_no).first()
    if existing is not None:
        if existing.request_fingerprint != fingerprint:
            raise WeChatPayError(400, "INVALID_REQUEST", "退款单号重复, 且请求参数与原请求不一致")
        return existing
    trade = _refundable_trade(merchant, body)
    if total != trade.total:
        raise WeChatPayError(400, "INVALID_REQUEST", "订单金额与原订单不一致")
    if trade.refunded + refund_fen > trade.total:
        raise WeChatPayError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
    refund = Refund.objects.create(
        merchant=merchant, transaction=trade, out_refund_no=out_refund_no, refund_id=new_refund_id(),
        amount=refund_fen, reason=str(body.get("reason") or "")[:80], notify_url=str(body.get("notify_url") or ""),
        request_fingerprint=fingerprint)
    Transaction.objects.filter(pk=trade.pk).update(refunded=F("refunded") + refund_fen)  # reserved at once
    transaction.on_commit(lambda: _enqueue_settle(refund.pk), robust=True)
    return refund


def _refundable_trade(merchant: Merchant, body: dict) -> Transaction:
    if body.get("transaction_id"):
        trade = Transaction.objects.filter(merchant=merchant, transaction_id=body["transaction_id"]).first()
    else:
        trade = Transaction.objects.filter(merchant=merchant, out_trade_no=body.get("out_trade_no") or "").first()
    if trade is None:
        raise WeChatPayError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
    trade = Transaction.objects.select_for_update().get(pk=trade.pk)
    if trade.trade_state not in (TradeState.SUCCESS, TradeState.REFUND):
        raise WeChatPayError(400, "INVALID_REQUEST", "订单未支付, 不能退款")
    return trade


def _enqueue_settle(refund_pk: int) -> None:
    from clearhouse.sandbox.wechatpay.tasks import settle_refund

    settle_refund.enqueue(refund_pk=refund_pk)


@transaction.atomic
def refund_settle(*, refund_pk: int) -> Refund:
    """The money went back to the buyer's balance: SUCCESS, and the REFUND.SUCCESS callback."""
    refund = Refund.objects.select_for_update().select_related("transaction", "merchant").get(pk=refund_pk)
    if refund.status != RefundState.PROCESSING:
        return refund
    refund.status, refund.success_time = RefundState.SUCCESS, timezone.now()
    refund.save(update_fields=["status", "success_time"])
    Transaction.objects.filter(pk=refund.transaction_id).update(trade_state=TradeState.REFUND,
                                                                trade_state_desc="转入退款")
    if refund.notify_url:
        notification_emit(merchant=refund.merchant, event_type="REFUND.SUCCESS", summary="退款成功",
                          original_type="refund", resource=refund_notification_json(refund),
                          notify_url=refund.notify_url)
    return refund


def refund_query(*, merchant: Merchant, out_refund_no: str) -> Refund:
    return refund_get(merchant=merchant, out_refund_no=out_refund_no)


# --- test controls ---------------------------------------------------------------------------------------------
CONTROL_FIELDS = {"fail_next_calls": int, "slow_next_calls": int, "slow_s": float, "drop_notifications": bool,
                  "duplicate_notifications": int, "hold_notifications": bool}


@transaction.atomic
def controls_update(*, merchant: Merchant, **values) -> TestControls:
    unknown = set(values) - set(CONTROL_FIELDS)
    _param(not unknown, f"未知的测试开关: {', '.join(sorted(unknown))}")
    controls = TestControls.objects.select_for_update().get(pk=controls_get(merchant=merchant).pk)
    for name, value in values.items():
        kind = CONTROL_FIELDS[name]
        _param(isinstance(value, kind) or (kind is float and isinstance(value, int)), f"{name} 类型错误")
        setattr(controls, name, value)
    controls.save()
    return controls


@transaction.atomic
def controls_take_fault(*, merchant: Merchant) -> str:
    """Consume one injected fault for an API call: "fail", "slow" or "" (none)."""
    controls = TestControls.objects.select_for_update().get(pk=controls_get(merchant=merchant).pk)
    if controls.fail_next_calls:
        TestControls.objects.filter(pk=controls.pk).update(fail_next_calls=F("fail_next_calls") - 1)
        return "fail"
    if controls.slow_next_calls:
        TestControls.objects.filter(pk=controls.pk).update(slow_next_calls=F("slow_next_calls") - 1)
        return "slow"
    return ""
