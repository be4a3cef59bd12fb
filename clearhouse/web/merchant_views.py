"""Merchant portal pages: stock of the merchant's SKUs (with a receive form) and its low-stock alerts.

Only signed-in staff of a merchant reach them, and every read is scoped to
that merchant by the inventory selectors: another merchant's SKU is unknown.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from clearhouse.accounts.principal import Principal, principal_for_user
from clearhouse.accounts.roles import MANAGE_STOCK, VIEW_STOCK
from clearhouse.core.errors import DomainError
from clearhouse.inventory import selectors as inventory
from clearhouse.inventory.services import stock_receive
from clearhouse.web.forms import StockReceiveForm

STOCK_PAGE_SIZE = 50


def _merchant_principal(request: HttpRequest, perm: str) -> Principal:
    principal = principal_for_user(request.user)
    if principal.merchant_id is None or not principal.has_perm(perm):
        raise PermissionDenied
    return principal


def _receive(request: HttpRequest, principal: Principal) -> None:
    form = StockReceiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a whole number of units from 1 to 1,000,000."))
        return
    try:
        level = inventory.stock_get(variant_id=form.cleaned_data["variant_id"], merchant_id=principal.merchant_id)
        stock_receive(variant_id=level.variant_id, quantity=form.cleaned_data["quantity"], actor=principal,
                      reference_type="web", note=form.cleaned_data["note"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return
    messages.success(request, _("Received %(quantity)s units of %(sku)s.")
                     % {"quantity": form.cleaned_data["quantity"], "sku": level.sku})


@login_required
def merchant_stock(request: HttpRequest) -> HttpResponse:
    principal = _merchant_principal(request, VIEW_STOCK)
    if request.method == "POST":
        if not principal.has_perm(MANAGE_STOCK):
            raise PermissionDenied
        _receive(request, principal)
        return redirect(request.get_full_path())
    low_only = request.GET.get("low") == "1"
    variants = inventory.stock_list(merchant_id=principal.merchant_id, low_only=low_only).select_related("product")
    page = Paginator(variants, STOCK_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(v, inventory.stock_level_of(v)) for v in page.object_list]
    return render(request, "web/merchant/stock.html", {
        "page": page, "rows": rows, "low_only": low_only, "can_receive": principal.has_perm(MANAGE_STOCK),
    })


@login_required
def merchant_low_stock(request: HttpRequest) -> HttpResponse:
    principal = _merchant_principal(request, VIEW_STOCK)
    alerts = list(inventory.low_stock_alert_list(merchant_id=principal.merchant_id)
                  .select_related("variant__product")[:500])
    available = inventory.available_of(variant_ids=[a.variant_id for a in alerts])
    return render(request, "web/merchant/low_stock.html", {
        "alerts": [(a, available[a.variant_id]) for a in alerts],
    })
