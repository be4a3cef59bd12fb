"""Finance's settlement back office: statements by status (issue, adjust, re-issue, record the payout with its
voucher), blocked orders, manual statements, totals per period, and the fee rule and schedule simulations.

Platform staff only, with a second factor: VIEW_STATEMENTS to look, PREPARE_STATEMENTS to issue, adjust,
re-issue and generate, RECORD_PAYOUTS for the payout. Merchant staff are refused here (their pages are the
portal's). Forms parse; the settlement services decide. A refused form shows again with what was typed and
the refusal's message and code; the services are all or nothing, so nothing changed.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from clearhouse.accounts.principal import Principal
from clearhouse.accounts.roles import PREPARE_STATEMENTS, RECORD_PAYOUTS, VIEW_STATEMENTS
from clearhouse.accounts.services import merchant_get
from clearhouse.core.errors import DomainError, NotFound, ValidationFailed
from clearhouse.core.money import Money
from clearhouse.settlement import exports
from clearhouse.settlement import selectors as settlement
from clearhouse.settlement.domain import StatementStatus
from clearhouse.settlement.models import Statement
from clearhouse.settlement.services import (
    statement_adjust,
    statement_issue,
    statement_record_payout,
    statement_reissue,
)
from clearhouse.web.forms import first_error
from clearhouse.web.settlement_forms import STATUS_CHOICES, AdjustForm, PayoutForm, StatementFilterForm
from clearhouse.web.settlement_views import (
    download_response,
    finance_render,
    payout_state,
    platform_principal,
    run_action,
    settlement_error_text,
    statement_context,
    statement_for,
    status_badge,
    voucher_response,
)

PAGE_SIZE = 50
S = StatementStatus


# --- statements ----------------------------------------------------------------------------------
def _statement_filters(request: HttpRequest, form: StatementFilterForm) -> dict | None:
    """The selector's filters from the form; None when they match nothing (an unknown merchant)."""
    if not form.is_valid():
        messages.error(request, first_error(form))
        return {}
    data = form.cleaned_data
    filters = {"status": data["status"], "currency": data["currency"].upper()}
    if data["merchant"]:
        try:
            filters["merchant_id"] = merchant_get(code=data["merchant"]).pk
        except NotFound:
            messages.error(request, _("There is no merchant %(code)s.") % {"code": data["merchant"]})
            return None
    return {k: v for k, v in filters.items() if v}


@login_required
@require_GET
def finance_statements(request: HttpRequest) -> HttpResponse:
    """Statements newest first, filtered by status, merchant and currency, with a count per status."""
    principal = platform_principal(request, VIEW_STATEMENTS)
    form = StatementFilterForm(request.GET)
    filters = _statement_filters(request, form)
    if filters is None:
        qs, counts = Statement.objects.none(), {}
    else:
        qs = settlement.statement_list_for(principal, **filters)
        unfiltered = settlement.statement_list_for(principal, **{k: v for k, v in filters.items() if k != "status"})
        counts = dict(unfiltered.order_by().values("status").annotate(n=Count("id")).values_list("status", "n"))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {k: v for k, v in request.GET.items() if k in form.fields and v}
    return finance_render(request, principal, "web/settlement/finance_statements.html", {
        "form": form, "page": page, "filter_query": urlencode(query),
        "rows": [(s, exports.status_label(s.status), status_badge(s.status), exports.period_text(s),
                  Money(s.net_minor, s.currency), payout_state(s)) for s in page.object_list],
        "counts": [(code, label, counts.get(code, 0)) for code, label in STATUS_CHOICES],
        "status": (filters or {}).get("status", ""),
        "base_query": urlencode({k: v for k, v in query.items() if k != "status"}),
    }, section="statements")


