"""The Stripe simulator's own tables (prefixed `sandbox_stripe_`): a provider separate from Clearhouse.

Clearhouse never reads these; it reaches them only through the simulator's
Stripe-shaped HTTP API and its signed webhooks, exactly as it reaches Stripe.
Amounts are integers in Stripe's units for the currency (see domain.py).
No card number or CVC is ever stored: only brand, last four and expiry.
"""

from __future__ import annotations

from django.db import models

from clearhouse.core.crypto import EncryptedTextField
from clearhouse.sandbox.stripe.domain import Behaviour, IntentStatus


class Account(models.Model):
    """A Stripe account in test mode: its API keys and its fault switches (test controls).

    The secret key is shown once, when the account is created, and kept only as its SHA-256 (the API
    authenticates by hashing what it is sent), so no table holds a usable key."""

    id = models.CharField(primary_key=True, max_length=40)  # acct_...
    name = models.CharField(max_length=100)
    secret_key_sha256 = models.CharField(max_length=64, unique=True)
    publishable_key = models.CharField(max_length=120, unique=True)  # pk_test_...
    fee_rate = models.DecimalField(max_digits=6, decimal_places=4, default="0.0290")
    fee_fixed = models.BigIntegerField(default=0)  # in the charge currency's Stripe units
    # Test controls.
    fail_next_calls = models.PositiveIntegerField(default=0)  # the next n API calls answer 500 (nothing done)
    slow_next_calls = models.PositiveIntegerField(default=0)  # the next n calls are done, then answered late
    slow_s = models.FloatField(default=15.0)
    drop_webhooks = models.BooleanField(default=False)
    hold_webhooks = models.BooleanField(default=False)
    duplicate_webhooks = models.PositiveSmallIntegerField(default=0)  # n >= 2: every event sent n times
    pending_refunds = models.BooleanField(default=False)  # refunds stay pending until settled by a control
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.id} {self.name}"


class WebhookEndpoint(models.Model):
    """Where the account's events go, signed with this endpoint's own secret (whsec_...)."""

    id = models.CharField(primary_key=True, max_length=40)  # we_...
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="endpoints")
    url = models.URLField(max_length=1000)
    secret = EncryptedTextField(purpose="sandbox_stripe.webhook_endpoint.secret")  # whsec_...: signs, so kept
    enabled_events = models.JSONField(default=list)  # ["*"] or event types
    status = models.CharField(max_length=16, default="enabled")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.id} -> {self.url}"

    def listens_to(self, event_type: str) -> bool:
        return self.status == "enabled" and ("*" in self.enabled_events or event_type in self.enabled_events)


class PaymentMethod(models.Model):
    """A card entered on the payment page (or a documented test PaymentMethod such as pm_card_visa)."""

    id = models.CharField(primary_key=True, max_length=60)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    brand = models.CharField(max_length=16)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    behaviour = models.CharField(max_length=40, choices=[(b, b) for b in Behaviour])
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.id} {self.brand} •••• {self.last4}"


class BalanceTransaction(models.Model):
    """Money moving on the account's balance, with Stripe's fee: how Stripe reports fees."""

    id = models.CharField(primary_key=True, max_length=40)  # txn_...
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=16)  # charge, refund
    amount = models.BigIntegerField()
    fee = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    source = models.CharField(max_length=40)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.id} {self.type} {self.amount}"


class PaymentIntent(models.Model):
    """Stripe's PaymentIntent: created, confirmed with a card (maybe after 3-D Secure), maybe captured later."""

    id = models.CharField(primary_key=True, max_length=40)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="payment_intents")
    client_secret = models.CharField(max_length=100)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32, choices=[(s, s) for s in IntentStatus],
                              default=IntentStatus.REQUIRES_PAYMENT_METHOD)
    capture_method = models.CharField(max_length=20, default="automatic")
    amount_capturable = models.BigIntegerField(default=0)
    amount_received = models.BigIntegerField(default=0)
    description = models.CharField(max_length=1000, blank=True)
    metadata = models.JSONField(default=dict)
    payment_method = models.ForeignKey(PaymentMethod, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    latest_charge = models.ForeignKey("Charge", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    last_payment_error = models.JSONField(null=True, blank=True)
    return_url = models.URLField(max_length=2000, blank=True)
    cancellation_reason = models.CharField(max_length=32, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"


class Charge(models.Model):
    """One attempt to move money with a card; a captured charge has a balance transaction (and its fee)."""

    id = models.CharField(primary_key=True, max_length=40)  # ch_...
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    payment_intent = models.ForeignKey(PaymentIntent, on_delete=models.CASCADE, related_name="charges")
    payment_method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    amount_captured = models.BigIntegerField(default=0)
    amount_refunded = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16)  # succeeded, failed
    captured = models.BooleanField(default=False)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    balance_transaction = models.ForeignKey(BalanceTransaction, null=True, blank=True, on_delete=models.PROTECT,
                                            related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.id} {self.status}"


class Refund(models.Model):
    """Money given back on a charge: succeeded at once, or pending while the test control says so."""

    id = models.CharField(primary_key=True, max_length=40)  # re_...
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, default="succeeded")
    reason = models.CharField(max_length=32, blank=True)
    metadata = models.JSONField(default=dict)
    balance_transaction = models.ForeignKey(BalanceTransaction, null=True, blank=True, on_delete=models.PROTECT,
                                            related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return f"{self.id} {self.amount} {self.status}"


class IdempotentRequest(models.Model):
    """A POST remembered per account by its Idempotency-Key: the request's fingerprint and the answer."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="sandbox_stripe_idempotency_once")]

    def __str__(self) -> str:
        return f"{self.key} -> {self.response_status}"


class Event(models.Model):
    """Something that happened on the account, with the exact JSON body that is signed and sent."""

    id = models.CharField(primary_key=True, max_length=40)  # evt_...
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=64)
    body = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class DeliveryState(models.TextChoices):
    PENDING = "pending"
    HELD = "held"  # test control: kept back until released
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after MAX_ATTEMPTS
    DROPPED = "dropped"  # test control: never sent


class EventDelivery(models.Model):
    """One copy of an event on its way to one endpoint (test controls may make several, or none)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="sandbox_stripe_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.endpoint_id} {self.state}"
