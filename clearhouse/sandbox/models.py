"""The sandbox card provider's own tables (prefixed `sandbox_`): a provider separate from Clearhouse.

Clearhouse never reads these; it sees them only through the sandbox's HTTP API
and its signed webhooks, as it would see Stripe's.
"""

from __future__ import annotations

from django.db import models

from clearhouse.sandbox.domain import Behaviour, IntentStatus


class PaymentIntent(models.Model):
    """The sandbox's record of one payment, Stripe-style: created, confirmed with a card, maybe captured."""

    id = models.CharField(primary_key=True, max_length=40)
    amount = models.BigIntegerField()  # minor units
    currency = models.CharField(max_length=3)  # lowercase, as the API speaks it
    status = models.CharField(max_length=32, choices=[(s, s) for s in IntentStatus],
                              default=IntentStatus.REQUIRES_PAYMENT_METHOD)
    capture_method = models.CharField(max_length=16, default="automatic")
    amount_capturable = models.BigIntegerField(default=0)
    amount_received = models.BigIntegerField(default=0)
    amount_refunded = models.BigIntegerField(default=0)
    fee = models.BigIntegerField(null=True, blank=True)
    charge = models.CharField(max_length=40, blank=True)
    reference = models.CharField(max_length=200, blank=True)  # the merchant's (Clearhouse's) reference
    description = models.CharField(max_length=500, blank=True)
    notify_url = models.URLField(max_length=1000, blank=True)
    return_url = models.URLField(max_length=1000, blank=True)  # given at confirm: where 3-D Secure returns
    payment_method = models.ForeignKey("PaymentMethod", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    last_error_code = models.CharField(max_length=64, blank=True)
    last_error_decline_code = models.CharField(max_length=64, blank=True)
    last_error_message = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"


class PaymentMethod(models.Model):
    """A card entered on the hosted form. Only brand, last four digits, expiry and the test behaviour
    are kept: never the full number, never the CVC."""

    id = models.CharField(primary_key=True, max_length=40)
    intent = models.ForeignKey(PaymentIntent, on_delete=models.CASCADE, related_name="payment_methods")
    brand = models.CharField(max_length=16)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    behaviour = models.CharField(max_length=40, choices=[(b, b) for b in Behaviour])
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.id} {self.brand} •••• {self.last4}"


class Refund(models.Model):
    """Money given back on a captured payment; the sandbox settles refunds at once."""

    id = models.CharField(primary_key=True, max_length=40)
    intent = models.ForeignKey(PaymentIntent, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, default="succeeded")
    reference = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.id} {self.amount} {self.status}"


class IdempotentRequest(models.Model):
    """A POST remembered by its Idempotency-Key: the request's fingerprint and the answer given."""

    key = models.CharField(max_length=255, unique=True)
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.key} -> {self.response_status}"


class WebhookEvent(models.Model):
    """A notification about a status change, with the exact JSON body that is signed and sent."""

    id = models.CharField(primary_key=True, max_length=40)
    type = models.CharField(max_length=64)
    body = models.TextField()
    notify_url = models.URLField(max_length=1000, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class DeliveryState(models.TextChoices):
    PENDING = "pending"  # to send (again) at next_attempt_at
    HELD = "held"  # test control: kept back until released
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after MAX_ATTEMPTS
    DROPPED = "dropped"  # test control: never sent


class WebhookDelivery(models.Model):
    """One copy of an event on its way to the notify_url (test controls may make several, or none)."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event_id} {self.state} ({self.attempts} attempts)"


class TestControls(models.Model):
    """The sandbox's fault switches (one row, pk=1), kept in the database so every process sees them."""

    __test__ = False  # not a pytest test class

    drop_webhooks = models.BooleanField(default=False)
    duplicate_webhooks = models.PositiveSmallIntegerField(default=0)  # n >= 2: each event is sent n times
    hold_webhooks = models.BooleanField(default=False)
    fail_next_calls = models.PositiveIntegerField(default=0)  # the next n API calls answer 500 api_error

    class Meta:
        verbose_name_plural = "test controls"

    def __str__(self) -> str:
        return "sandbox test controls"
