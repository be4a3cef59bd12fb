"""Merchant settlement: statements, their lines and payouts, manual statements, fee rules, schedules, runs.

Who may do what (clearhouse/accounts/roles.py):

- `settlement.view_statements`: read statements, lines, vouchers, fee rules, schedules, eligible and
  blocked orders. A merchant-scoped key or user sees only its merchant's, and statements only once
  issued: anything else is a 404 (never a hint that it exists) or an empty list.
- `settlement.confirm_statements`: the merchant confirms or disputes its issued statements.
- `settlement.prepare_statements` (finance): issue, adjust, re-issue, manual statements, runs.
- `settlement.record_payouts` (finance manager): the payout with its voucher (multipart).
- `settlement.manage_fee_rules` (admin): fee rules and schedules; simulations need it or
  `prepare_statements`.

Every POST/PUT takes an `Idempotency-Key` (the middleware replays the first answer). For a manual
statement the key also becomes the statement's run key, so even a replay whose answer was not
stored finds the same statement instead of making another.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from django.http import FileResponse
from django.utils import timezone
from ninja import File, Form, Router, Status, UploadedFile
from pydantic import TypeAdapter

from clearhouse.accounts.models import BusinessType, Merchant
from clearhouse.accounts.principal import Principal
from clearhouse.accounts.roles import (
    CONFIRM_STATEMENTS,
    MANAGE_FEE_RULES,
    PREPARE_STATEMENTS,
    RECORD_PAYOUTS,
    VIEW_STATEMENTS,
)
from clearhouse.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from clearhouse.api.pagination import Page, paginate
from clearhouse.api.routers.catalog_schemas import PageNumber, PageSize, PathId
from clearhouse.api.routers.settlement_schemas import (
    AdjustIn,
    DisputeIn,
    FeeRuleEndIn,
    FeeRuleIn,
    FeeRuleOut,
    FeeRuleSimulationIn,
    FeeRuleSimulationOut,
    LineOut,
    ManualStatementIn,
    OrderToSettleOut,
    PeriodTotalsOut,
    RunIn,
    RunOut,
    ScheduleIn,
    ScheduleOut,
    ScheduleSimulationIn,
    ScheduleSimulationOut,
    StatementDetailOut,
    StatementNumber,
    StatementOut,
    fee_rule_out,
    fee_rule_simulation_out,
    line_out,
    order_to_settle_out,
    period_totals_out,
    run_out,
    schedule_out,
    schedule_simulation_out,
    statement_detail_out,
    statement_out,
)
from clearhouse.api.schemas import IsoDate
from clearhouse.core.errors import CurrencyMismatch, FloatNotAllowed, NotFound, PermissionDenied, ValidationFailed
from clearhouse.core.money import Money, normalise_currency
from clearhouse.payments.models import Refund
from clearhouse.settlement import selectors, services
from clearhouse.settlement import selectors_eligibility as eligibility
from clearhouse.settlement.domain import (
    FeeTerms,
    LineKind,
    PaymentFeeBasis,
    ScheduleTerms,
    StatementStatus,
    rate_to_ppm,
)
from clearhouse.settlement.models import FeeRule, SettlementSchedule, Statement
from clearhouse.settlement.services import simulation

router = Router(tags=["settlement"])
RUN_KEY_MAX = 80 - len("manual:")  # Statement.run_key is "manual:<this>"
_ISO_DATE = TypeAdapter(IsoDate)


# --- who sees what -------------------------------------------------------------------------
def _principal(request, perm: str) -> Principal:
    principal: Principal = request.auth
    principal.require(perm)
    return principal


def _platform(request, perm: str) -> Principal:
    """Finance's and admins' work: never a merchant-scoped caller, whatever permissions it was given."""
    principal = _principal(request, perm)
    if principal.merchant_id is not None:
        raise PermissionDenied("Only the platform's staff may do this.")
    return principal


def _statement(request, number: str, perm: str) -> Statement:
    return selectors.statement_get_for(_principal(request, perm), number=number)


def _merchant(code: str | None, *, param: str = "merchant") -> Merchant | None:
    if code is None:
        return None
    merchant = Merchant.objects.select_related("business_type").filter(code=code.strip()).first()
    if merchant is None:
        raise NotFound(f"No merchant {code!r}.", param=param)
    return merchant


def _business_type(code: str | None, *, param: str = "business_type") -> BusinessType | None:
    if code is None:
        return None
    business_type = BusinessType.objects.filter(code=code.strip()).first()
    if business_type is None:
        raise NotFound(f"No business type {code!r}.", param=param)
    return business_type


def _merchant_ids(codes: list[str] | None, *, param: str = "merchants") -> list[int] | None:
    if codes is None:
        return None
    found = dict(Merchant.objects.filter(code__in=codes).values_list("code", "pk"))
    missing = sorted(set(codes) - set(found))
    if missing:
        raise NotFound(f"No merchant {missing[0]!r}.", param=param)
    return sorted(found.values())


def _money(text, currency: str, *, param: str = "amount") -> Money:
    return Money.parse(text, currency, param=param)


def _optional_minor(text, currency: str, *, param: str) -> int | None:
    return None if text is None else _money(text, currency, param=param).minor


def _rate(value, *, param: str) -> str:
    """Rates come as decimal strings; a JSON number would be a float on its way in."""
    if isinstance(value, float):
        raise FloatNotAllowed("Rates are decimal strings such as \"0.006\", never floats.", param=param)
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValidationFailed("A rate is a decimal string such as \"0.006\".", param=param)
    return str(value)


def _detail(statement: Statement) -> dict:
    fresh = Statement.objects.select_related("merchant").get(pk=statement.pk)
    return statement_detail_out(fresh, events=selectors.statement_events(statement=fresh))


# --- statements ----------------------------------------------------------------------------
@router.get("/statements", response=Page[StatementOut],
            summary="List statements, newest first (merchants: theirs, issued onwards)")
def list_statements(request, status: StatementStatus | None = None, currency: str | None = None,
                    merchant: str | None = None, page: PageNumber = 1, page_size: PageSize = 50):
    principal = _principal(request, VIEW_STATEMENTS)
    qs = selectors.statement_list_for(principal, status=status, currency=currency)
    if merchant:
        qs = qs.filter(merchant__code=merchant.strip())  # a merchant naming another merchant gets nothing
    return paginate(qs, page, page_size, statement_out)


def _run_key(request, principal: Principal) -> str:
    """The caller's Idempotency-Key as the statement's run key (scoped to the caller, like the key itself)."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    run_key = f"{principal.scope_key}:{key}"
    if len(run_key) > RUN_KEY_MAX:
        run_key = hashlib.sha256(run_key.encode()).hexdigest()
    return run_key


