"""What the Alipay simulator does: trades opened by page pay or precreate, paid or cancelled by the buyer
on the cashier page, queried, closed and refunded; plus each app's test controls.

Each function runs inside the caller's transaction (the gateway wraps every call in one) and raises
`AlipayError` with Alipay's own codes when it refuses.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F
from django.utils import timezone

from clearhouse.sandbox.alipay.domain import (
    TradeStatus,
    beijing,
    business_error,
    invalid_argument,
    new_digits,
    new_token,
    new_trade_no,
    parse_amount,
    parse_timestamp,
    yuan_text,
)
from clearhouse.sandbox.alipay.models import App, Refund, Trade
from clearhouse.sandbox.alipay.notify import notification_emit

PAID = (TradeStatus.TRADE_SUCCESS, TradeStatus.TRADE_FINISHED)
# Test buyers on the cashier page: the account name decides what happens when they pay.
BUYER_OK = "buyer@sandbox.alipay"
BUYER_NO_BALANCE = "nobalance@sandbox.alipay"
CONTROL_FIELDS = {"fail_next_calls", "fail_kind", "slow_next_calls", "slow_ms", "drop_notifications",
                  "duplicate_notifications", "hold_notifications"}
FAIL_KINDS = ("http_500", "system_error", "unknown_error")


def app_get(app_id: str) -> App:
    app = App.objects.filter(app_id=app_id).first() if app_id else None
    if app is None:
        raise invalid_argument("isv.invalid-app-id", "无效的AppID参数")
    return app


def _required(biz: dict, field: str) -> str:
    value = str(biz.get(field) or "").strip()
    if not value:
        raise invalid_argument("isv.missing-parameter", f"缺少必选参数 {field}", signed=True)
    return value


def trade_find(app: App, biz: dict, *, lock: bool = False) -> Trade:
    """The trade named by out_trade_no or trade_no (ACQ.TRADE_NOT_EXIST otherwise)."""
    trades = Trade.objects.select_for_update() if lock else Trade.objects.all()
    out_trade_no, trade_no = str(biz.get("out_trade_no") or ""), str(biz.get("trade_no") or "")
    if not out_trade_no and not trade_no:
        raise invalid_argument("isv.missing-parameter", "out_trade_no 和 trade_no 不能同时为空", signed=True)
    trade = trades.filter(app=app, **({"trade_no": trade_no} if trade_no else {"out_trade_no": out_trade_no})).first()
    if trade is None:
        raise business_error("ACQ.TRADE_NOT_EXIST", "交易不存在")
    _expire(trade, timezone.now())
    return trade


def trade_open(*, app: App, biz: dict, product_code: str, notify_url: str, return_url: str,
               now: datetime) -> Trade:
    """Open the trade for out_trade_no, or return the same one when it is asked for again with the same
    amount (a retry); another amount is ACQ.CONTEXT_INCONSISTENT, a paid one ACQ.TRADE_HAS_SUCCESS."""
    out_trade_no = _required(biz, "out_trade_no")
    amount = parse_amount(_required(biz, "total_amount"), "total_amount")
    subject = _required(biz, "subject")[:256]
    time_expire = _time_expire(biz)
    trade = Trade.objects.select_for_update().filter(app=app, out_trade_no=out_trade_no).first()
    if trade is None:
        if time_expire is not None and time_expire <= now:
            raise business_error("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
        return Trade.objects.create(app=app, out_trade_no=out_trade_no, trade_no=new_trade_no(now),
                                    product_code=product_code, subject=subject, total_amount=amount,
                                    notify_url=notify_url, return_url=return_url, token=new_token(), gmt_create=now,
                                    time_expire=time_expire)
    _expire(trade, now)
    if trade.status in PAID:
        raise business_error("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
    if trade.status == TradeStatus.TRADE_CLOSED:
        raise business_error("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
    if trade.total_amount != amount:
        raise business_error("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
    return trade


def _time_expire(biz: dict) -> datetime | None:
    if not biz.get("time_expire"):
        return None
    try:
        return parse_timestamp(str(biz["time_expire"]))
    except ValueError:
        raise invalid_argument("isv.invalid-parameter", "参数 time_expire 格式错误", signed=True) from None


def _expire(trade: Trade, now: datetime) -> None:
    """An unpaid trade past its time_expire is closed (Alipay does this on its own)."""
    if trade.status == TradeStatus.WAIT_BUYER_PAY and trade.time_expire and trade.time_expire <= now:
        trade.status, trade.gmt_close = TradeStatus.TRADE_CLOSED, trade.time_expire
        trade.save(update_fields=["status", "gmt_close"])


def trade_pay(*, trade_id: int, buyer_account: str, now: datetime) -> Trade:
    """The buyer logged in on the cashier page and paid. A test buyer without balance is refused; a trade
    past its time_expire is closed instead."""
    trade = Trade.objects.select_for_update().get(pk=trade_id)
    _expire(trade, now)
    if trade.status != TradeStatus.WAIT_BUYER_PAY:
        raise business_error("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
    if buyer_account.strip().lower() == BUYER_NO_BALANCE:
        raise business_error("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足")
    name, _, domain = buyer_account.strip().partition("@")
    trade.status, trade.gmt_payment = TradeStatus.TRADE_SUCCESS, now
    trade.buyer_user_id = "2088" + new_digits(12)
    trade.buyer_logon_id = f"{name[:3]}***@{domain}" if domain else f"{name[:3]}***"
    trade.save(update_fields=["status", "gmt_payment", "buyer_user_id", "buyer_logon_id"])
    notification_emit(trade=trade)
    return trade


def trade_buyer_cancel(*, trade_id: int, now: datetime) -> Trade:
    """The buyer gave up on the cashier page: the unpaid trade is closed."""
    trade = Trade.objects.select_for_update().get(pk=trade_id)
    if trade.status == TradeStatus.WAIT_BUYER_PAY:
        trade.status, trade.gmt_close = TradeStatus.TRADE_CLOSED, now
        trade.save(update_fields=["status", "gmt_close"])
    return trade


def trade_close(*, app: App, biz: dict, now: datetime) -> Trade:
    """alipay.trade.close: an unpaid trade is closed (again: no change); a paid one cannot be."""
    trade = trade_find(app, biz, lock=True)
    if trade.status in PAID:
        raise business_error("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
    if trade.status == TradeStatus.WAIT_BUYER_PAY:
        trade.status, trade.gmt_close = TradeStatus.TRADE_CLOSED, now
        trade.save(update_fields=["status", "gmt_close"])
    return trade


def trade_refund(*, app: App, biz: dict, now: datetime) -> tuple[Trade, bool]:
    """alipay.trade.refund: (trade, whether money moved now). The same out_request_no again is no change
    (fund_change N); with another amount it is refused. Refunding everything closes the trade."""
    trade = trade_find(app, biz, lock=True)
    amount = parse_amount(_required(biz, "refund_amount"), "refund_amount")
    out_request_no = str(biz.get("out_request_no") or trade.out_trade_no)
    earlier = trade.refunds.filter(out_request_no=out_request_no).first()
    if earlier is not None:
        if earlier.refund_amount != amount:
            raise business_error("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额与退款请求号对应的金额不一致")
        return trade, False
    if trade.status == TradeStatus.TRADE_FINISHED:
        raise business_error("ACQ.TRADE_HAS_FINISHED", "交易已完结")
    if trade.status != TradeStatus.TRADE_SUCCESS:
        raise business_error("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
    if trade.refunded_amount + amount > trade.total_amount:
        raise business_error("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额超限")
    Refund.objects.create(trade=trade, out_request_no=out_request_no, refund_amount=amount,
                          refund_reason=str(biz.get("refund_reason") or "")[:256], gmt_refund=now)
    trade.refunded_amount = trade.refunded_amount + amount
    if trade.refunded_amount == trade.total_amount:
        trade.status, trade.gmt_close = TradeStatus.TRADE_CLOSED, now
    trade.save(update_fields=["refunded_amount", "status", "gmt_close"])
    return trade, True


# --- answers ---------------------------------------------------------------------------------------
def trade_answer(trade: Trade) -> dict:
    """alipay.trade.query's fields for this trade."""
    amount = yuan_text(trade.total_amount)
    answer = {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "trade_status": trade.status,
              "total_amount": amount}
    if trade.gmt_payment:
        answer.update({"buyer_logon_id": trade.buyer_logon_id, "buyer_user_id": trade.buyer_user_id,
                       "buyer_pay_amount": amount, "receipt_amount": amount, "invoice_amount": amount,
                       "point_amount": "0.00", "send_pay_date": beijing(trade.gmt_payment),
                       "fund_bill_list": [{"amount": amount, "fund_channel": "ALIPAYACCOUNT"}]})
    return answer


