"""The buyer's side of the PayPal simulator: the checkout page at /sandbox/paypal/checkoutnow?token=<order id>.

The buyer "logs in" with one of the test buyer accounts (any password; the
password goes no further than this request), then approves, which sends the
browser to the order's return_url with `token=<order id>&PayerID=<payer id>`,
or cancels, which sends it to cancel_url with `token=<order id>` only.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from clearhouse.core.errors import DomainError
from clearhouse.core.money import Money
from clearhouse.sandbox.paypal.domain import TEST_BUYERS, Behaviour, PayPalError, format_value
from clearhouse.sandbox.paypal.models import Order
from clearhouse.sandbox.paypal.services import order_approve

BUYER_LABELS = {
    Behaviour.PAYS: _("Pays from the PayPal balance"),
    Behaviour.DECLINED: _("Funding declined (the merchant's capture is refused)"),
    Behaviour.PENDING: _("Pays by eCheck: the capture stays pending"),
    Behaviour.DENIED: _("The capture is denied"),
}


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def _safe(url: str) -> str:
    """Only http(s) addresses: never javascript: or data: from an order's return URL."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


def _amount(order: Order) -> str:
    locale = "zh_Hans_CN" if (get_language() or "").lower().startswith("zh") else "en"
    try:
        return Money.parse(format_value(order.value, order.currency), order.currency).format(locale)
    except DomainError:
        return f"{format_value(order.value, order.currency)} {order.currency}"


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def checkoutnow(request: HttpRequest) -> HttpResponse:
    order = get_object_or_404(Order.objects.select_related("app"), pk=request.GET.get("token", "")[:20])
    waiting = order.status in ("CREATED", "PAYER_ACTION_REQUIRED")
    error = ""
    if request.method == "POST" and waiting:
        if request.POST.get("decision") == "cancel":
            target = _safe(order.cancel_url)
            if target:
                return HttpResponseRedirect(with_query(target, token=order.id))
            error = _("You cancelled. You can close this page.")
        elif not request.POST.get("email", "").strip() or not request.POST.get("password", ""):
            error = _("Enter the test buyer's email and any password.")
        else:
            try:
                order = order_approve(order_id=order.id, buyer_email=request.POST["email"])
            except PayPalError:
                order.refresh_from_db()
            else:
                target = _safe(order.return_url)
                if target:
                    return HttpResponseRedirect(with_query(target, token=order.id, PayerID=order.payer_id))
            waiting = False
    return render(request, "sandbox_paypal/checkout.html", {
        "order": order, "waiting": waiting, "amount": _amount(order), "error": error,
        "buyers": [(email, BUYER_LABELS[behaviour]) for email, behaviour in TEST_BUYERS.items()],
        "email_value": request.POST.get("email", "buyer@example.com"),
    })