def _detail(request: HttpRequest, principal: Principal, statement: Statement, *, adjust_form=None,
            payout_form=None, status: int = 200) -> HttpResponse:
    net = Money(statement.net_minor, statement.currency)
    can_prepare = principal.has_perm(PREPARE_STATEMENTS)
    return finance_render(request, principal, "web/settlement/finance_statement.html", {
        **statement_context(request, statement, scope="finance"),
        "can_issue": can_prepare and statement.status == S.DRAFT,
        "can_resolve": can_prepare and statement.status == S.DISPUTED,
        "can_pay": principal.has_perm(RECORD_PAYOUTS) and statement.status == S.CONFIRMED and net.minor > 0,
        "adjust_form": adjust_form or AdjustForm(),
        "payout_form": payout_form or PayoutForm(initial={"amount": net.to_string(),
                                                          "payout_date": timezone.localdate()}),
    }, section="statements", status=status)


@login_required
@require_GET
def finance_statement(request: HttpRequest, number: str) -> HttpResponse:
    principal = platform_principal(request, VIEW_STATEMENTS)
    return _detail(request, principal, statement_for(principal, number))


def _issue(request, principal, statement) -> str:
    statement_issue(statement=statement, actor=principal)
    return _("Statement %(number)s issued: the merchant can see it now.") % {"number": statement.number}


def _reissue(request, principal, statement) -> str:
    done = statement_reissue(statement=statement, actor=principal)
    return _("Statement %(number)s re-issued (revision %(revision)s).") % {"number": done.number,
                                                                          "revision": done.revision}


def _adjust(request, principal, statement) -> str:
    form = AdjustForm(request.POST)
    if not form.is_valid():
        raise ValidationFailed(first_error(form))
    amount = Money.parse(form.cleaned_data["amount"], statement.currency, param="amount")
    done = statement_adjust(statement=statement, amount_minor=amount.minor, note=form.cleaned_data["note"],
                            actor=principal)
    return _("Adjustment of %(amount)s %(currency)s added; statement %(number)s issued again.") % {
        "amount": amount.to_string(), "currency": amount.currency, "number": done.number}


STATEMENT_ACTIONS = {"issue": _issue, "reissue": _reissue, "adjust": _adjust}


@login_required
@require_POST
def finance_statement_action(request: HttpRequest, number: str) -> HttpResponse:
    """Issue a draft, or answer a dispute: adjust (amount + note) or re-issue."""
    principal = platform_principal(request, PREPARE_STATEMENTS)
    statement = statement_for(principal, number)
    action = request.POST.get("action", "")
    handler = STATEMENT_ACTIONS.get(action)
    if handler is None:
        messages.error(request, _("Unknown action."))
    elif not run_action(request, lambda: handler(request, principal, statement)) and action == "adjust":
        statement.refresh_from_db()
        return _detail(request, principal, statement, adjust_form=AdjustForm(request.POST), status=400)
    return redirect("web:finance_statement", number=statement.number)


@login_required
@require_POST
def finance_statement_payout(request: HttpRequest, number: str) -> HttpResponse:
    """Record the payout: date, amount, bank reference and the voucher (multipart)."""
    principal = platform_principal(request, RECORD_PAYOUTS)
    statement = statement_for(principal, number)
    form = PayoutForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise ValidationFailed(first_error(form))
        amount = Money.parse(form.cleaned_data["amount"], statement.currency, param="amount")
        statement_record_payout(statement=statement, amount_minor=amount.minor,
                                payout_date=form.cleaned_data["payout_date"],
                                reference=form.cleaned_data["reference"], voucher=form.cleaned_data["voucher"],
                                actor=principal)
    except DomainError as exc:
        messages.error(request, settlement_error_text(exc))
        statement.refresh_from_db()
        return _detail(request, principal, statement, payout_form=form, status=400)
    messages.success(request, _("Payout of statement %(number)s recorded.") % {"number": statement.number})
    return redirect("web:finance_statement", number=statement.number)


@login_required
@require_GET
def finance_statement_download(request: HttpRequest, number: str, fmt: str) -> HttpResponse:
    principal = platform_principal(request, VIEW_STATEMENTS)
    return download_response(request, statement_for(principal, number), fmt)


@login_required
@require_GET
def finance_statement_voucher(request: HttpRequest, number: str) -> HttpResponse:
    principal = platform_principal(request, VIEW_STATEMENTS)
    return voucher_response(statement_for(principal, number))
