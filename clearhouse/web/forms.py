"""Forms of the storefront and merchant pages: they parse input; the rules stay in services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from clearhouse.catalog.domain import ProductSort
from clearhouse.core.errors import DomainError
from clearhouse.core.money import Money

SHOP_CURRENCY = "CNY"
SORT_CHOICES = [
    (ProductSort.RELEVANCE.value, _("Best match")),
    (ProductSort.NEWEST.value, _("Newest")),
    (ProductSort.PRICE_ASC.value, _("Price: low to high")),
    (ProductSort.PRICE_DESC.value, _("Price: high to low")),
    (ProductSort.SALES.value, _("Best selling")),
]


class CatalogFilterForm(forms.Form):
    """The storefront's search box and filters (a GET form: every result page has a shareable URL)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    category = forms.TypedChoiceField(label=_("Category"), required=False, coerce=int, empty_value=None)
    merchant = forms.TypedChoiceField(label=_("Shop"), required=False, coerce=int, empty_value=None)
    price_min = forms.CharField(label=_("Min price"), required=False, max_length=20)
    price_max = forms.CharField(label=_("Max price"), required=False, max_length=20)
    in_stock = forms.BooleanField(label=_("In stock only"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)

    def __init__(self, *args, categories: list[tuple[int, str]], merchants: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("All categories")), *categories]
        self.fields["merchant"].choices = [("", _("All shops")), *merchants]

    def _price(self, name: str) -> Money | None:
        text = (self.cleaned_data.get(name) or "").strip()
        if not text:
            return None
        try:
            price = Money.parse(text, SHOP_CURRENCY, param=name)
        except DomainError:
            raise forms.ValidationError(_("Enter an amount such as 25 or 25.50.")) from None
        if price.minor < 0:
            raise forms.ValidationError(_("Enter an amount such as 25 or 25.50."))
        return price

    def clean_price_min(self) -> Money | None:
        return self._price("price_min")

    def clean_price_max(self) -> Money | None:
        return self._price("price_max")


class CartAddForm(forms.Form):
    variant_id = forms.IntegerField(min_value=1)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=999, initial=1)


class StockReceiveForm(forms.Form):
    """Goods arrived for one of the merchant's SKUs."""

    variant_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    quantity = forms.IntegerField(label=_("Units received"), min_value=1, max_value=1_000_000)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)


class CartQuantityForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=999)


class CheckoutForm(forms.Form):
    """Where to ship, which coupons, how many points: the checkout service checks the rest."""

    NEW_ADDRESS = "new"

    address = forms.ChoiceField(label=_("Ship to"), required=False)
    recipient = forms.CharField(label=_("Recipient"), required=False, max_length=100)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=32)
    region = forms.CharField(label=_("Province / region"), required=False, max_length=100)
    city = forms.CharField(label=_("City"), required=False, max_length=100)
    line = forms.CharField(label=_("Street address"), required=False, max_length=300)
    postal_code = forms.CharField(label=_("Postal code"), required=False, max_length=20)
    merchant_coupons = forms.CharField(label=_("Shop coupon codes"), required=False, max_length=400,
                                       help_text=_("One per shop; separate codes with spaces or commas."))
    platform_coupon = forms.CharField(label=_("Platform coupon code"), required=False, max_length=40)
    points = forms.IntegerField(label=_("Points to redeem"), required=False, min_value=0, max_value=10**9)

    def __init__(self, *args, addresses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address"].choices = [
            *((str(a.pk), f"{a.recipient} · {a.region} {a.city} {a.line}") for a in addresses),
            (self.NEW_ADDRESS, _("A new address (enter it below)")),
        ]

    def clean_merchant_coupons(self) -> list[str]:
        text = self.cleaned_data.get("merchant_coupons") or ""
        return [code for code in text.replace(",", " ").replace("\uff0c", " ").split() if code]

    def clean_platform_coupon(self) -> str | None:
        return (self.cleaned_data.get("platform_coupon") or "").strip() or None

    def clean_points(self) -> int:
        return self.cleaned_data.get("points") or 0

    def new_address_given(self) -> bool:
        return self.cleaned_data.get("address") in ("", self.NEW_ADDRESS)


class ShipForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=100)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=100)


class DeliverForm(forms.Form):
    signed_by = forms.CharField(label=_("Signed by"), max_length=100)


# --- payments (finance desk) ---------------------------------------------------------------
# Amounts stay text here: the view parses them with Money.parse in the payment's currency (never a float).
class CaptureForm(forms.Form):
    amount = forms.CharField(required=False, max_length=30)


class RefundRequestForm(forms.Form):
    amount = forms.CharField(max_length=30, error_messages={"required": _("Enter the amount to refund.")})
    reason = forms.CharField(max_length=300, error_messages={"required": _("Say why the refund is made.")})


class MarkReceivedForm(forms.Form):
    amount = forms.CharField(max_length=30, error_messages={"required": _("Enter the amount received.")})
    bank_reference = forms.CharField(max_length=100, error_messages={
        "required": _("Enter the bank's reference for the transfer.")})


class BankReferenceForm(forms.Form):
    bank_reference = forms.CharField(max_length=100, error_messages={
        "required": _("Enter the bank's reference for the payout.")})


class RefundDecisionForm(forms.Form):
    reason = forms.CharField(required=False, max_length=60)


class CashPaymentForm(forms.Form):
    amount = forms.CharField(max_length=30, error_messages={"required": _("Enter the amount taken.")})
    receipt_number = forms.CharField(max_length=60, error_messages={
        "required": _("Enter the cash receipt's number.")})


def first_error(form: forms.Form) -> str:
    """The first error of an invalid form, for a one-line message."""
    for errors in form.errors.values():
        return str(errors[0])
    return str(_("Check the form."))