@router.post("/statements/manual", response={201: list[StatementDetailOut]},
             summary="Generate a manual statement from a merchant's eligible, unsettled orders (by id or filters)")
def generate_manual_statement(request, payload: ManualStatementIn):
    principal = _platform(request, PREPARE_STATEMENTS)
    merchant = _merchant(payload.merchant)
    currency = normalise_currency(payload.currency) if payload.currency else None
    statements = services.statement_generate_manual(
        merchant=merchant, currency=currency, order_ids=payload.order_ids, completed_from=payload.completed_from,
        completed_to=payload.completed_to, business_type=_business_type(payload.business_type), actor=principal,
        run_key=_run_key(request, principal))
    return Status(201, [_detail(s) for s in statements])


@router.get("/statements/{number}", response=StatementDetailOut,
            summary="A statement with its totals, invoice amounts and history")
def get_statement(request, number: StatementNumber):
    return _detail(_statement(request, number, VIEW_STATEMENTS))


def _lines_out(lines) -> list[dict]:
    refund_ids = {ln.refund_id for ln in lines if ln.refund_id}
    carried_ids = {ln.carried_from_id for ln in lines if ln.carried_from_id}
    refunds = dict(Refund.objects.filter(pk__in=refund_ids).values_list("pk", "reference")) if refund_ids else {}
    statements = dict(Statement.objects.filter(pk__in=carried_ids).values_list("pk", "number")) if carried_ids else {}
    return [line_out(ln, refunds=refunds, statements=statements) for ln in lines]


