"""Payment intents, the provider calls made for them (attempts), refunds, and provider events.

Money is integer minor units plus ISO currency. An intent carries its order's
merchant and customer keys, so merchant scoping is one filter (DESIGN §13).
Card numbers never appear here: a card provider's hosted form hands us a
token, and we keep only the provider's references.
"""

from django.db import models
from django.db.models import F, Q

from clearhouse.core.append_only import AppendOnlyModel
from clearhouse.core.crypto import EncryptedTextField
from clearhouse.payments.domain import LIVE, CaptureMethod, IntentStatus, Method, RefundState

INTENT_STATUS = [(s.value, s.value.replace("_", " ").capitalize()) for s in IntentStatus]
METHODS = [(m.value, m.value.replace("_", " ").capitalize()) for m in Method]
CAPTURE_METHODS = [(m.value, m.value.capitalize()) for m in CaptureMethod]
REFUND_STATES = [(s.value, s.value.replace("_", " ").capitalize()) for s in RefundState]


class PaymentIntent(models.Model):
    """One attempt by a customer to pay one order, by one method, through one provider.

    At most one live intent per order (a failed or cancelled one makes room
    for the next try). `reference` is ours and public (the customer quotes it
    on a bank transfer); `provider_reference` is the provider's id.
    """

    reference = models.CharField(max_length=32, unique=True)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payment_intents")
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.CustomerProfile", on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=20, choices=METHODS)
    provider = models.CharField(max_length=20)
    capture_method = models.CharField(max_length=10, choices=CAPTURE_METHODS, default=CaptureMethod.AUTOMATIC)
    status = models.CharField(max_length=20, choices=INTENT_STATUS, default=IntentStatus.REQUIRES_PAYMENT)
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    amount_authorized_minor = models.BigIntegerField(default=0)
    amount_captured_minor = models.BigIntegerField(default=0)
    amount_refunded_minor = models.BigIntegerField(default=0)
    fee_minor = models.BigIntegerField(null=True, blank=True, help_text="The provider's fee, once known")
    provider_reference = models.CharField(max_length=100, blank=True)
    transaction_reference = models.CharField(max_length=100, blank=True, help_text="Printed on the voucher")
    action_url = models.TextField(blank=True, help_text="Where the customer goes next (hosted form, 3-D Secure)")
    qr_code = models.TextField(blank=True, help_text="What the customer scans with the provider's app")
    failure_code = models.CharField(max_length=60, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    receipt_number = models.CharField(max_length=60, blank=True, help_text="Cash: the paper receipt's number")
    received_reference = models.CharField(max_length=100, blank=True, help_text="Bank transfer: the bank's reference")
    paid_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=10, default="en", help_text="The customer's language for messages")
    # Janitor: when to ask the provider again about an intent stuck in flight, and how often it already did.
    next_query_at = models.DateTimeField(null=True, blank=True)
    query_count = models.PositiveIntegerField(default=0)
    attention_reason = models.CharField(max_length=300, blank=True, help_text="Set: on finance's exception list")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(status__in=sorted(LIVE)),
                                    name="payment_one_live_intent_per_order"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(amount_captured_minor__lte=F("amount_minor")),
                                   name="payment_captured_within_amount"),
            models.CheckConstraint(condition=Q(amount_refunded_minor__lte=F("amount_captured_minor")),
                                   name="payment_refunded_within_captured"),
        ]
        indexes = [
            models.Index(fields=["provider", "provider_reference"], name="payment_provider_ref_idx"),
            models.Index(fields=["status", "next_query_at"], name="payment_janitor_idx"),
            models.Index(fields=["merchant", "-id"], name="payment_merchant_idx"),
        ]
        permissions = [
            ("pay_orders", "Pay one's own orders"),
            ("view_payments", "See payments (merchant staff: their merchant's only)"),
            ("record_offline_payments", "Mark bank transfers received, record cash"),
            ("capture_payments", "Capture and void authorized payments"),
            ("request_refunds", "Request refunds"),
            ("approve_refunds", "Approve or reject refunds above the threshold, pay out offline refunds"),
        ]

    def __str__(self) -> str:
        return self.reference


