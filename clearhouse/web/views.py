"""Server-rendered pages. Thin: they read through selectors and render."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from clearhouse.accounts.principal import principal_for_user
from clearhouse.accounts.roles import VIEW_LEDGER
from clearhouse.ledger import selectors


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html")


@login_required
def trial_balance_page(request: HttpRequest) -> HttpResponse:
    principal = principal_for_user(request.user)
    if not principal.has_perm(VIEW_LEDGER) or principal.merchant_id is not None:
        raise PermissionDenied
    as_of = None
    if request.GET.get("as_of"):
        try:
            as_of = date.fromisoformat(request.GET["as_of"])
        except ValueError:
            as_of = None
    tb = selectors.trial_balance(as_of=as_of)
    return render(request, "web/trial_balance.html", {"tb": tb, "totals": sorted(tb.totals().items()),
                                                      "as_of": as_of})


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})
