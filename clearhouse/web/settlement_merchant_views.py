"""The merchant portal's statements: the list, one statement (totals, invoice amounts, lines, timeline, payout),
confirm or dispute it, download it (PDF, XLSX, CSV) and the payout voucher.

Staff of a merchant only (VIEW_STATEMENTS to look, CONFIRM_STATEMENTS to confirm or dispute). Every statement
is found through `statement_get_for`, so another merchant's statement, or a draft, is a 404 on every URL here.
The services check the statement's state; their refusals come back as a message, nothing changed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from clearhouse.accounts.roles import CONFIRM_STATEMENTS, VIEW_STATEMENTS
from clearhouse.core.errors import ValidationFailed
from clearhouse.core.money import Money
from clearhouse.settlement import exports
from clearhouse.settlement import selectors as settlement
from clearhouse.settlement.domain import StatementStatus
from clearhouse.settlement.services import statement_confirm, statement_dispute
from clearhouse.web.forms import first_error
from clearhouse.web.settlement_forms import DisputeForm
from clearhouse.web.settlement_views import (
    download_response,
    merchant_principal,
    payout_state,
    run_action,
    settlement_error_text,
    statement_context,
    statement_for,
    status_badge,
    voucher_response,
)

PAGE_SIZE = 25


@login_required
@require_GET
def merchant_statements(request: HttpRequest) -> HttpResponse:
    principal = merchant_principal(request, VIEW_STATEMENTS)
    page = Paginator(settlement.statement_list_for(principal), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(s, exports.status_label(s.status), status_badge(s.status), exports.period_text(s),
             Money(s.net_minor, s.currency), payout_state(s)) for s in page.object_list]
    return render(request, "web/settlement/merchant_statements.html", {"page": page, "rows": rows})


def _detail(request: HttpRequest, principal, statement, *, dispute_form: DisputeForm | None = None,
            status: int = 200) -> HttpResponse:
    can_act = principal.has_perm(CONFIRM_STATEMENTS) and statement.status == StatementStatus.ISSUED
    return render(request, "web/settlement/merchant_statement.html", {
        **statement_context(request, statement, scope="merchant"),
        "can_confirm": can_act, "can_dispute": can_act, "dispute_form": dispute_form or DisputeForm(),
    }, status=status)


@login_required
@require_GET
def merchant_statement(request: HttpRequest, number: str) -> HttpResponse:
    principal = merchant_principal(request, VIEW_STATEMENTS)
    return _detail(request, principal, statement_for(principal, number))


@login_required
@require_POST
def merchant_statement_confirm(request: HttpRequest, number: str) -> HttpResponse:
    principal = merchant_principal(request, CONFIRM_STATEMENTS)
    statement = statement_for(principal, number)

    def confirm() -> str:
        done = statement_confirm(statement=statement, actor=principal)
        if done.status == StatementStatus.CARRIED_FORWARD:
            return _("Statement %(number)s confirmed. Its balance is carried into your next statement.") % {
                "number": done.number}
        return _("Statement %(number)s confirmed. Finance will pay it out.") % {"number": done.number}

    run_action(request, confirm)
    return redirect("web:merchant_statement", number=statement.number)


@login_required
@require_POST
def merchant_statement_dispute(request: HttpRequest, number: str) -> HttpResponse:
    principal = merchant_principal(request, CONFIRM_STATEMENTS)
    statement = statement_for(principal, number)
    form = DisputeForm(request.POST)
    if not form.is_valid():
        messages.error(request, settlement_error_text(ValidationFailed(first_error(form), param="reason")))
        return _detail(request, principal, statement, dispute_form=form, status=400)

    def dispute() -> str:
        statement_dispute(statement=statement, reason=form.cleaned_data["reason"], actor=principal)
        return _("Statement %(number)s disputed. Finance will answer.") % {"number": statement.number}

    if not run_action(request, dispute):
        return _detail(request, principal, statement, dispute_form=form, status=400)
    return redirect("web:merchant_statement", number=statement.number)


@login_required
@require_GET
def merchant_statement_download(request: HttpRequest, number: str, fmt: str) -> HttpResponse:
    principal = merchant_principal(request, VIEW_STATEMENTS)
    return download_response(request, statement_for(principal, number), fmt)


@login_required
@require_GET
def merchant_statement_voucher(request: HttpRequest, number: str) -> HttpResponse:
    principal = merchant_principal(request, VIEW_STATEMENTS)
    return voucher_response(statement_for(principal, number))