class PaymentStatusChange(AppendOnlyModel):
    """One step of an intent: from, to, what caused it (api, webhook, query, janitor) and who."""

    intent = models.ForeignKey(PaymentIntent, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    source = models.CharField(max_length=20)
    actor = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class Attempt(AppendOnlyModel):
    """One call to a provider: what was asked, under which idempotency key, what came back, how long it took.

    These feed the dashboard (success rate, latency) and explain every retry.
    """

    intent = models.ForeignKey(PaymentIntent, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="attempts")
    refund = models.ForeignKey("payments.Refund", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="attempts")
    provider = models.CharField(max_length=20)
    operation = models.CharField(max_length=20)  # create, confirm, capture, cancel, refund, query
    request_id = models.CharField(max_length=200, help_text="The idempotency key sent")
    try_number = models.PositiveSmallIntegerField(default=1)
    outcome = models.CharField(max_length=20)  # succeeded, declined, unavailable, timeout, rejected
    error_code = models.CharField(max_length=60, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["provider", "created_at"], name="attempt_provider_time_idx")]


class Refund(models.Model):
    """Money going back to the customer for (part of) a captured payment.

    Online refunds go through the intent's provider. Offline ones (bank
    transfer, cash) are due to be paid out by finance, who records the
    bank reference when they did. Refunds above the approval threshold wait
    for a finance manager who is not the requester.
    """

    reference = models.CharField(max_length=32, unique=True)
    intent = models.ForeignKey(PaymentIntent, on_delete=models.PROTECT, related_name="refunds")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=REFUND_STATES)
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    reason = models.CharField(max_length=300)
    offline = models.BooleanField(default=False, help_text="Paid out by finance, not through a provider")
    requested_by = models.CharField(max_length=200)
    requested_by_user = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+")
    decided_by = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    provider_reference = models.CharField(max_length=100, blank=True)
    payout_reference = models.CharField(max_length=100, blank=True, help_text="Offline: finance's bank reference")
    failure_code = models.CharField(max_length=60, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    next_query_at = models.DateTimeField(null=True, blank=True)
    query_count = models.PositiveIntegerField(default=0)
    attention_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(amount_minor__gt=0), name="refund_amount_positive")]
        indexes = [
            models.Index(fields=["status", "next_query_at"], name="refund_janitor_idx"),
            models.Index(fields=["provider_reference"], name="refund_provider_ref_idx"),
        ]

    def __str__(self) -> str:
        return self.reference


class ProviderEvent(models.Model):
    """A verified provider notification, kept once per provider event id (duplicates are acknowledged, not
    applied twice)."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=100)
    object_reference = models.CharField(max_length=100, blank=True)
    payload = models.JSONField(default=dict)
    outcome = models.CharField(max_length=40, blank=True)  # applied, stale, unknown_object, ignored
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="provider_event_once")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id} {self.type}"


class RejectedWebhook(models.Model):
    """A notification that failed verification: logged for security review, never applied."""

    provider = models.CharField(max_length=20)
    reason = models.CharField(max_length=300)
    remote_addr = models.CharField(max_length=64, blank=True)
    body_excerpt = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.provider} rejected: {self.reason}"


class ProviderAccount(models.Model):
    """A company's account at a payment provider: the platform's own (merchant empty) or one merchant's.

    `settings` holds what is not secret (app id, client id, merchant number,
    the API address — a local simulator's in the demo and tests); `secrets`
    holds keys and passwords as JSON, encrypted at rest (AES-GCM with a key
    id) and never shown again once saved. A method is offered at checkout
    only while an enabled account serves it.
    """

    provider = models.CharField(max_length=20)
    merchant = models.ForeignKey("accounts.Merchant", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", help_text="Empty: the platform's own account")
    enabled = models.BooleanField(default=True)
    settings = models.JSONField(default=dict, blank=True, help_text="Not secret: ids, API address")
    secrets = EncryptedTextField(blank=True, default="", purpose="payments.provider_account.secrets",
                                 help_text="JSON; encrypted at rest, never displayed")
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_result = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "merchant_id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "merchant"], name="provider_account_once_per_merchant"),
            models.UniqueConstraint(fields=["provider"], condition=Q(merchant__isnull=True),
                                    name="provider_account_once_for_platform"),
        ]
        permissions = [("manage_provider_accounts", "Configure payment providers and their credentials")]

    def __str__(self) -> str:
        return f"{self.provider} ({self.merchant or 'platform'})"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        from clearhouse.payments.providers import reset_cache

        reset_cache()  # this process sees the change at once; others within PROVIDER_CACHE_S
