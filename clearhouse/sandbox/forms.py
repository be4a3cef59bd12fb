"""The hosted card form: checks the card is plausible (Luhn, future expiry) before anything is stored."""

from __future__ import annotations

import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clearhouse.sandbox.domain import digits_only, expiry_in_future, luhn_valid

_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*$")


class CardForm(forms.Form):
    """Card number, expiry MM/YY, CVC and cardholder. The number and CVC are never re-displayed."""

    number = forms.CharField(label=_("Card number"), max_length=23)
    expiry = forms.CharField(label=_("Expiry (MM/YY)"), max_length=7)
    cvc = forms.CharField(label=_("CVC"), max_length=8)
    cardholder = forms.CharField(label=_("Cardholder name"), max_length=100)

    def clean_number(self) -> str:
        number = digits_only(self.cleaned_data["number"])
        if not luhn_valid(number):
            raise forms.ValidationError(_("This card number is not valid."), code="invalid_number")
        return number

    def clean_expiry(self) -> tuple[int, int]:
        match = _EXPIRY.match(self.cleaned_data["expiry"])
        if not match:
            raise forms.ValidationError(_("Enter the expiry as MM/YY."), code="invalid_expiry")
        month, year = int(match.group(1)), int(match.group(2))
        year = year + 2000 if year < 100 else year
        if not expiry_in_future(month=month, year=year, today=timezone.localdate()):
            raise forms.ValidationError(_("This card has expired."), code="expired_card")
        return month, year

    def clean_cvc(self) -> str:
        cvc = self.cleaned_data["cvc"].strip()
        if not (cvc.isascii() and cvc.isdigit() and len(cvc) in (3, 4)):
            raise forms.ValidationError(_("The CVC is 3 or 4 digits."), code="invalid_cvc")
        return cvc
