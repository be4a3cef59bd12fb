"""Offline methods: bank transfer and cash. No API moves this money; people record it.

They still sit behind the provider interface so the rest of payments treats
every method alike: `create` gives the instructions' reference, `cancel`
always works (nothing was taken), and the operations only an online
provider can do raise NotSupported.
"""

from __future__ import annotations

from collections.abc import Mapping

from clearhouse.core.money import Money
from clearhouse.payments.providers.base import (
    CreatePayment,
    NotSupported,
    ProviderPayment,
    ProviderRefund,
    ProviderStatus,
    WebhookAck,
    WebhookEvent,
    WebhookRejected,
)


class OfflineProvider:
    offline = True

    def __init__(self, name: str):
        self.name = name

    def create(self, request: CreatePayment) -> ProviderPayment:
        return ProviderPayment(provider_reference=request.intent_reference, status=ProviderStatus.REQUIRES_PAYMENT,
                               amount=request.amount)

    def confirm(self, **kwargs) -> ProviderPayment:
        raise NotSupported(f"{self.name} payments are recorded by finance, not confirmed online.")

    def capture(self, *, provider_reference: str, amount: Money | None, idempotency_key: str) -> ProviderPayment:
        raise NotSupported(f"{self.name} payments are captured when finance records the money.")

    def cancel(self, *, provider_reference: str, idempotency_key: str) -> ProviderPayment:
        # Nothing was taken; the caller's intent knows the amount, the status is what matters.
        return ProviderPayment(provider_reference=provider_reference, status=ProviderStatus.CANCELLED,
                               amount=Money(1, "XXX"))

    def refund(self, **kwargs) -> ProviderRefund:
        raise NotSupported(f"{self.name} refunds are paid out by finance.")

    def query(self, *, provider_reference: str) -> ProviderPayment:
        raise NotSupported(f"{self.name} payments cannot be queried; finance records them.")

    def query_refund(self, *, provider_refund_reference: str) -> ProviderRefund:
        raise NotSupported(f"{self.name} refunds cannot be queried.")

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        raise WebhookRejected(f"{self.name} sends no notifications.")

    def webhook_ack(self) -> WebhookAck:
        return WebhookAck()
