"""Forms of the settlement pages (merchant portal and finance). They parse input; the services decide.

Amounts stay text here and are read by `Money.parse` in the statement's currency (never a float): a wrong
number of decimals is the money module's own refusal, shown with its code. Rates are decimal text read by
`domain.rate_to_ppm` in the service.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clearhouse.settlement.domain import Cycle, PaymentFeeBasis, StatementStatus

STATUS_CHOICES = [
    (StatementStatus.DRAFT.value, _("Draft")), (StatementStatus.ISSUED.value, _("Issued")),
    (StatementStatus.DISPUTED.value, _("Disputed")), (StatementStatus.CONFIRMED.value, _("Confirmed")),
    (StatementStatus.PAID.value, _("Paid")), (StatementStatus.CARRIED_FORWARD.value, _("Carried forward")),
]
CYCLE_CHOICES = [(Cycle.MONTHLY.value, _("Monthly on a day")), (Cycle.WEEKLY.value, _("Weekly on a weekday")),
                 (Cycle.DELAY.value, _("A fixed delay after eligibility"))]
WEEKDAY_CHOICES = [("", "—"), ("0", _("Monday")), ("1", _("Tuesday")), ("2", _("Wednesday")), ("3", _("Thursday")),
                   ("4", _("Friday")), ("5", _("Saturday")), ("6", _("Sunday"))]
BASIS_CHOICES = [(PaymentFeeBasis.ACTUAL.value, _("The provider's actual fee")),
                 (PaymentFeeBasis.RATE.value, _("A rate on what the customer paid"))]
CODE = r"^[-a-zA-Z0-9_]+$"
ISO_DATE = ["%Y-%m-%d"]  # what <input type=date> sends; "03/12/2026" is ambiguous and refused
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def last_month(today: date | None = None) -> tuple[date, date]:
    """The first and last day of the month before `today` (the platform's date)."""
    today = today or timezone.localdate()
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


class DisputeForm(forms.Form):
    reason = forms.CharField(label=_("Why do you dispute this statement?"), max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("Say why you dispute the statement."),
                                             "max_length": _("Keep the reason under 1,000 characters.")})


class AdjustForm(forms.Form):
    amount = forms.CharField(label=_("Adjustment (negative: less for the merchant)"), max_length=30,
                             error_messages={"required": _("Enter the adjustment amount, e.g. 12.50 or -3.00.")})
    note = forms.CharField(label=_("Note (the merchant sees it)"), max_length=500,
                           error_messages={"required": _("Say what the adjustment is for.")})


class PayoutForm(forms.Form):
    amount = forms.CharField(label=_("Amount paid"), max_length=30,
                             error_messages={"required": _("Enter the amount paid out.")})
    payout_date = forms.DateField(label=_("Payout date"), input_formats=ISO_DATE, widget=DATE_INPUT,
                                  error_messages={"required": _("Enter the payout date."),
                                                  "invalid": _("Enter the payout date as YYYY-MM-DD.")})
    reference = forms.CharField(label=_("Bank reference"), max_length=100,
                                error_messages={"required": _("Enter the bank's reference for the payout.")})
    voucher = forms.FileField(label=_("Voucher (PDF, PNG or JPEG, at most 10 MB)"),
                              widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}),
                              error_messages={"required": _("Attach the bank's voucher of the payout."),
                                              "empty": _("The voucher file is empty.")})


class StatementFilterForm(forms.Form):
    """Finance's statement list: by status, merchant code and currency (a GET form: shareable URLs)."""

    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *STATUS_CHOICES])
    merchant = forms.RegexField(label=_("Merchant code"), required=False, max_length=50, regex=CODE)
    currency = forms.RegexField(label=_("Currency"), required=False, max_length=3, regex=r"^[A-Za-z]{3}$")


class _Period(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, input_formats=ISO_DATE, widget=DATE_INPUT)
    date_to = forms.DateField(label=_("To"), required=False, input_formats=ISO_DATE, widget=DATE_INPUT)

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        if start and end and (end - start).days > 366:
            raise forms.ValidationError(_("Choose a range of at most a year."))
        return data


