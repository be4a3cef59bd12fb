"""The buyer's side of the simulator: the "scan and pay" page that stands in for WeChat on a phone.

`/sandbox/wechatpay/scan/?code_url=weixin://wxpay/bizpayurl?pr=…` (or `?mchid=…&out_trade_no=…`) shows what
scanning the QR code shows (merchant, description, amount) and lets the
demo buyer pay, fail (balance too low) or cancel. A `return_url` (http or
https only) takes the browser back to the shop afterwards, with
`?out_trade_no=…` so the shop asks the provider where the payment stands.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods

from clearhouse.core.errors import DomainError
from clearhouse.core.money import Money
from clearhouse.sandbox.wechatpay.domain import TradeState, WeChatPayError
from clearhouse.sandbox.wechatpay.models import Transaction
from clearhouse.sandbox.wechatpay.services import transaction_scan

DECISIONS = ("pay", "fail", "cancel")


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def _safe_return_url(url: str) -> str:
    """Only http(s) addresses: never javascript: or data: from a query string."""
    return url if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc else ""


def _amount(trade: Transaction) -> str:
    locale = "zh_Hans_CN" if (get_language() or "").lower().startswith("zh") else "en"
    try:
        return Money(trade.total, trade.currency).format(locale)
    except DomainError:
        return f"{trade.total} fen"


def _trade(*, code_url: str, mchid: str, out_trade_no: str) -> Transaction:
    """By the code the phone scanned, or (a link on the shop's page after a refresh) by merchant and number."""
    trades = Transaction.objects.select_related("merchant")
    if code_url:
        trade = trades.filter(code_url=code_url).first()
    else:
        trade = trades.filter(merchant__mchid=mchid, out_trade_no=out_trade_no).first() if out_trade_no else None
    if trade is None:
        raise Http404("Unknown or expired payment code.")
    return trade


@require_http_methods(["GET", "POST"])
def scan(request: HttpRequest) -> HttpResponse:
    def param(name: str) -> str:
        return request.GET.get(name) or request.POST.get(name) or ""

    return_url = _safe_return_url(param("return_url"))
    trade = _trade(code_url=param("code_url"), mchid=param("mchid"), out_trade_no=param("out_trade_no"))
    code_url = trade.code_url
    decision = request.POST.get("decision", "") if request.method == "POST" else ""
    if decision in DECISIONS:
        try:
            trade = transaction_scan(code_url=code_url, decision=decision)
        except WeChatPayError:
            trade.refresh_from_db()
        if return_url:
            return HttpResponseRedirect(_with_query(return_url, out_trade_no=trade.out_trade_no))
    return render(request, "sandbox_wechatpay/scan.html", {
        "trade": trade, "amount": _amount(trade), "code_url": code_url, "return_url": return_url,
        "payable": trade.trade_state in (TradeState.NOTPAY, TradeState.USERPAYING),
        "paid": trade.trade_state in (TradeState.SUCCESS, TradeState.REFUND),
        "decision": decision,
    })
