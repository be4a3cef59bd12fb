"""The Stripe simulator's customer-facing pages: the payment page and the 3-D Secure test page.

They stand in for Stripe.js (Elements / Checkout): the page takes the card,
confirms the PaymentIntent itself, and sends the browser to the merchant's
`return_url` with `payment_intent`, `payment_intent_client_secret` and
`redirect_status=succeeded|failed`, as Stripe does after `confirmPayment`. A
decline ends the page with redirect_status=failed (the merchant starts a new
payment). The card number and CVC go no further than this request: a
PaymentMethod keeps brand, last four and expiry only.
"""

from __future__ import annotations

from contextlib import suppress
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from clearhouse.core.errors import DomainError
from clearhouse.core.money import Money, currency_exponent
from clearhouse.sandbox.domain import card_brand
from clearhouse.sandbox.forms import CardForm
from clearhouse.sandbox.stripe import services
from clearhouse.sandbox.stripe.domain import (
    TEST_CARDS,
    Behaviour,
    IntentStatus,
    StripeError,
    card_behaviour,
    new_id,
    stripe_exponent,
)
from clearhouse.sandbox.stripe.models import PaymentIntent, PaymentMethod

BEHAVIOUR_LABELS = {
    Behaviour.SUCCEED: _("Succeeds"),
    Behaviour.DECLINE_INSUFFICIENT_FUNDS: _("Declined: insufficient funds"),
    Behaviour.DECLINE_GENERIC: _("Declined: generic decline"),
    Behaviour.PROCESSING_ERROR: _("Declined: processing error"),
    Behaviour.REQUIRE_3DS: _("Requires 3-D Secure authentication"),
}


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


def _safe_return_url(url: str) -> str:
    """Only http(s) addresses: never javascript: or data: from a query string."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


def _amount_display(intent: PaymentIntent) -> str:
    """Stripe units back to the currency's own minor units for display (Stripe's exceptions aside)."""
    locale = "zh_Hans_CN" if (get_language() or "").lower().startswith("zh") else "en"
    try:
        shift = currency_exponent(intent.currency.upper()) - stripe_exponent(intent.currency)
        minor = intent.amount * 10**shift if shift >= 0 else intent.amount // 10**-shift
        return Money(minor, intent.currency.upper()).format(locale)
    except DomainError:
        return f"{intent.amount} {intent.currency.upper()}"


def _back(intent: PaymentIntent, return_url: str) -> HttpResponse | None:
    """Where Stripe.js sends the customer when the payment left the page: the merchant's return_url."""
    if not return_url:
        return None
    status = "succeeded" if intent.status in (IntentStatus.SUCCEEDED, IntentStatus.REQUIRES_CAPTURE,
                                              IntentStatus.PROCESSING) else "failed"
    return HttpResponseRedirect(_with_query(return_url, payment_intent=intent.pk,
                                            payment_intent_client_secret=intent.client_secret,
                                            redirect_status=status))


def _pay(intent: PaymentIntent, form: CardForm, return_url: str) -> PaymentIntent:
    """Tokenise the card and confirm the intent with it, in one transaction (events go out after commit)."""
    month, year = form.cleaned_data["expiry"]
    number = form.cleaned_data["number"]
    with transaction.atomic():
        method = PaymentMethod.objects.create(id=new_id("pm"), account=intent.account, brand=card_brand(number),
                                              last4=number[-4:], exp_month=month, exp_year=year,
                                              behaviour=card_behaviour(number))
        with suppress(StripeError):  # a decline is recorded on the intent (last_payment_error); the page says so
            services.payment_intent_confirm(account=intent.account, intent_id=intent.pk,
                                            params={"payment_method": method.pk, "return_url": return_url})
    intent.refresh_from_db()
    return intent


@sensitive_post_parameters("number", "cvc")
@require_http_methods(["GET", "POST"])
def pay(request: HttpRequest, intent_id: str) -> HttpResponse:
    intent = get_object_or_404(PaymentIntent, pk=intent_id)
    return_url = _safe_return_url(request.GET.get("return_url") or request.POST.get("return_url") or "")
    payable = intent.status in (IntentStatus.REQUIRES_PAYMENT_METHOD, IntentStatus.REQUIRES_CONFIRMATION)
    form = CardForm(request.POST if request.method == "POST" and payable else None)
    if form.is_bound and form.is_valid():
        intent = _pay(intent, form, return_url)
        if intent.status == IntentStatus.REQUIRES_ACTION:
            return HttpResponseRedirect(reverse("sandbox:sandbox_stripe:authenticate", args=[intent.pk]))
        back = _back(intent, return_url)
        if back is not None:
            return back
        payable = False
    return render(request, "sandbox_stripe/pay.html", {
        "intent": intent, "form": form, "payable": payable, "return_url": return_url,
        "amount": _amount_display(intent), "error": (intent.last_payment_error or {}).get("message", ""),
        "test_cards": [(" ".join(c.number[i:i + 4] for i in range(0, 16, 4)), BEHAVIOUR_LABELS[c.behaviour])
                       for c in TEST_CARDS],
        "expiry_value": form.data.get("expiry", "") if form.is_bound else "",
        "cardholder_value": form.data.get("cardholder", "") if form.is_bound else "",
    })


@require_http_methods(["GET", "POST"])
def authenticate(request: HttpRequest, intent_id: str) -> HttpResponse:
    """Stripe's 3-D Secure test page: complete or fail the authentication, then back to the return_url."""
    intent = get_object_or_404(PaymentIntent, pk=intent_id)
    if request.method == "POST" and intent.status == IntentStatus.REQUIRES_ACTION:
        try:
            with transaction.atomic():
                services.payment_intent_authenticate(intent_id=intent.pk,
                                                     approve=request.POST.get("decision") == "complete")
        except StripeError:  # answered meanwhile (another tab): show where it stands
            pass
        intent.refresh_from_db()
        back = _back(intent, _safe_return_url(intent.return_url))
        if back is not None:
            return back
    return render(request, "sandbox_stripe/authenticate.html", {
        "intent": intent, "pending": intent.status == IntentStatus.REQUIRES_ACTION, "amount": _amount_display(intent),
    })
