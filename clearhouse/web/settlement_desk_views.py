"""Finance's settlement desk: blocked orders with their reasons, manual statements from ticked eligible orders,
totals per period (a table and a bar chart), and the fee rule and schedule simulations (dry runs, nothing saved).

Platform staff with a second factor only (`platform_principal`). Reads go through the settlement selectors
(`selectors_eligibility`, `simulation`); the manual statement through `statement_generate_manual`, with a
token made when the form was shown as its run key: submitting the form twice (a double click, a reload)
returns the statement already made instead of a second one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from clearhouse.accounts.models import BusinessType, Merchant
from clearhouse.accounts.principal import Principal
from clearhouse.accounts.roles import MANAGE_FEE_RULES, PREPARE_STATEMENTS, VIEW_STATEMENTS
from clearhouse.accounts.services import merchant_get
from clearhouse.core.errors import DomainError, NotFound, ValidationFailed
from clearhouse.core.money import Money, normalise_currency
from clearhouse.orders.models import Order
from clearhouse.settlement import selectors_eligibility as eligibility
from clearhouse.settlement.domain import (
    Cycle,
    FeeTerms,
    PaymentFeeBasis,
    ScheduleTerms,
    StatementStatus,
    rate_to_ppm,
)
from clearhouse.settlement.services import simulation, statement_generate_manual
from clearhouse.settlement.services.simulation import ProposedFeeRule
from clearhouse.web.forms import first_error
from clearhouse.web.settlement_forms import (
    FeeRuleSimulationForm,
    ManualFilterForm,
    ManualGenerateForm,
    PeriodForm,
    ScheduleSimulationForm,
    last_month,
)
from clearhouse.web.settlement_views import finance_render, platform_principal, settlement_error_text

LIST_LIMIT = 500
CHART_JS = "web/chart.umd.min.js"  # served from our static files when present (machines are offline: no CDN)
REASONS = {
    "no_fee_rule": gettext_lazy("No fee rule covers the merchant's business type and the date"),
}


def _business_types() -> list[BusinessType]:
    return list(BusinessType.objects.order_by("name"))


def _business_type(code: str) -> BusinessType | None:
    return BusinessType.objects.filter(code=code).first() if code else None


def _merchant_or_error(request: HttpRequest, code: str) -> Merchant | None:
    try:
        return merchant_get(code=code)
    except NotFound:
        messages.error(request, _("There is no merchant %(code)s.") % {"code": code})
        return None


# --- blocked orders ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BlockedRow:
    order: Order
    collected: Money
    reason: str


def _collected(order: Order) -> Money:
    """What the merchant sold the order for (domain.order_amounts' definition: order amount - merchant coupon)."""
    return Money(order.subtotal_minor + order.shipping_fee_minor - order.merchant_coupon_amount_minor,
                 order.currency)


@login_required
@require_GET
def finance_settlement_blocked(request: HttpRequest) -> HttpResponse:
    """Orders ready to settle that cannot be, with the reason (for now: no fee rule)."""
    principal = platform_principal(request, VIEW_STATEMENTS)
    code = (request.GET.get("merchant") or "").strip()[:50]
    merchant = _merchant_or_error(request, code) if code else None
    found = [] if code and merchant is None else list(
        eligibility.blocked_orders(merchant_id=merchant.pk if merchant else None)[:LIST_LIMIT + 1])
    rows = [BlockedRow(o, _collected(o), str(REASONS.get(o.blocked_reason, o.blocked_reason)))
            for o in found[:LIST_LIMIT]]
    return finance_render(request, principal, "web/settlement/blocked.html", {
        "rows": rows, "truncated": len(found) > LIST_LIMIT, "merchant_code": code,
    }, section="blocked")


# --- manual statements -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class EligibleRow:
    order: Order
    collected: Money
    checked: bool


def _eligible(merchant: Merchant, data: dict, ticked: set[int] | None) -> tuple[list[EligibleRow], bool]:
    """The merchant's eligible orders (the first LIST_LIMIT), ticked unless the form said otherwise."""
    business_type = _business_type(data.get("business_type") or "")
    found = list(eligibility.eligible_orders(
        merchant_id=merchant.pk, currency=(data.get("currency") or "").upper() or None,
        completed_from=data.get("date_from"), completed_to=data.get("date_to"),
        business_type_id=business_type.pk if business_type else None)[:LIST_LIMIT + 1])
    rows = [EligibleRow(o, _collected(o), ticked is None or o.pk in ticked) for o in found[:LIST_LIMIT]]
    return rows, len(found) > LIST_LIMIT


@login_required
@require_http_methods(["GET", "POST"])
def finance_settlement_manual(request: HttpRequest) -> HttpResponse:
    """GET: filters -> the merchant's eligible orders with checkboxes. POST: generate from the ticked ones."""
    principal = platform_principal(request, PREPARE_STATEMENTS)
    if request.method == "POST":
        return _manual_generate(request, principal)
    bound = bool(request.GET.get("merchant"))
    form = ManualFilterForm(request.GET if bound else None, business_types=_business_types())
    return _manual_page(request, principal, form, ticked=None)


def _manual_page(request: HttpRequest, principal: Principal, form: ManualFilterForm, *, ticked: set[int] | None,
                 status: int = 200) -> HttpResponse:
    context: dict = {"filter_form": form, "searched": False}
    if form.is_bound and form.is_valid():
        merchant = _merchant_or_error(request, form.cleaned_data["merchant"])
        if merchant is not None:
            rows, truncated = _eligible(merchant, form.cleaned_data, ticked)
            context.update(searched=True, merchant=merchant, rows=rows, truncated=truncated,
                           currency=(form.cleaned_data.get("currency") or "").upper(), token=uuid.uuid4().hex,
                           currencies={r.order.currency for r in rows},
                           filter_hidden=[(k, form.data.get(k)) for k in ("date_from", "date_to", "business_type")
                                          if form.data.get(k)])
    return finance_render(request, principal, "web/settlement/manual.html", context, section="manual",
                          status=status)


def _manual_generate(request: HttpRequest, principal: Principal) -> HttpResponse:
    filter_form = ManualFilterForm(request.POST, business_types=_business_types())
    form = ManualGenerateForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationFailed(first_error(form))
        merchant = merchant_get(code=form.cleaned_data["merchant"])
        business_type = _business_type(request.POST.get("business_type", ""))
        made = statement_generate_manual(
            merchant=merchant, currency=form.cleaned_data["currency"] or None, order_ids=form.cleaned_data["order_ids"],
            business_type=business_type, actor=principal, run_key=f"web:{form.cleaned_data['token']}")
    except DomainError as exc:
        messages.error(request, settlement_error_text(exc))
        ticked = {int(i) for i in request.POST.getlist("order_ids") if i.isdigit()}
        return _manual_page(request, principal, filter_form, ticked=ticked, status=400)
    numbers = ", ".join(s.number for s in made)
    messages.success(request, _("Generated %(numbers)s (a draft: issue it to the merchant).") % {"numbers": numbers})
    return redirect("web:finance_statement", number=made[0].number)


# --- totals per period -------------------------------------------------------------------------------------
@dataclass
class PeriodRow:
    """One month (of the statements' period end) in one currency, summed over the statements' statuses."""

    month: date
    currency: str
    statements: int = 0
    orders: int = 0
    collected_minor: int = 0
    fees_minor: int = 0
    platform_funded_minor: int = 0
    refunds_minor: int = 0
    net_minor: int = 0
    paid_minor: int = 0
    width: int = 0

    def money(self, name: str) -> Money:
        return Money(getattr(self, f"{name}_minor"), self.currency)

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")

    collected = property(lambda self: self.money("collected"))
    fees = property(lambda self: self.money("fees"))
    platform_funded = property(lambda self: self.money("platform_funded"))
    refunds = property(lambda self: self.money("refunds"))
    net = property(lambda self: self.money("net"))
    paid = property(lambda self: self.money("paid"))


def _period_rows(found: list[dict]) -> list[PeriodRow]:
    """The selector's rows (month x status x currency) folded per month and currency; paid = net of paid ones."""
    rows: dict[tuple, PeriodRow] = {}
    for r in found:
        row = rows.setdefault((r["month"], r["currency"]), PeriodRow(r["month"], r["currency"]))
        row.statements += r["statements"]
        row.orders += r["orders"] or 0
        row.collected_minor += r["collected_minor"] or 0
        row.fees_minor += (r["service_fee_minor"] or 0) + (r["payment_fee_minor"] or 0)
        row.platform_funded_minor += r["platform_funded_minor"] or 0
        row.refunds_minor += r["refunds_minor"] or 0
        row.net_minor += r["net_minor"] or 0
        if r["status"] == StatementStatus.PAID:
            row.paid_minor += r["net_minor"] or 0
    out = sorted(rows.values(), key=lambda row: (row.month, row.currency), reverse=True)
    for currency in {row.currency for row in out}:  # bar widths relative to the largest net of the currency
        peak = max(abs(row.net_minor) for row in out if row.currency == currency) or 1
        for row in out:
            if row.currency == currency:
                row.width = abs(row.net_minor) * 100 // peak
    return out


def _chart_data(rows: list[PeriodRow]) -> dict:
    """Chart.js data: a bar series of net per currency, oldest month first (amounts as exact decimal strings)."""
    labels = sorted({r.label for r in rows})
    series = []
    for currency in sorted({r.currency for r in rows}):
        by_label = {r.label: r.money("net").to_string() for r in rows if r.currency == currency}
        series.append({"label": f"{_('Net')} {currency}", "data": [by_label.get(lb, "0") for lb in labels]})
    return {"labels": labels, "datasets": series}


@login_required
@require_GET
def finance_settlement_periods(request: HttpRequest) -> HttpResponse:
    """Statement totals per month and currency (optionally one merchant's): a table and a bar chart of net."""
    principal = platform_principal(request, VIEW_STATEMENTS)
    form = PeriodForm(request.GET)
    rows: list[PeriodRow] = []
    if not form.is_valid():
        messages.error(request, first_error(form))
    else:
        filters = {"currency": form.cleaned_data["currency"].upper() or None}
        code = form.cleaned_data["merchant"]
        merchant = _merchant_or_error(request, code) if code else None
        if merchant is not None:
            filters["merchant_id"] = merchant.pk
        if not code or merchant is not None:
            rows = _period_rows(eligibility.totals_per_period(**filters))
    chart = finders.find(CHART_JS)
    return finance_render(request, principal, "web/settlement/periods.html", {
        "form": form, "rows": rows, "chart_js": static(CHART_JS) if chart else "", "chart_data": _chart_data(rows),
    }, section="periods")


# --- simulations ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeeSimulationRow:
    """One merchant's orders in the range: fees and net under the rules in force and under the proposal."""

    merchant: Merchant | None
    orders: int
    orders_without_rule: int
    collected: Money
    current_fees: Money
    proposed_fees: Money
    current_net: Money
    proposed_net: Money
    difference: Money


@dataclass(frozen=True)
class ScheduleSimulationRow:
    day: date
    merchant: Merchant | None
    currency: str
    orders: int
    blocked_orders: int
    net: Money


def _period_of(data: dict) -> tuple[date, date]:
    start, end = last_month()
    return data.get("date_from") or start, data.get("date_to") or end


def _minor(text: str, currency: str, param: str) -> int | None:
    text = (text or "").strip()
    return Money.parse(text, currency, param=param).minor if text else None


def _scope_ids(data: dict) -> dict:
    """{"merchant_id": ...} or {"business_type_id": ...} from the form's choice (exactly one, the form checked)."""
    if data.get("merchant"):
        return {"merchant_id": merchant_get(code=data["merchant"]).pk}
    business_type = _business_type(data["business_type"])
    if business_type is None:
        raise NotFound(f"No business type {data['business_type']!r}.", param="business_type")
    return {"business_type_id": business_type.pk}


def _simulate_fee_rule(data: dict) -> list[FeeSimulationRow]:
    currency = normalise_currency(data["currency"])
    terms = FeeTerms(rate_ppm=rate_to_ppm(data["rate"].strip() or "0", param="rate"),
                     fixed_fee_minor=_minor(data["fixed_fee"], currency, "fixed_fee") or 0,
                     minimum_fee_minor=_minor(data["minimum_fee"], currency, "minimum_fee"),
                     maximum_fee_minor=_minor(data["maximum_fee"], currency, "maximum_fee"),
                     payment_fee_basis=PaymentFeeBasis(data["payment_fee_basis"]),
                     payment_fee_rate_ppm=rate_to_ppm((data["payment_fee_rate"] or "0").strip(),
                                                      param="payment_fee_rate"))
    start, end = _period_of(data)
    found = simulation.simulate_fee_rule(proposed=ProposedFeeRule(terms=terms, currency=currency, **_scope_ids(data)),
                                         start=start, end=end)
    merchants = Merchant.objects.in_bulk({r["merchant_id"] for r in found})
    rows = []
    for r in found:
        def m(minor: int, cur: str = r["currency"]) -> Money:
            return Money(minor, cur)

        rows.append(FeeSimulationRow(
            merchants.get(r["merchant_id"]), r["orders"], r["orders_without_rule"], m(r["collected_minor"]),
            m(r["current_service_fee_minor"] + r["current_payment_fee_minor"]),
            m(r["proposed_service_fee_minor"] + r["proposed_payment_fee_minor"]),
            m(r["current_net_minor"]), m(r["proposed_net_minor"]),
            m(r["proposed_net_minor"] - r["current_net_minor"])))
    return rows


def _simulate_schedule(data: dict) -> tuple[list[date], list[ScheduleSimulationRow]]:
    terms = ScheduleTerms(cycle=Cycle(data["cycle"]), day_of_month=data.get("day_of_month"),
                          weekday=data.get("weekday"), delay_days=data.get("delay_days"),
                          eligibility_delay_days=data.get("eligibility_delay_days") or 0)
    start, end = _period_of(data)
    found = simulation.simulate_schedule(terms=terms, start=start, end=end, **_scope_ids(data))
    merchants = Merchant.objects.in_bulk({r["merchant_id"] for r in found.statements})
    return found.run_days, [
        ScheduleSimulationRow(r["run_day"], merchants.get(r["merchant_id"]), r["currency"], r["orders"],
                              r["blocked_orders"], Money(r["net_minor"], r["currency"])) for r in found.statements]


@login_required
@require_GET
def finance_settlement_simulate(request: HttpRequest) -> HttpResponse:
    """What a proposed fee rule or schedule would have produced over a date range (default last month)."""
    principal = platform_principal(request, VIEW_STATEMENTS)
    if not (principal.has_perm(PREPARE_STATEMENTS) or principal.has_perm(MANAGE_FEE_RULES)):
        raise PermissionDenied
    start, end = last_month()
    which = request.GET.get("simulate", "")
    types = _business_types()
    initial = {"date_from": start, "date_to": end}
    fee_form = FeeRuleSimulationForm(request.GET if which == "fee_rule" else None, business_types=types,
                                     initial=initial)
    schedule_form = ScheduleSimulationForm(request.GET if which == "schedule" else None, business_types=types,
                                           initial=initial)
    context = {"fee_form": fee_form, "schedule_form": schedule_form, "fee_rows": None, "schedule_rows": None}
    bound = fee_form if which == "fee_rule" else schedule_form if which == "schedule" else None
    status = 200
    if bound is not None:
        try:
            if not bound.is_valid():
                raise ValidationFailed(first_error(bound))
            if bound is fee_form:
                context["fee_rows"] = _simulate_fee_rule(bound.cleaned_data)
            else:
                context["run_days"], context["schedule_rows"] = _simulate_schedule(bound.cleaned_data)
        except DomainError as exc:
            messages.error(request, settlement_error_text(exc))
            status = 400
    return finance_render(request, principal, "web/settlement/simulate.html", context, section="simulate",
                          status=status)

