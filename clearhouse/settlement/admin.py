"""Admin: fee rules and settlement schedules (master data, written through the services), statements to look at.

Fee rules are added through `fee_rule_create`, so an overlapping rule is
refused with the service's message and every rule is audited. A saved rule
never changes its money terms in place (statement lines froze them, and a
rule's history must stay readable): only its note is editable, and "End on"
closes it through `fee_rule_end`; new terms are a new rule from the next day.
Schedules are set through `schedule_set` (create or replace per merchant or
business type; day 32 and the like are refused with the field named) and
stopped through `schedule_deactivate`. Statements, their lines and events are
read-only here, for support staff: finance works on them in the finance pages.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from clearhouse.core.audit import audit_record
from clearhouse.core.errors import DomainError
from clearhouse.core.money import Money, normalise_currency
from clearhouse.settlement.domain import ppm_to_rate
from clearhouse.settlement.models import FeeRule, SettlementSchedule, Statement, StatementEvent, StatementLine
from clearhouse.settlement.services import fee_rule_create, fee_rule_end, schedule_deactivate, schedule_set

INLINE_LINES_SHOWN = 200  # a statement may have thousands of lines: the finance pages page through them all
WEEKDAYS = [(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")), (4, _("Friday")),
            (5, _("Saturday")), (6, _("Sunday"))]


def percent(ppm: int | None) -> str:
    if ppm is None:
        return "-"
    return f"{format((ppm_to_rate(ppm) * 100).normalize(), 'f')} %"


def major(minor: int | None, currency: str) -> str:
    return "-" if minor is None else Money(minor, currency).to_string()


class ServiceForm(forms.ModelForm):
    """A form whose clean() hands the values to a service (which validates and writes, in the admin's
    transaction); a refusal becomes an error on the field the service names."""

    actor = None  # set per request by the ModelAdmin's get_form
    field_for_param: dict[str, str] = {}

    def refuse(self, exc: DomainError) -> None:
        field = self.field_for_param.get(exc.param or "", exc.param)
        self.add_error(field if field in self.fields else None, exc.message)

    def _post_clean(self):
        # The service checked everything and wrote the row (self.instance); the model's own checks would
        # only repeat its refusals, or count the row it just wrote as a duplicate.
        pass


class FeeRuleAddForm(ServiceForm):
    rate = forms.DecimalField(max_digits=9, decimal_places=6, min_value=0, max_value=1, initial=0,
                              help_text=_("A decimal fraction of the collected amount: 0.006 is 0.6 %."))
    fixed_fee = forms.DecimalField(max_digits=18, decimal_places=3, min_value=0, required=False,
                                   help_text=_("Per order, in the currency's major units (e.g. 1.00)."))
    minimum_fee = forms.DecimalField(max_digits=18, decimal_places=3, min_value=0, required=False)
    maximum_fee = forms.DecimalField(max_digits=18, decimal_places=3, min_value=0, required=False)
    payment_fee_rate = forms.DecimalField(max_digits=9, decimal_places=6, min_value=0, max_value=1, initial=0,
                                          required=False,
                                          help_text=_("With basis 'rate': a fraction of what the customer paid."))
    field_for_param = {"scope": "business_type"}

    class Meta:
        model = FeeRule
        fields = ("business_type", "merchant", "currency", "rate", "fixed_fee", "minimum_fee", "maximum_fee",
                  "payment_fee_basis", "payment_fee_rate", "effective_from", "effective_to", "note")

    def _minor(self, name: str, currency: str) -> int | None:
        value = self.cleaned_data.get(name)
        if value is None:
            return None
        try:
            return Money.parse(str(value), currency, param=name).minor
        except DomainError as exc:
            self.add_error(name, exc.message)
            return None

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            currency = normalise_currency(data.get("currency"))
        except DomainError as exc:
            self.add_error("currency", exc.message)
            return data
        amounts = {name: self._minor(name, currency) for name in ("fixed_fee", "minimum_fee", "maximum_fee")}
        if self.errors:
            return data
        try:
            self.instance = fee_rule_create(
                currency=currency, rate=str(data["rate"]), fixed_fee_minor=amounts["fixed_fee"] or 0,
                minimum_fee_minor=amounts["minimum_fee"], maximum_fee_minor=amounts["maximum_fee"],
                payment_fee_basis=data["payment_fee_basis"], payment_fee_rate=str(data.get("payment_fee_rate") or 0),
                effective_from=data["effective_from"], effective_to=data.get("effective_to"),
                merchant=data.get("merchant"), business_type=data.get("business_type"), note=data.get("note", ""),
                actor=self.actor)
        except DomainError as exc:
            self.refuse(exc)
        return data


class FeeRuleChangeForm(forms.ModelForm):
    """Only what does not change money: the note; and closing the rule through `fee_rule_end`."""

    actor = None
    end_on = forms.DateField(required=False, label=_("End on (last day)"),
                             help_text=_("Close the rule: it applies up to and including this day. For new terms, "
                                         "add a new rule starting the day after."))

    class Meta:
        model = FeeRule
        fields = ("note",)

    def clean(self):
        data = super().clean()
        end_on = data.get("end_on")
        if self.errors or end_on is None or end_on == self.instance.effective_to:
            return data
        try:
            ended = fee_rule_end(rule=self.instance, effective_to=end_on, actor=self.actor)
        except DomainError as exc:
            self.add_error("end_on", exc.message)
            return data
        self.instance.effective_to, self.instance.ends_at = ended.effective_to, ended.ends_at
        return data


@admin.register(FeeRule)
class FeeRuleAdmin(admin.ModelAdmin):
    list_display = ("id", "scope", "currency", "rate_shown", "fixed_fee", "minimum_fee", "maximum_fee",
                    "payment_fee_basis", "effective_from", "effective_to", "note")
    list_filter = ("currency", "business_type", "payment_fee_basis")
    search_fields = ("merchant__code", "merchant__name", "business_type__code", "note")
    list_select_related = ("merchant", "business_type")
    readonly_fields = ("scope", "currency", "rate_shown", "fixed_fee", "minimum_fee", "maximum_fee",
                       "payment_fee_basis", "payment_fee_rate_shown", "effective_from", "effective_to",
                       "created_by", "created_at")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = FeeRuleChangeForm if obj is not None else FeeRuleAddForm
        kwargs["fields"] = None
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": FeeRuleAddForm.Meta.fields})]
        return [(None, {"fields": self.readonly_fields}), (_("Change"), {"fields": ("note", "end_on")})]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # statement lines name the rule they used; end it instead

    def save_model(self, request, obj, form, change):
        if not change:
            return  # fee_rule_create wrote and audited it in the form's clean()
        if "note" in form.changed_data:
            FeeRule.objects.filter(pk=obj.pk).update(note=obj.note)
            audit_record(action="fee_rule.note_changed", actor=request.user, object_type="fee_rule",
                         object_id=obj.pk, payload={"note": obj.note})

    @admin.display(description=_("scope"))
    def scope(self, obj: FeeRule) -> str:
        return f"{_('merchant')} {obj.merchant.code}" if obj.merchant_id else \
            f"{_('business type')} {obj.business_type.code}"

    @admin.display(description=_("rate"), ordering="rate_ppm")
    def rate_shown(self, obj: FeeRule) -> str:
        return percent(obj.rate_ppm)

    @admin.display(description=_("payment fee rate"))
    def payment_fee_rate_shown(self, obj: FeeRule) -> str:
        return percent(obj.payment_fee_rate_ppm)

    @admin.display(description=_("fixed fee"))
    def fixed_fee(self, obj: FeeRule) -> str:
        return major(obj.fixed_fee_minor, obj.currency)

    @admin.display(description=_("minimum fee"))
    def minimum_fee(self, obj: FeeRule) -> str:
        return major(obj.minimum_fee_minor, obj.currency)

    @admin.display(description=_("maximum fee"))
    def maximum_fee(self, obj: FeeRule) -> str:
        return major(obj.maximum_fee_minor, obj.currency)


class ScheduleForm(ServiceForm):
    weekday = forms.TypedChoiceField(choices=[("", "-"), *WEEKDAYS], coerce=int, empty_value=None, required=False,
                                     help_text=_("Weekly: the day statements are cut."))
    field_for_param = {"scope": "merchant"}

    class Meta:
        model = SettlementSchedule
        fields = ("merchant", "business_type", "cycle", "day_of_month", "weekday", "delay_days",
                  "eligibility_delay_days")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        source = self.instance if self.instance.pk else None  # a saved schedule keeps its scope
        scope = {name: getattr(source, name) if source else data.get(name) for name in ("merchant", "business_type")}
        try:
            self.instance = schedule_set(
                cycle=data.get("cycle"), **scope, day_of_month=data.get("day_of_month"), weekday=data.get("weekday"),
                delay_days=data.get("delay_days"), eligibility_delay_days=data.get("eligibility_delay_days") or 0,
                actor=self.actor)
        except DomainError as exc:
            self.refuse(exc)
        return data


@admin.register(SettlementSchedule)
class SettlementScheduleAdmin(admin.ModelAdmin):
    form = ScheduleForm
    list_display = ("id", "scope", "cycle", "runs", "eligibility_delay_days", "is_active", "updated_at")
    list_filter = ("cycle", "is_active")
    search_fields = ("merchant__code", "business_type__code")
    list_select_related = ("merchant", "business_type")
    actions = ["deactivate"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def get_readonly_fields(self, request, obj=None):
        return ("merchant", "business_type", "is_active") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # statements name their schedule: deactivate instead

    def save_model(self, request, obj, form, change):
        pass  # schedule_set wrote and audited it in the form's clean()

    @admin.display(description=_("scope"))
    def scope(self, obj: SettlementSchedule) -> str:
        return f"{_('merchant')} {obj.merchant.code}" if obj.merchant_id else \
            f"{_('business type')} {obj.business_type.code}"

    @admin.display(description=_("runs"))
    def runs(self, obj: SettlementSchedule) -> str:
        if obj.cycle == "monthly":
            return _("on day %(day)s of each month") % {"day": obj.day_of_month}
        if obj.cycle == "weekly":
            return _("every %(weekday)s") % {"weekday": dict(WEEKDAYS).get(obj.weekday, obj.weekday)}
        return _("daily, %(days)s day(s) after eligibility") % {"days": obj.delay_days}

    @admin.action(description=_("Deactivate selected schedules"))
    def deactivate(self, request, queryset: QuerySet[SettlementSchedule]):
        for schedule in queryset:
            schedule_deactivate(schedule=schedule, actor=request.user)
        self.message_user(request, _("Deactivated: their merchants wait for manual statements."), messages.SUCCESS)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class FirstLinesFormSet(forms.BaseInlineFormSet):
    def get_queryset(self):
        return super().get_queryset()[:INLINE_LINES_SHOWN]


class StatementLineInline(ReadOnlyInline):
    model = StatementLine
    formset = FirstLinesFormSet
    verbose_name_plural = format_lazy(_("lines (the first {count})"), count=INLINE_LINES_SHOWN)
    fields = ("kind", "order_number", "refund_id", "carried_from_id", "collected_minor", "platform_funded_minor",
              "service_fee_minor", "payment_fee_minor", "refunds_minor", "net_minor", "fee_rate_ppm", "note")
    readonly_fields = fields


class StatementEventInline(ReadOnlyInline):
    model = StatementEvent
    fields = ("created_at", "type", "from_status", "to_status", "actor", "parameters")
    readonly_fields = fields


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    """Read-only: statements change only through the services (finance pages, the API)."""

    list_display = ("number", "merchant", "currency", "kind", "status", "period_end", "line_count", "net",
                    "issued_at", "confirmed_at", "payout_date")
    list_filter = ("status", "currency", "kind")
    search_fields = ("number", "merchant__code", "merchant__name", "payout_reference")
    list_select_related = ("merchant",)
    date_hierarchy = "period_end"
    inlines = [StatementLineInline, StatementEventInline]
    exclude = ("payout_voucher",)  # served after the scope check by the finance pages and the API, never linked

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("net"), ordering="net_minor")
    def net(self, obj: Statement) -> str:
        return major(obj.net_minor, obj.currency)

