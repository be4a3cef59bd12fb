"""The WeChat Pay simulator's own tables (prefixed `sandbox_wechatpay_`): a provider separate from Clearhouse.

Clearhouse never reads these; it sees them only through the simulator's
API v3 endpoints and its signed, encrypted callbacks. The simulator's own
secrets (platform private key, APIv3 key) are encrypted at rest like
Clearhouse's; the merchant's private key is never here, only its public key.
"""

from __future__ import annotations

from django.db import models

from clearhouse.core.crypto import EncryptedTextField
from clearhouse.sandbox.wechatpay.domain import RefundState, TradeState


class Merchant(models.Model):
    """A merchant registration: mchid, its app, the merchant's API certificate (public part) and the
    platform key pair and certificate WeChat Pay signs with for this merchant."""

    mchid = models.CharField(max_length=32, unique=True)
    appid = models.CharField(max_length=32)
    name = models.CharField(max_length=100, default="Clearhouse demo shop")
    merchant_serial = models.CharField(max_length=64, help_text="Serial of the merchant's API certificate")
    merchant_public_key = models.TextField(help_text="PEM; verifies the merchant's request signatures")
    apiv3_key = EncryptedTextField(purpose="sandbox_wechatpay.merchant.apiv3_key")
    platform_serial = models.CharField(max_length=64)
    platform_certificate = models.TextField(help_text="PEM, self-signed; served by /v3/certificates")
    platform_private_key = EncryptedTextField(purpose="sandbox_wechatpay.merchant.platform_private_key")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.mchid} ({self.appid})"


class Transaction(models.Model):
    """One Native payment order, keyed by the merchant's out_trade_no."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="transactions")
    out_trade_no = models.CharField(max_length=32)
    appid = models.CharField(max_length=32)
    description = models.CharField(max_length=127)
    notify_url = models.URLField(max_length=255)
    attach = models.CharField(max_length=128, blank=True)
    total = models.BigIntegerField(help_text="fen")
    currency = models.CharField(max_length=3, default="CNY")
    trade_state = models.CharField(max_length=16, choices=[(s, s) for s in TradeState], default=TradeState.NOTPAY)
    trade_state_desc = models.CharField(max_length=100, blank=True)
    code_url = models.CharField(max_length=64, unique=True)
    transaction_id = models.CharField(max_length=32, blank=True)
    payer_openid = models.CharField(max_length=64, blank=True)
    refunded = models.BigIntegerField(default=0, help_text="fen refunded so far (successful refunds)")
    time_expire = models.DateTimeField(null=True, blank=True)
    success_time = models.DateTimeField(null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, help_text="Same out_trade_no, same request: same answer")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]
        constraints = [models.UniqueConstraint(fields=["merchant", "out_trade_no"],
                                               name="sandbox_wechatpay_out_trade_no_once")]

    def __str__(self) -> str:
        return f"{self.out_trade_no} {self.trade_state}"


class Refund(models.Model):
    """A refund of (part of) a paid transaction, keyed by the merchant's out_refund_no."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="refunds")
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="refunds")
    out_refund_no = models.CharField(max_length=64)
    refund_id = models.CharField(max_length=32, unique=True)
    amount = models.BigIntegerField(help_text="fen")
    status = models.CharField(max_length=16, choices=[(s, s) for s in RefundState], default=RefundState.PROCESSING)
    reason = models.CharField(max_length=80, blank=True)
    notify_url = models.URLField(max_length=255, blank=True)
    request_fingerprint = models.CharField(max_length=64)
    success_time = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]
        constraints = [models.UniqueConstraint(fields=["merchant", "out_refund_no"],
                                               name="sandbox_wechatpay_out_refund_no_once")]

    def __str__(self) -> str:
        return f"{self.out_refund_no} {self.amount} {self.status}"


class Notification(models.Model):
    """A callback (TRANSACTION.SUCCESS, REFUND.SUCCESS, ...): the exact JSON body sent, resource sealed."""

    id = models.CharField(primary_key=True, max_length=40)  # a UUID, as WeChat Pay's callback ids are
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="notifications")
    event_type = models.CharField(max_length=40)
    body = models.TextField()
    notify_url = models.URLField(max_length=255)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.id} {self.event_type}"


class DeliveryState(models.TextChoices):
    PENDING = "pending"
    HELD = "held"  # test control: kept back until released
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the retry schedule ran out
    DROPPED = "dropped"  # test control: never sent


class Delivery(models.Model):
    """One copy of a callback on its way to the notify_url (test controls may make several, or none)."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="sandbox_wxp_delivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.state} ({self.attempts} attempts)"


class TestControls(models.Model):
    """Fault switches of one merchant registration, in the database so every process sees them."""

    __test__ = False  # not a pytest test class

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="controls")
    fail_next_calls = models.PositiveIntegerField(default=0)  # next n API calls: 500 SYSTEMERROR, nothing done
    slow_next_calls = models.PositiveIntegerField(default=0)  # next n API calls: done, answered after slow_s
    slow_s = models.FloatField(default=12.0)
    drop_notifications = models.BooleanField(default=False)
    duplicate_notifications = models.PositiveSmallIntegerField(default=0)  # n >= 2: each callback sent n times
    hold_notifications = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "test controls"

    def __str__(self) -> str:
        return f"test controls of {self.merchant_id}"