@router.get("/statements/{number}/lines", response=Page[LineOut], summary="A statement's lines, in order")
def list_statement_lines(request, number: StatementNumber, kind: LineKind | None = None, page: PageNumber = 1,
                         page_size: PageSize = 50):
    statement = _statement(request, number, VIEW_STATEMENTS)
    qs = selectors.statement_lines(statement=statement)
    if kind:
        qs = qs.filter(kind=kind)
    return paginate(qs, page, page_size, _lines_out, batch=True)


@router.post("/statements/{number}/issue", response=StatementDetailOut,
             summary="Issue a draft: the merchant sees it and may confirm or dispute it")
def issue_statement(request, number: StatementNumber):
    statement = _statement(request, number, PREPARE_STATEMENTS)
    return _detail(services.statement_issue(statement=statement, actor=request.auth))


@router.post("/statements/{number}/confirm", response=StatementDetailOut,
             summary="The merchant confirms: the statement is locked and booked (net <= 0 carries forward)")
def confirm_statement(request, number: StatementNumber):
    statement = _statement(request, number, CONFIRM_STATEMENTS)
    return _detail(services.statement_confirm(statement=statement, actor=request.auth))


@router.post("/statements/{number}/dispute", response=StatementDetailOut,
             summary="The merchant disputes an issued statement, saying why")
def dispute_statement(request, number: StatementNumber, payload: DisputeIn):
    statement = _statement(request, number, CONFIRM_STATEMENTS)
    return _detail(services.statement_dispute(statement=statement, reason=payload.reason, actor=request.auth))


@router.post("/statements/{number}/adjust", response=StatementDetailOut,
             summary="Answer a dispute with an adjustment line (either sign); the statement is issued again")
def adjust_statement(request, number: StatementNumber, payload: AdjustIn):
    statement = _statement(request, number, PREPARE_STATEMENTS)
    amount = _money(payload.amount, payload.currency or statement.currency)
    if amount.currency != statement.currency:
        raise CurrencyMismatch(f"Statement {statement.number} is in {statement.currency}.", param="currency")
    return _detail(services.statement_adjust(statement=statement, amount_minor=amount.minor, note=payload.note,
                                             actor=request.auth))


@router.post("/statements/{number}/reissue", response=StatementDetailOut,
             summary="Answer a dispute by recomputing the lines under the current fee rules and issuing again")
def reissue_statement(request, number: StatementNumber):
    statement = _statement(request, number, PREPARE_STATEMENTS)
    return _detail(services.statement_reissue(statement=statement, actor=request.auth))


def _payout_date(text: str) -> date:
    try:
        return _ISO_DATE.validate_python(text.strip())
    except ValueError:
        raise ValidationFailed("payout_date is a date written YYYY-MM-DD.", param="payout_date") from None


@router.post("/statements/{number}/payout", response=StatementDetailOut,
             summary="Record the payout of a confirmed statement (multipart: amount, payout_date, reference, "
                     "voucher as a PDF, PNG or JPEG)")
def record_payout(request, number: StatementNumber, voucher: File[UploadedFile], amount: Form[str],
                  payout_date: Form[str], reference: Form[str], currency: Form[str | None] = None):
    statement = _statement(request, number, RECORD_PAYOUTS)
    money = _money(amount, currency or statement.currency)
    if money.currency != statement.currency:
        raise CurrencyMismatch(f"Statement {statement.number} is in {statement.currency}.", param="currency")
    paid = services.statement_record_payout(statement=statement, amount_minor=money.minor,
                                            payout_date=_payout_date(payout_date), reference=reference,
                                            voucher=voucher, actor=request.auth)
    return _detail(paid)


@router.get("/statements/{number}/voucher", response={200: None}, summary="The payout voucher as uploaded",
            openapi_extra={"responses": {"200": {"description": "The voucher (PDF, PNG or JPEG)",
                                                 "content": {"application/pdf": {}, "image/png": {},
                                                             "image/jpeg": {}}}}})
