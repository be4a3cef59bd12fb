"""What the merchant portal's and finance's settlement pages share: who may look, a statement's page context,
its downloads (PDF, XLSX, CSV) and its payout voucher, and refusals as translated messages.

Scoping is the selectors' (`statement_list_for`, `statement_get_for`): a merchant's staff find only their
merchant's statements, issued onwards; anything else is a 404, never a hint that it exists. The voucher is
served here, after that check, from storage: its media path is never linked.

The merchant pages are in settlement_merchant_views.py, finance's in settlement_finance_views.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clearhouse.accounts.mfa import session_is_verified, user_requires_mfa
from clearhouse.accounts.principal import Principal, principal_for_user
from clearhouse.accounts.roles import MANAGE_FEE_RULES
from clearhouse.core.errors import DomainError, NotFound
from clearhouse.core.money import Money
from clearhouse.settlement import exports
from clearhouse.settlement import selectors as settlement
from clearhouse.settlement.domain import StatementStatus
from clearhouse.settlement.models import Statement
from clearhouse.web.errors import error_text

LINES_PAGE_SIZE = 100
S = StatementStatus

# Refusals of the settlement services, in the page's language (codes from settlement/domain.py and core/errors).
MESSAGES = {
    "statement_locked": gettext_lazy("This statement is confirmed and locked: it cannot be changed."),
    "invalid_transition": gettext_lazy("The statement is not in a state that allows this."),
    "payout_amount_mismatch": gettext_lazy("The payout amount must equal the statement's net amount."),
    "voucher_not_accepted": gettext_lazy("The voucher must be a PDF, PNG or JPEG file of at most 10 MB."),
    "nothing_to_settle": gettext_lazy("No eligible, unsettled orders match: nothing was generated."),
    "no_fee_rule": gettext_lazy("No fee rule covers this merchant's business type and dates."),
    "statement_totals_stale": gettext_lazy("The statement's totals do not match its lines; finance must "
                                           "re-issue it."),
    "fee_rule_overlap": gettext_lazy("Another fee rule for the same scope and currency is effective on some of "
                                     "these dates."),
    "permission_denied": gettext_lazy("You are not allowed to do this."),
}
STATUS_BADGES = {S.PAID: "ok", S.CONFIRMED: "ok", S.DISPUTED: "bad", S.CARRIED_FORWARD: ""}
EVENT_LABELS = {
    "generated": gettext_lazy("Generated"), "created": gettext_lazy("Generated"),
    "issued": gettext_lazy("Issued"), "confirmed": gettext_lazy("Confirmed"),
    "disputed": gettext_lazy("Disputed"), "adjusted": gettext_lazy("Adjusted and issued again"),
    "reissued": gettext_lazy("Re-issued"), "paid": gettext_lazy("Paid out"),
    "carried_forward": gettext_lazy("Balance carried forward"),
}


def settlement_error_text(exc: DomainError) -> str:
    """The sentence for a refused request, with its stable code (support asks for it)."""
    message = MESSAGES.get(exc.code)
    text = str(message) if message is not None else error_text(exc)
    return f"{text} ({exc.code})"


def run_action(request: HttpRequest, action: Callable[[], str]) -> bool:
    """Run one service call; show its success message or the refusal. True when it succeeded."""
    try:
        done = action()
    except DomainError as exc:
        messages.error(request, settlement_error_text(exc))
        return False
    messages.success(request, done)
    return True


# --- who may look -----------------------------------------------------------------------------
def merchant_principal(request: HttpRequest, perm: str) -> Principal:
    """Staff of a merchant with `perm`; everyone else (customers, platform staff) is refused."""
    principal = principal_for_user(request.user)
    if principal.merchant_id is None or not principal.has_perm(perm):
        raise PermissionDenied
    return principal


def platform_principal(request: HttpRequest, perm: str) -> Principal:
    """Platform staff with `perm`, in a session verified with a second factor (finance and admin roles)."""
    principal = principal_for_user(request.user)
    if principal.merchant_id is not None or not principal.has_perm(perm):
        raise PermissionDenied
    if user_requires_mfa(request.user) and not session_is_verified(request):
        raise PermissionDenied  # the MFA middleware sends such sessions to the verify page first
    return principal


def admin_links(principal: Principal) -> list[tuple[str, str]]:
    """Links to the Django admin's fee rules and schedules, for those who keep them (when registered there)."""
    if not principal.has_perm(MANAGE_FEE_RULES):
        return []
    links = []
    for label, name in ((_("Fee rules (admin)"), "admin:settlement_feerule_changelist"),
                        (_("Schedules (admin)"), "admin:settlement_settlementschedule_changelist")):
        try:
            links.append((label, reverse(name)))
        except NoReverseMatch:
            continue
    return links


def finance_render(request: HttpRequest, principal: Principal, template: str, context: dict, *, section: str,
                   status: int = 200) -> HttpResponse:
    """A finance settlement page, with its sub-navigation."""
    return render(request, template, {**context, "section": section, "admin_links": admin_links(principal)},
                  status=status)


def statement_for(principal: Principal, number: str) -> Statement:
    """The statement if this caller may see it, else 404 (another merchant's and a draft look the same)."""
    try:
        return settlement.statement_get_for(principal, number=number)
    except NotFound:
        raise Http404 from None