def refund_answer(trade: Trade, *, fund_change: bool, now: datetime) -> dict:
    return {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "buyer_logon_id": trade.buyer_logon_id,
            "buyer_user_id": trade.buyer_user_id, "fund_change": "Y" if fund_change else "N",
            "refund_fee": yuan_text(trade.refunded_amount), "gmt_refund_pay": beijing(now)}


def refund_query_answer(*, app: App, biz: dict) -> dict:
    """alipay.trade.fastpay.refund.query: the refund's fields, or just the ids when there is no such refund."""
    trade = trade_find(app, biz)
    out_request_no = _required(biz, "out_request_no")
    answer = {"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no, "out_request_no": out_request_no}
    refund = trade.refunds.filter(out_request_no=out_request_no).first()
    if refund is not None:
        answer.update({"total_amount": yuan_text(trade.total_amount), "refund_amount": yuan_text(refund.refund_amount),
                       "refund_status": "REFUND_SUCCESS", "gmt_refund_pay": beijing(refund.gmt_refund)})
    return answer


# --- test controls ---------------------------------------------------------------------------------
def controls_update(*, app: App, values: dict) -> dict:
    unknown = set(values) - CONTROL_FIELDS
    if unknown:
        raise invalid_argument("isv.invalid-parameter", f"unknown test controls: {', '.join(sorted(unknown))}",
                               signed=True)
    if "fail_kind" in values and values["fail_kind"] not in FAIL_KINDS:
        raise invalid_argument("isv.invalid-parameter", f"fail_kind is one of {', '.join(FAIL_KINDS)}", signed=True)
    for field, value in values.items():
        setattr(app, field, value)
    app.save(update_fields=sorted(values) or None)
    return controls_answer(app)


def controls_answer(app: App) -> dict:
    return {field: getattr(app, field) for field in sorted(CONTROL_FIELDS)}


def controls_take(app: App, field: str) -> bool:
    """True (and one fewer left) when a `fail_next_calls` / `slow_next_calls` is due for this call."""
    return bool(App.objects.filter(pk=app.pk, **{f"{field}__gt": 0}).update(**{field: F(field) - 1}))

