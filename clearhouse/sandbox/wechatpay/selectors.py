"""Reads of the WeChat Pay simulator, and the JSON shapes of API v3 it answers and calls back with."""

from __future__ import annotations

from clearhouse.sandbox.wechatpay.domain import WeChatPayError, rfc3339_cst
from clearhouse.sandbox.wechatpay.models import Merchant, Refund, TestControls, Transaction


def merchant_get(*, mchid: str) -> Merchant:
    merchant = Merchant.objects.filter(mchid=mchid).first()
    if merchant is None:
        raise WeChatPayError(400, "MCH_NOT_EXISTS", "商户号不存在")
    return merchant


def transaction_get(*, merchant: Merchant, out_trade_no: str) -> Transaction:
    trade = Transaction.objects.filter(merchant=merchant, out_trade_no=out_trade_no).first()
    if trade is None:
        raise WeChatPayError(404, "ORDER_NOT_EXIST", "订单不存在")
    return trade


def transaction_by_id(*, merchant: Merchant, transaction_id: str) -> Transaction:
    trade = Transaction.objects.filter(merchant=merchant, transaction_id=transaction_id).first() \
        if transaction_id else None
    if trade is None:
        raise WeChatPayError(404, "ORDER_NOT_EXIST", "订单不存在")
    return trade


def refund_get(*, merchant: Merchant, out_refund_no: str) -> Refund:
    refund = Refund.objects.select_related("transaction").filter(merchant=merchant,
                                                                 out_refund_no=out_refund_no).first()
    if refund is None:
        raise WeChatPayError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
    return refund


def controls_get(*, merchant: Merchant) -> TestControls:
    return TestControls.objects.get_or_create(merchant=merchant)[0]


def transaction_json(trade: Transaction) -> dict:
    """The transaction as query answers and TRANSACTION.* callbacks show it."""
    paid = trade.trade_state in ("SUCCESS", "REFUND")
    body = {
        "appid": trade.appid, "mchid": trade.merchant.mchid, "out_trade_no": trade.out_trade_no,
        "trade_type": "NATIVE", "trade_state": trade.trade_state,
        "trade_state_desc": trade.trade_state_desc or _STATE_DESC.get(trade.trade_state, ""),
        "attach": trade.attach,
        "amount": {"total": trade.total, "currency": trade.currency,
                   "payer_total": trade.total if paid else 0, "payer_currency": trade.currency},
    }
    if trade.transaction_id:
        body["transaction_id"] = trade.transaction_id
    if paid:
        body |= {"bank_type": "OTHERS", "success_time": rfc3339_cst(trade.success_time),
                 "payer": {"openid": trade.payer_openid}}
    return body


_STATE_DESC = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "REFUND": "转入退款", "CLOSED": "已关闭",
               "USERPAYING": "用户支付中", "PAYERROR": "支付失败"}


def refund_json(refund: Refund) -> dict:
    """The refund as the refund API answers it."""
    trade = refund.transaction
    body = {
        "refund_id": refund.refund_id, "out_refund_no": refund.out_refund_no,
        "transaction_id": trade.transaction_id, "out_trade_no": trade.out_trade_no, "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱", "create_time": rfc3339_cst(refund.created),
        "status": refund.status, "funds_account": "AVAILABLE",
        "amount": {"refund": refund.amount, "total": trade.total, "payer_refund": refund.amount,
                   "payer_total": trade.total, "settlement_refund": refund.amount,
                   "settlement_total": trade.total, "discount_refund": 0, "currency": trade.currency,
                   "refund_fee": 0},
    }
    if refund.success_time:
        body["success_time"] = rfc3339_cst(refund.success_time)
    return body


def refund_notification_json(refund: Refund) -> dict:
    """The decrypted resource of a REFUND.* callback (its own shape: `refund_status`, no currency)."""
    trade = refund.transaction
    body = {
        "mchid": refund.merchant.mchid, "out_trade_no": trade.out_trade_no,
        "transaction_id": trade.transaction_id, "out_refund_no": refund.out_refund_no,
        "refund_id": refund.refund_id, "refund_status": refund.status,
        "user_received_account": "支付用户零钱",
        "amount": {"total": trade.total, "refund": refund.amount, "payer_total": trade.total,
                   "payer_refund": refund.amount},
    }
    if refund.success_time:
        body["success_time"] = rfc3339_cst(refund.success_time)
    return body


def controls_json(controls: TestControls) -> dict:
    return {"fail_next_calls": controls.fail_next_calls, "slow_next_calls": controls.slow_next_calls,
            "slow_s": controls.slow_s, "drop_notifications": controls.drop_notifications,
            "duplicate_notifications": controls.duplicate_notifications,
            "hold_notifications": controls.hold_notifications}