# --- a statement's page -----------------------------------------------------------------------
@dataclass(frozen=True)
class LineRow:
    line: object
    reference: str
    kind: str
    collected: Money
    fees: Money
    service_fee: Money
    payment_fee: Money
    refunds: Money
    platform_funded: Money
    net: Money
    rate: str


@dataclass(frozen=True)
class EventRow:
    event: object
    label: str
    detail: str


def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, "")


def payout_state(statement: Statement) -> str:
    """Where the money is, in one phrase: paid, awaiting payout, carried forward, or waiting for confirmation."""
    if statement.status == S.PAID:
        return _("Paid")
    if statement.status == S.CARRIED_FORWARD:
        return _("Nothing to pay: carried forward")
    if statement.status == S.CONFIRMED:
        return _("Awaiting payout")
    if statement.status == S.DISPUTED:
        return _("On hold: disputed")
    return _("Awaiting confirmation")


def _event_detail(event, currency: str) -> str:
    params = event.parameters or {}
    if params.get("reason"):
        return str(params["reason"])
    if event.type == "adjusted" and "amount_minor" in params:
        amount = Money(int(params["amount_minor"]), currency).to_string()
        return f"{amount} {currency} · {params.get('note', '')}".strip(" ·")
    if event.type == "paid" and params.get("reference"):
        return str(params["reference"])
    return ""


def _line_rows(statement: Statement, page) -> list[LineRow]:
    carried = exports.carried_from_numbers(statement)
    currency = statement.currency

    def m(minor: int) -> Money:
        return Money(minor, currency)

    rows = []
    for line in page.object_list:
        rows.append(LineRow(line, exports.line_reference(line, carried), exports.kind_label(line.kind),
                            m(line.collected_minor), m(line.service_fee_minor + line.payment_fee_minor),
                            m(line.service_fee_minor), m(line.payment_fee_minor), m(line.refunds_minor),
                            m(line.platform_funded_minor), m(line.net_minor), exports.rate_text(line.fee_rate_ppm)))
    return rows


def statement_context(request: HttpRequest, statement: Statement, *, scope: str) -> dict:
    """Totals (with the two invoice amounts), a page of lines, the status timeline, the payout and the download
    links of the `scope`'s pages ("merchant" or "finance")."""
    def m(minor: int | None) -> Money | None:
        return None if minor is None else Money(minor, statement.currency)

    page = Paginator(settlement.statement_lines(statement=statement), LINES_PAGE_SIZE).get_page(
        request.GET.get("page"))
    events = [EventRow(e, str(EVENT_LABELS.get(e.type, e.type.replace("_", " ").capitalize())),
                       _event_detail(e, statement.currency)) for e in settlement.statement_events(statement=statement)]
    return {
        "statement": statement, "status_label": exports.status_label(statement.status),
        "status_badge": status_badge(statement.status), "period": exports.period_text(statement),
        "totals": [(label, m(minor)) for label, minor in exports.summary_rows(statement)[:9]],
        "net": m(statement.net_minor), "platform_funded": m(statement.platform_funded_minor),
        "charged_by_platform": m(statement.charged_by_platform_minor),
        "payout_amount": m(statement.payout_amount_minor), "payout_state": payout_state(statement),
        "lines_page": page, "lines": _line_rows(statement, page), "events": events,
        "show_actors": scope == "finance",
        "downloads": [(label, reverse(f"web:{scope}_statement_{fmt}", args=[statement.number]))
                      for fmt, label in (("pdf", "PDF"), ("xlsx", "Excel (XLSX)"), ("csv", "CSV"))],
        "voucher_url": reverse(f"web:{scope}_statement_voucher", args=[statement.number])
        if statement.payout_voucher else "",
    }


# --- downloads ----------------------------------------------------------------------------------
DOWNLOADS = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def download_response(request: HttpRequest, statement: Statement, fmt: str) -> HttpResponse:
    """The statement as a PDF, XLSX or CSV attachment, in the page's language."""
    language = request.LANGUAGE_CODE or "en"
    if fmt == "pdf":
        content = exports.statement_pdf(statement, language=language)
    elif fmt == "xlsx":
        content = exports.statement_xlsx(statement, language=language)
    elif fmt == "csv":
        content = exports.statement_csv(statement)
    else:
        raise Http404
    response = HttpResponse(content, content_type=DOWNLOADS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{exports.export_filename(statement, fmt)}"'
    response["Cache-Control"] = "private, no-store"
    return response


VOUCHER_EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


def voucher_response(statement: Statement) -> FileResponse:
    """The payout voucher from storage, as the type judged when it was uploaded (never the uploader's word)."""
    if not statement.payout_voucher:
        raise Http404
    content_type = statement.payout_voucher_type if statement.payout_voucher_type in VOUCHER_EXTENSIONS \
        else "application/octet-stream"
    extension = VOUCHER_EXTENSIONS.get(content_type, "bin")
    try:
        handle = statement.payout_voucher.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=content_type, as_attachment=True,
                            filename=f"payout-voucher-{statement.number}.{extension}")
    response["Cache-Control"] = "private, no-store"
    return response
