"""The buyer's side of the Alipay simulator: the cashier (page pay) and the "scan and pay" page (QR).

Both show the trade, let the buyer "log in" with a test account and pay, or cancel. Paying by page pay
sends the browser back to the merchant's return_url with Alipay's signed sync-return parameters
(method=alipay.trade.page.pay.return); the notification goes to notify_url after commit. The password
typed here is checked for presence only and goes no further than this request.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from clearhouse.sandbox.alipay import services
from clearhouse.sandbox.alipay.domain import AlipayError, TradeStatus, beijing, sign_params, yuan_text
from clearhouse.sandbox.alipay.models import Trade


def _safe(url: str) -> str:
    """Only http(s) addresses: never javascript: or data:."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


def sync_return_url(trade: Trade) -> str:
    """return_url with the signed sync-return parameters Alipay appends after a page-pay payment."""
    app = trade.app
    params = sign_params(app.alipay_private_key, {
        "charset": "utf-8", "out_trade_no": trade.out_trade_no, "method": "alipay.trade.page.pay.return",
        "total_amount": yuan_text(trade.total_amount), "trade_no": trade.trade_no, "auth_app_id": app.app_id,
        "version": "1.0", "app_id": app.app_id, "sign_type": "RSA2", "seller_id": app.seller_id,
        "timestamp": beijing(timezone.now()),
    })
    url = _safe(trade.return_url)
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def cashier(request: HttpRequest, token: str) -> HttpResponse:
    trade = get_object_or_404(Trade.objects.select_related("app"), token=token)
    error = ""
    if request.method == "POST" and trade.status == TradeStatus.WAIT_BUYER_PAY:
        action = request.POST.get("action")
        account = request.POST.get("account", "").strip()
        if action == "cancel":
            with transaction.atomic():
                trade = services.trade_buyer_cancel(trade_id=trade.pk, now=timezone.now())
            if _safe(trade.return_url):  # unsigned: the merchant must ask (alipay.trade.query) what happened
                url = _safe(trade.return_url)
                return HttpResponseRedirect(f"{url}{'&' if '?' in url else '?'}"
                                            f"{urlencode({'out_trade_no': trade.out_trade_no})}")
        elif not account or not request.POST.get("password"):
            error = _("Enter the Alipay account and its password.")
        else:
            try:
                with transaction.atomic():
                    trade = services.trade_pay(trade_id=trade.pk, buyer_account=account, now=timezone.now())
            except AlipayError as exc:
                error = _("Payment failed: the balance is not enough.") \
                    if exc.sub_code == "ACQ.BUYER_BALANCE_NOT_ENOUGH" else exc.sub_msg
            else:
                if _safe(trade.return_url):
                    return HttpResponseRedirect(sync_return_url(trade))
        trade.refresh_from_db()
    return render(request, "sandbox_alipay/cashier.html", {
        "trade": trade, "amount": yuan_text(trade.total_amount), "error": error,
        "payable": trade.status == TradeStatus.WAIT_BUYER_PAY,
        "paid": trade.status in services.PAID or (trade.status == TradeStatus.TRADE_CLOSED
                                                  and trade.gmt_payment is not None),
        "buyers": [(services.BUYER_OK, _("pays")), (services.BUYER_NO_BALANCE, _("has no balance: payment fails"))],
        "return_url": _safe(trade.return_url),
    })
