"""The sandbox provider's customer-facing pages: the hosted card form and the 3-D Secure challenge.

The card number and CVC typed here go no further than this request: the form
turns them into a `PaymentMethod` (brand, last four, expiry, test behaviour)
and the browser goes back to the merchant with `payment_method=pm_...`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from clearhouse.core.errors import DomainError
from clearhouse.core.money import Money
from clearhouse.sandbox.domain import TEST_CARDS, Behaviour, IntentStatus, SandboxError
from clearhouse.sandbox.forms import CardForm
from clearhouse.sandbox.models import PaymentIntent
from clearhouse.sandbox.services import payment_intent_authenticate, payment_method_create

BEHAVIOUR_LABELS = {
    Behaviour.SUCCEED: _("Succeeds"),
    Behaviour.DECLINE_INSUFFICIENT_FUNDS: _("Declined: insufficient funds"),
    Behaviour.REQUIRE_3DS: _("Requires 3-D Secure authentication"),
    Behaviour.PROCESSING_ERROR: _("Processing error (the provider answers 500; try again)"),
    Behaviour.SLOW: _("Succeeds, but the answer is slow (the caller times out)"),
}


def _test_cards() -> list[tuple[str, str]]:
    return [(" ".join(card.number[i:i + 4] for i in range(0, 16, 4)), BEHAVIOUR_LABELS[card.behaviour])
            for card in TEST_CARDS]


def with_query(url: str, **params: str) -> str:
    """`url` with `params` added to (or replacing in) its query string."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def _safe_return_url(url: str) -> str:
    """Only http(s) addresses: never javascript: or data: from a query string."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


def _amount_display(intent: PaymentIntent) -> str:
    locale = "zh_Hans_CN" if (get_language() or "").lower().startswith("zh") else "en"
    try:
        return Money(intent.amount, intent.currency.upper()).format(locale)
    except DomainError:
        return f"{intent.amount} {intent.currency.upper()} (minor units)"


@sensitive_post_parameters("number", "cvc")
@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest, intent_id: str) -> HttpResponse:
    intent = get_object_or_404(PaymentIntent, pk=intent_id)
    return_url = _safe_return_url(request.GET.get("return_url") or request.POST.get("return_url")
                                  or intent.return_url)
    payable = intent.status == IntentStatus.REQUIRES_PAYMENT_METHOD
    form = CardForm(request.POST if request.method == "POST" and payable else None)
    if form.is_bound and form.is_valid():
        month, year = form.cleaned_data["expiry"]
        method = payment_method_create(intent=intent, number=form.cleaned_data["number"], exp_month=month,
                                       exp_year=year, today=timezone.localdate())
        if return_url:
            return HttpResponseRedirect(with_query(return_url, payment_method=method.pk))
        return render(request, "sandbox/card_saved.html", {"intent": intent, "method": method})
    return render(request, "sandbox/checkout.html", {
        "intent": intent, "form": form, "payable": payable, "return_url": return_url,
        "amount": _amount_display(intent), "test_cards": _test_cards(),
        "expiry_value": form.data.get("expiry", "") if form.is_bound else "",
        "cardholder_value": form.data.get("cardholder", "") if form.is_bound else "",
    })


@require_http_methods(["GET", "POST"])
def authenticate(request: HttpRequest, intent_id: str) -> HttpResponse:
    intent = get_object_or_404(PaymentIntent, pk=intent_id)
    if request.method == "POST" and intent.status == IntentStatus.REQUIRES_ACTION:
        try:
            intent = payment_intent_authenticate(intent_id=intent.pk, approve=request.POST.get("decision") == "approve")
        except SandboxError:  # answered meanwhile (another tab): show where it stands
            intent.refresh_from_db()
        else:
            return_url = _safe_return_url(intent.return_url)
            if return_url:
                return HttpResponseRedirect(with_query(return_url, payment_intent=intent.pk))
    return render(request, "sandbox/authenticate.html", {
        "intent": intent, "pending": intent.status == IntentStatus.REQUIRES_ACTION,
        "amount": _amount_display(intent),
    })