class ManualFilterForm(_Period):
    """Which eligible orders finance may put into a manual statement."""

    merchant = forms.RegexField(label=_("Merchant code"), max_length=50, regex=CODE,
                                error_messages={"required": _("Enter the merchant's code.")})
    business_type = forms.ChoiceField(label=_("Business type"), required=False)
    currency = forms.RegexField(label=_("Currency"), required=False, max_length=3, regex=r"^[A-Za-z]{3}$")

    def __init__(self, *args, business_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["business_type"].choices = [("", _("Any")), *((bt.code, bt.name) for bt in business_types)]


class OrderIdsField(forms.TypedMultipleChoiceField):
    """Ticked order ids: whole numbers. Which of them may be settled is the service's decision (it names any
    order that is not eligible, and writes nothing)."""

    def valid_value(self, value) -> bool:
        text = str(value)
        return text.isdigit() and len(text) <= 18


class ManualGenerateForm(forms.Form):
    """The orders ticked, and the token that makes submitting the form twice generate once."""

    token = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)
    merchant = forms.RegexField(max_length=50, regex=CODE, widget=forms.HiddenInput)
    currency = forms.RegexField(required=False, max_length=3, regex=r"^[A-Z]{3}$", widget=forms.HiddenInput)
    order_ids = OrderIdsField(coerce=int, error_messages={"required": _("Tick at least one order."),
                                                          "invalid_choice": _("Tick orders from the list.")})


class PeriodForm(forms.Form):
    """Totals per period: all merchants or one, all currencies or one."""

    merchant = forms.RegexField(label=_("Merchant code"), required=False, max_length=50, regex=CODE)
    currency = forms.RegexField(label=_("Currency"), required=False, max_length=3, regex=r"^[A-Za-z]{3}$")


class _Scope(_Period):
    """A proposal for one business type or one merchant, over a date range (default: last month)."""

    business_type = forms.ChoiceField(label=_("Business type"), required=False)
    merchant = forms.RegexField(label=_("or merchant code"), required=False, max_length=50, regex=CODE)

    def __init__(self, *args, business_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["business_type"].choices = [("", "—"), *((bt.code, bt.name) for bt in business_types)]

    def clean(self):
        data = super().clean()
        if bool(data.get("business_type")) == bool(data.get("merchant")):
            raise forms.ValidationError(_("Choose a business type or a merchant (one of them)."))
        return data


class FeeRuleSimulationForm(_Scope):
    currency = forms.RegexField(label=_("Currency"), max_length=3, regex=r"^[A-Za-z]{3}$", initial="CNY")
    rate = forms.CharField(label=_("Rate (0.006 is 0.6 %)"), max_length=12, initial="0")
    fixed_fee = forms.CharField(label=_("Fixed fee per order"), required=False, max_length=30)
    minimum_fee = forms.CharField(label=_("Minimum fee"), required=False, max_length=30)
    maximum_fee = forms.CharField(label=_("Maximum fee"), required=False, max_length=30)
    payment_fee_basis = forms.ChoiceField(label=_("Payment fee"), choices=BASIS_CHOICES, initial="actual")
    payment_fee_rate = forms.CharField(label=_("Payment fee rate"), required=False, max_length=12, initial="0")


class ScheduleSimulationForm(_Scope):
    cycle = forms.ChoiceField(label=_("Cycle"), choices=CYCLE_CHOICES)
    day_of_month = forms.IntegerField(label=_("Day of month (1-31)"), required=False, min_value=1, max_value=31,
                                      error_messages={"min_value": _("A schedule day is from 1 to 31."),
                                                      "max_value": _("A schedule day is from 1 to 31.")})
    weekday = forms.TypedChoiceField(label=_("Weekday"), required=False, choices=WEEKDAY_CHOICES, coerce=int,
                                     empty_value=None)
    delay_days = forms.IntegerField(label=_("Delay (days)"), required=False, min_value=0, max_value=366)
    eligibility_delay_days = forms.IntegerField(label=_("Eligibility delay (days)"), required=False, min_value=0,
                                                max_value=366, initial=0)
