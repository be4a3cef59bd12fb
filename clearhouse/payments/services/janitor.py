"""The janitor: payments and refunds whose outcome we do not know are asked about until we do.

A crash, a lost webhook or a provider timeout can leave an intent in flight
(processing, or waiting for a 3-D Secure answer we never heard), an intent
that looks unpaid although the provider took the money (the process died
between the provider's answer and our commit), or a refund pending. Each
run asks the provider about the ones due, with exponential backoff between
questions. Nothing stays unknown silently: a payment still
unresolved after PAYMENT_STUCK_MAX_QUERIES questions is put on finance's
exception list (attention_reason); a payment the customer abandoned (on the
hosted form or at 3-D Secure) is voided instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clearhouse.core.money import Money
from clearhouse.payments.domain import IntentStatus, RefundState, backoff_s
from clearhouse.payments.locks import intent_select_for_update, refund_select_for_update
from clearhouse.payments.models import PaymentIntent, Refund
from clearhouse.payments.providers import provider_for
from clearhouse.payments.providers.base import PaymentError
from clearhouse.payments.services.apply import fail, intent_apply
from clearhouse.payments.services.calls import provider_call
from clearhouse.payments.services.intents import payment_void
from clearhouse.payments.services.refunds import refund_apply

ACTOR = "system:janitor"
IN_FLIGHT = (IntentStatus.REQUIRES_PAYMENT, IntentStatus.PROCESSING, IntentStatus.REQUIRES_ACTION)
ABANDONABLE = (IntentStatus.REQUIRES_PAYMENT, IntentStatus.REQUIRES_ACTION)


@dataclass
class JanitorReport:
    resolved: int = 0
    still_unknown: int = 0
    flagged: int = 0
    voided: int = 0


def _due(model, statuses, now: datetime, stuck_after: timedelta, extra: Q):
    return list(model.objects.filter(extra, status__in=statuses, attention_reason="").filter(
        Q(next_query_at__lte=now) | Q(next_query_at__isnull=True, updated_at__lte=now - stuck_after),
    ).order_by("pk").values_list("pk", flat=True)[:500])


def payments_resolve_stuck(*, now: datetime | None = None) -> JanitorReport:
    """One janitor pass over in-flight intents and pending online refunds."""
    now = now or timezone.now()
    stuck_after = timedelta(seconds=settings.PAYMENT_STUCK_AFTER_S)
    report = JanitorReport()
    online = ~Q(provider__in=("bank_transfer", "cash")) & ~Q(provider_reference="")
    for intent_id in _due(PaymentIntent, IN_FLIGHT, now, stuck_after, online):
        _intent_pass(intent_id, now, report)
    for refund_id in _due(Refund, (RefundState.PENDING,), now, stuck_after, Q(offline=False)):
        _refund_pass(refund_id, now, report)
    return report


def _next_query(count: int, now: datetime) -> datetime:
    return now + timedelta(seconds=max(1.0, backoff_s(attempt=count, base_s=settings.PAYMENT_STUCK_AFTER_S / 2,
                                                      cap_s=3600)))


def _ask(intent: PaymentIntent):
    """The provider's answer about an intent, or None when it did not answer (no transaction is held)."""
    try:
        return provider_call(provider=intent.provider, operation="query", request_id=f"{intent.reference}:query",
                             intent=intent, retry=False,
                             call=lambda: provider_for(intent.provider, merchant_id=intent.merchant_id).query(
                                 provider_reference=intent.provider_reference))
    except PaymentError:
        return None


def _intent_pass(intent_id: int, now: datetime, report: JanitorReport) -> None:
    remote = _ask(PaymentIntent.objects.get(pk=intent_id))
    with transaction.atomic():
        intent = intent_select_for_update(intent_id=intent_id)
        if intent.status not in IN_FLIGHT:
            return
        if remote is not None:
            if intent.status == IntentStatus.PROCESSING and remote.status == IntentStatus.REQUIRES_PAYMENT:
                # Our confirm never reached the provider (we died first): the customer pays again.
                fail(intent, code="confirm_not_received", message="The payment was not completed.",
                     source="janitor", actor=ACTOR, notify=True)
            else:
                intent_apply(intent=intent, remote=remote, source="janitor", actor=ACTOR)
        if intent.status not in IN_FLIGHT:
            report.resolved += 1
            return
        intent.query_count += 1
        abandoned = intent.query_count >= settings.PAYMENT_STUCK_MAX_QUERIES and intent.status in ABANDONABLE
        if intent.query_count >= settings.PAYMENT_STUCK_MAX_QUERIES and not abandoned:
            intent.attention_reason = (f"Still {intent.status} at the provider after {intent.query_count} "
                                       f"queries; check with {intent.provider}.")
            report.flagged += 1
        elif not abandoned:
            intent.next_query_at = _next_query(intent.query_count, now)
            report.still_unknown += 1
        intent.save(update_fields=["query_count", "attention_reason", "next_query_at", "updated_at"])
    if abandoned:
        payment_void(intent=intent, actor=ACTOR, reason="abandoned by the customer")
        report.voided += 1


def _refund_pass(refund_id: int, now: datetime, report: JanitorReport) -> None:
    refund = Refund.objects.select_related("intent").get(pk=refund_id)
    intent = refund.intent
    try:
        if refund.provider_reference:
            remote = provider_for(intent.provider, merchant_id=intent.merchant_id).query_refund(
                provider_refund_reference=refund.provider_reference)
        else:
            # We never heard back from the refund call: sending it again with its key is safe.
            key = f"{refund.reference}:refund"
            remote = provider_call(
                provider=intent.provider, operation="refund", request_id=key, refund=refund, intent=intent,
                retry=False, call=lambda: provider_for(intent.provider, merchant_id=intent.merchant_id).refund(
                    provider_reference=intent.provider_reference, amount=Money(refund.amount_minor, refund.currency),
                    refund_reference=refund.reference, idempotency_key=key))
    except PaymentError:
        remote = None
    with transaction.atomic():
        refund = refund_select_for_update(refund_id=refund_id)
        if refund.status != RefundState.PENDING:
            return
        if remote is not None:
            refund_apply(refund=refund, remote=remote, actor=ACTOR)
        if refund.status != RefundState.PENDING:
            report.resolved += 1
            return
        refund.query_count += 1
        if refund.query_count >= settings.PAYMENT_STUCK_MAX_QUERIES:
            refund.attention_reason = f"Refund still pending at {intent.provider} after {refund.query_count} queries."
            report.flagged += 1
        else:
            refund.next_query_at = _next_query(refund.query_count, now)
            report.still_unknown += 1
        refund.save(update_fields=["query_count", "attention_reason", "next_query_at", "updated_at"])