def payout_voucher(request, number: StatementNumber):
    statement = _statement(request, number, VIEW_STATEMENTS)
    if not statement.payout_voucher:
        raise NotFound(f"Statement {statement.number} has no payout voucher yet.", param="number")
    extension = statement.payout_voucher.name.rsplit(".", 1)[-1]
    response = FileResponse(statement.payout_voucher.open("rb"),
                            content_type=statement.payout_voucher_type or "application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{statement.number}-payout.{extension}"'
    return response


# --- orders to settle, totals --------------------------------------------------------------
def _orders_scope(principal: Principal, merchant: str | None) -> dict:
    """The merchant filter: a merchant-scoped caller's own (naming another finds nothing), else the one named."""
    if principal.merchant_id is not None:
        if merchant and not Merchant.objects.filter(pk=principal.merchant_id, code=merchant.strip()).exists():
            return {"merchant_id": -1}
        return {"merchant_id": principal.merchant_id}
    if merchant:
        found = Merchant.objects.filter(code=merchant.strip()).values_list("pk", flat=True).first()
        return {"merchant_id": found if found is not None else -1}
    return {}


@router.get("/eligible-orders", response=Page[OrderToSettleOut],
            summary="Orders a manual statement may take now (eligible, with a fee rule), oldest first")
def list_eligible_orders(request, merchant: str | None = None, business_type: str | None = None,
                         currency: str | None = None, completed_from: IsoDate | None = None,
                         completed_to: IsoDate | None = None, page: PageNumber = 1, page_size: PageSize = 50):
    principal = _principal(request, VIEW_STATEMENTS)
    qs = eligibility.eligible_orders(**_orders_scope(principal, merchant),
                                     business_type_id=getattr(_business_type(business_type), "pk", None),
                                     completed_from=completed_from, completed_to=completed_to, currency=currency)
    return paginate(qs.select_related("merchant__business_type"), page, page_size, order_to_settle_out)


@router.get("/blocked-orders", response=Page[OrderToSettleOut],
            summary="Orders ready to settle that cannot be, with the reason (no_fee_rule)")
def list_blocked_orders(request, merchant: str | None = None, business_type: str | None = None,
                        currency: str | None = None, page: PageNumber = 1, page_size: PageSize = 50):
    principal = _principal(request, VIEW_STATEMENTS)
    qs = eligibility.blocked_orders(**_orders_scope(principal, merchant),
                                    business_type_id=getattr(_business_type(business_type), "pk", None),
                                    currency=currency)
    return paginate(qs.select_related("merchant__business_type"), page, page_size, order_to_settle_out)


@router.get("/totals", response=list[PeriodTotalsOut],
            summary="Statements per month of their period end, status and currency: counts and sums (platform)")
def list_period_totals(request, currency: str | None = None, merchant: str | None = None):
    _platform(request, VIEW_STATEMENTS)
    merchant_id = _merchant(merchant).pk if merchant else None
    return [period_totals_out(row) for row in eligibility.totals_per_period(currency=currency,
                                                                             merchant_id=merchant_id)]


# --- fee rules -----------------------------------------------------------------------------
def _visible_rules(principal: Principal):
    qs = selectors.fee_rule_list()
    if principal.merchant_id is None:
        return qs
    own = Merchant.objects.get(pk=principal.merchant_id)
    return qs.filter(merchant_id=own.pk) | qs.filter(business_type_id=own.business_type_id)


@router.get("/fee-rules", response=Page[FeeRuleOut],
            summary="Fee rules (merchants: their own overrides and their business type's)")
def list_fee_rules(request, merchant: str | None = None, business_type: str | None = None,
                   currency: str | None = None, page: PageNumber = 1, page_size: PageSize = 50):
    qs = _visible_rules(_principal(request, VIEW_STATEMENTS))
    if merchant:
        qs = qs.filter(merchant__code=merchant.strip())
    if business_type:
        qs = qs.filter(business_type__code=business_type.strip())
    if currency:
        qs = qs.filter(currency=currency.strip().upper())
    return paginate(qs.order_by("id"), page, page_size, fee_rule_out)


def _fee_rule_get(principal: Principal, rule_id: int) -> FeeRule:
    rule = _visible_rules(principal).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(f"No fee rule {rule_id}.", param="id")
    return rule


def _fee_terms(payload, currency: str) -> dict:
    return dict(
        rate=_rate(payload.rate, param="rate"),
        fixed_fee_minor=_optional_minor(payload.fixed_fee, currency, param="fixed_fee") or 0,
        minimum_fee_minor=_optional_minor(payload.minimum_fee, currency, param="minimum_fee"),
        maximum_fee_minor=_optional_minor(payload.maximum_fee, currency, param="maximum_fee"),
        payment_fee_basis=payload.payment_fee_basis.value,
        payment_fee_rate=_rate(payload.payment_fee_rate, param="payment_fee_rate"),
    )


@router.post("/fee-rules", response={201: FeeRuleOut},
             summary="A fee rule for a business type or one merchant (overlapping dates: 409 fee_rule_overlap)")
def create_fee_rule(request, payload: FeeRuleIn):
    principal = _platform(request, MANAGE_FEE_RULES)
    currency = normalise_currency(payload.currency)
    rule = services.fee_rule_create(
        currency=currency, **_fee_terms(payload, currency), effective_from=payload.effective_from,
        effective_to=payload.effective_to, merchant=_merchant(payload.merchant),
        business_type=_business_type(payload.business_type), note=payload.note, actor=principal)
    return Status(201, fee_rule_out(FeeRule.objects.select_related("merchant", "business_type").get(pk=rule.pk)))


@router.get("/fee-rules/{rule_id}", response=FeeRuleOut, summary="A fee rule")
def get_fee_rule(request, rule_id: PathId):
    return fee_rule_out(_fee_rule_get(_principal(request, VIEW_STATEMENTS), rule_id))


@router.post("/fee-rules/{rule_id}/end", response=FeeRuleOut,
             summary="End a rule on a day (inclusive), so a new one can start after it")
def end_fee_rule(request, rule_id: PathId, payload: FeeRuleEndIn):
    principal = _platform(request, MANAGE_FEE_RULES)
    rule = services.fee_rule_end(rule=_fee_rule_get(principal, rule_id), effective_to=payload.effective_to,
                                 actor=principal)
    return fee_rule_out(FeeRule.objects.select_related("merchant", "business_type").get(pk=rule.pk))


# --- schedules -----------------------------------------------------------------------------
def _visible_schedules(principal: Principal):
    qs = selectors.schedule_list()
    if principal.merchant_id is None:
        return qs
    own = Merchant.objects.get(pk=principal.merchant_id)
    return qs.filter(merchant_id=own.pk) | qs.filter(business_type_id=own.business_type_id)


@router.get("/schedules", response=Page[ScheduleOut],
            summary="Settlement schedules (merchants: their own and their business type's)")
def list_schedules(request, merchant: str | None = None, business_type: str | None = None,
                   page: PageNumber = 1, page_size: PageSize = 50):
    qs = _visible_schedules(_principal(request, VIEW_STATEMENTS))
    if merchant:
        qs = qs.filter(merchant__code=merchant.strip())
    if business_type:
        qs = qs.filter(business_type__code=business_type.strip())
    return paginate(qs.order_by("id"), page, page_size, schedule_out)


@router.put("/schedules", response=ScheduleOut,
            summary="Set (create or replace) the schedule of one merchant or one business type")
def set_schedule(request, payload: ScheduleIn):
    principal = _platform(request, MANAGE_FEE_RULES)
    schedule = services.schedule_set(
        cycle=payload.cycle.value, merchant=_merchant(payload.merchant),
        business_type=_business_type(payload.business_type), day_of_month=payload.day_of_month,
        weekday=payload.weekday, delay_days=payload.delay_days,
        eligibility_delay_days=payload.eligibility_delay_days, actor=principal)
    return schedule_out(SettlementSchedule.objects.select_related("merchant", "business_type").get(pk=schedule.pk))


@router.post("/schedules/{schedule_id}/deactivate", response=ScheduleOut,
             summary="Stop a schedule: its merchants wait for manual statements")
def deactivate_schedule(request, schedule_id: PathId):
    principal = _platform(request, MANAGE_FEE_RULES)
    schedule = selectors.schedule_list().filter(pk=schedule_id).first()
    if schedule is None:
        raise NotFound(f"No schedule {schedule_id}.", param="id")
    schedule = services.schedule_deactivate(schedule=schedule, actor=principal)
    return schedule_out(SettlementSchedule.objects.select_related("merchant", "business_type").get(pk=schedule.pk))


# --- runs ----------------------------------------------------------------------------------
@router.post("/runs", response=RunOut, summary="Run the schedules due on a day (dry_run: preview, write nothing)")
def run_settlement(request, payload: RunIn):
    principal = _platform(request, PREPARE_STATEMENTS)
    day = payload.day or timezone.localdate()
    result = services.settlement_run(day=day, dry_run=payload.dry_run,
                                     merchant_ids=_merchant_ids(payload.merchants), actor=principal)
    numbers = dict(Statement.objects.filter(pk__in=result.statement_ids).values_list("pk", "number"))
    codes = dict(Merchant.objects.filter(pk__in={row["merchant_id"] for row in result.preview})
                 .values_list("pk", "code"))
    return run_out(result, numbers=numbers, codes=codes)


# --- simulations ---------------------------------------------------------------------------
def _simulator(request) -> Principal:
    """Admins weighing a rule, or finance asking what it would have meant: either permission, platform only."""
    principal: Principal = request.auth
    if not (principal.has_perm(MANAGE_FEE_RULES) or principal.has_perm(PREPARE_STATEMENTS)):
        raise PermissionDenied(f"This action needs the {MANAGE_FEE_RULES!r} or {PREPARE_STATEMENTS!r} permission.")
    if principal.merchant_id is not None:
        raise PermissionDenied("Only the platform's staff may do this.")
    return principal


def _period(payload) -> tuple[date, date]:
    """The payload's dates, by default last month."""
    first_of_this_month = timezone.localdate().replace(day=1)
    last_month_end = first_of_this_month - timedelta(days=1)
    return payload.start or last_month_end.replace(day=1), payload.end or last_month_end


def _codes(rows) -> dict[int, str]:
    return dict(Merchant.objects.filter(pk__in={r["merchant_id"] for r in rows}).values_list("pk", "code"))


def _scope_ids(payload) -> dict:
    merchant, business_type = _merchant(payload.merchant), _business_type(payload.business_type)
    return {"merchant_id": getattr(merchant, "pk", None), "business_type_id": getattr(business_type, "pk", None)}


@router.post("/simulations/fee-rule", response=FeeRuleSimulationOut,
             summary="Per merchant over a date range (default last month): statement totals under the rules in "
                     "force and under a proposed rule, side by side. Writes nothing")
def simulate_fee_rule(request, payload: FeeRuleSimulationIn):
    _simulator(request)
    start, end = _period(payload)
    currency = normalise_currency(payload.currency)
    terms = _fee_terms(payload, currency)
    proposed = simulation.ProposedFeeRule(
        terms=FeeTerms(rate_ppm=rate_to_ppm(terms["rate"], param="rate"), fixed_fee_minor=terms["fixed_fee_minor"],
                       minimum_fee_minor=terms["minimum_fee_minor"], maximum_fee_minor=terms["maximum_fee_minor"],
                       payment_fee_basis=PaymentFeeBasis(terms["payment_fee_basis"]),
                       payment_fee_rate_ppm=rate_to_ppm(terms["payment_fee_rate"], param="payment_fee_rate")),
        currency=currency, **_scope_ids(payload))
    rows = simulation.simulate_fee_rule(proposed=proposed, start=start, end=end)
    return fee_rule_simulation_out(rows, codes=_codes(rows), start=start, end=end)


@router.post("/simulations/schedule", response=ScheduleSimulationOut,
             summary="The statements a proposed schedule would have cut over a date range (default last month). "
                     "Writes nothing")
def simulate_schedule(request, payload: ScheduleSimulationIn):
    _simulator(request)
    start, end = _period(payload)
    terms = ScheduleTerms(cycle=payload.cycle, day_of_month=payload.day_of_month, weekday=payload.weekday,
                          delay_days=payload.delay_days, eligibility_delay_days=payload.eligibility_delay_days)
    result = simulation.simulate_schedule(terms=terms, start=start, end=end, **_scope_ids(payload))
    return schedule_simulation_out(result, codes=_codes(result.statements), start=start, end=end)
