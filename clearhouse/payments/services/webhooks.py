"""Provider notifications in: verified, kept once per provider event id, applied monotonically.

A duplicate delivery is acknowledged and changes nothing; an event older
than what we know (out of order) finds its transition absent from the table
and changes nothing. A notification that fails verification, names a
payment we do not know, or carries another amount than the payment's is
logged for review and refused with a 4xx (nothing applied; the provider
retries, so a genuine one arriving early still lands).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from clearhouse.core.money import Money
from clearhouse.payments.locks import intent_select_for_update, refund_select_for_update
from clearhouse.payments.models import PaymentIntent, ProviderEvent, Refund, RejectedWebhook
from clearhouse.payments.providers import provider_for_account
from clearhouse.payments.providers.base import WebhookAck, WebhookEvent, WebhookRejected
from clearhouse.payments.services.apply import intent_apply
from clearhouse.payments.services.refunds import refund_apply


class UnknownPaymentReference(WebhookRejected):
    """Verified, but about a payment or refund we never made: refused (the provider retries) and logged."""

    code = "unknown_payment_reference"
    http_status = 404
    default_message = "The notification names a payment or refund Clearhouse does not know."


class WebhookAmountMismatch(WebhookRejected):
    """Verified, but its amount or currency is not the payment's: refused and logged, nothing applied."""

    code = "amount_mismatch"
    default_message = "The notification's amount does not match the payment."


class UnknownWebhookEvent(WebhookRejected):
    """Genuine, perhaps, but about nothing we handle: refused (4xx) and logged, so it shows up in review."""

    code = "unknown_event"
    default_message = "The notification's event type is not handled."


@dataclass(frozen=True)
class WebhookResult:
    outcome: str  # applied, stale, duplicate
    ack: WebhookAck


def webhook_receive(*, provider: str, body: bytes, headers: Mapping[str, str], remote_addr: str = "",
                    account_id: int | None = None) -> WebhookResult:
    """Verify (with the keys of the account the URL names), deduplicate and apply one notification;
    WebhookRejected when it is not genuine."""
    adapter = provider_for_account(provider, account_id)
    try:
        event = adapter.parse_webhook(body=body, headers=headers)
        if event.payment is None and event.refund is None:
            raise UnknownWebhookEvent(f"Event type {event.type!r} is not one Clearhouse handles.")
        return _receive(provider, adapter, event)
    except WebhookRejected as exc:
        RejectedWebhook.objects.create(
            provider=provider[:20], reason=f"{exc.code}: {exc.message}"[:300], remote_addr=remote_addr[:64],
            body_excerpt=body[:2000].decode("utf-8", "replace"))
        raise


def _receive(provider: str, adapter, event: WebhookEvent) -> WebhookResult:
    with transaction.atomic():
        record = _record_once(provider, event)
        if record is None:
            return WebhookResult("duplicate", adapter.webhook_ack())
        outcome = _apply(provider, event)
        record.outcome, record.processed_at = outcome, timezone.now()
        record.save(update_fields=["outcome", "processed_at"])
    return WebhookResult(outcome, adapter.webhook_ack())


def _record_once(provider: str, event: WebhookEvent) -> ProviderEvent | None:
    """Keep the event, unless its (provider, event id) is kept already (then None): one statement, no savepoint.

    A concurrent duplicate waits on the unique index until the first delivery commits, then finds the key
    taken (PostgreSQL and SQLite both speak INSERT ... ON CONFLICT DO NOTHING RETURNING).
    """
    now = timezone.now()
    fields = {"provider": provider, "event_id": event.event_id[:200], "type": event.type[:100],
              "object_reference": _object_reference(event)[:100], "payload": dict(event.raw), "outcome": "",
              "received_at": now}
    meta = ProviderEvent._meta
    params = [meta.get_field(name).get_db_prep_save(value, connection) for name, value in fields.items()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {meta.db_table} ({', '.join(fields)}) VALUES ({', '.join(['%s'] * len(fields))}) "  # noqa: S608
            f"ON CONFLICT (provider, event_id) DO NOTHING RETURNING id", params)
        row = cursor.fetchone()
    if row is None:
        return None
    record = ProviderEvent(pk=row[0], **fields)
    record._state.adding = False
    return record


def _object_reference(event: WebhookEvent) -> str:
    if event.payment is not None:
        return event.payment.provider_reference
    if event.refund is not None:
        return event.refund.provider_reference
    return ""


def _apply(provider: str, event: WebhookEvent) -> str:
    actor = f"webhook:{provider}"
    if event.payment is not None:
        intent_id = PaymentIntent.objects.filter(
            provider=provider, provider_reference=event.payment.provider_reference).values_list("pk", flat=True).first()
        if intent_id is None:
            raise UnknownPaymentReference(f"No {provider} payment {event.payment.provider_reference}.")
        intent = intent_select_for_update(intent_id=intent_id)
        if event.payment.amount != Money(intent.amount_minor, intent.currency):
            raise WebhookAmountMismatch(
                f"Payment {intent.reference} is {intent.amount_minor} {intent.currency} (minor units); the "
                f"notification says {event.payment.amount.minor} {event.payment.amount.currency}.")
        return "applied" if intent_apply(intent=intent, remote=event.payment, source="webhook", actor=actor) \
            else "stale"
    if event.refund is not None:
        # By the provider's id, or by ours (a provider that keys refunds by our reference may tell us about
        # one before our own call returned its answer).
        named = event.refund.provider_reference
        refund_id = Refund.objects.filter(Q(provider_reference=named) | Q(reference=named.upper()),
                                          intent__provider=provider).values_list("pk", flat=True).first()
        if refund_id is None:
            raise UnknownPaymentReference(f"No {provider} refund {event.refund.provider_reference}.")
        refund = refund_select_for_update(refund_id=refund_id)
        return "applied" if refund_apply(refund=refund, remote=event.refund, actor=actor) else "stale"
    raise AssertionError("webhook_receive refuses events without a payment or refund")
