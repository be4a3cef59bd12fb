"""The Alipay simulator's own tables (prefixed `sandbox_alipay_`): a provider separate from Clearhouse.

Clearhouse never reads these; it sees them only through the gateway and the signed notifications,
as it would see Alipay's.
"""

from __future__ import annotations

from django.db import models

from clearhouse.core.crypto import EncryptedTextField
from clearhouse.sandbox.alipay.domain import TradeStatus


class App(models.Model):
    """An app registered on the open platform: its id, the seller (PID) it pays, the app's public key
    (uploaded by the merchant), Alipay's key pair for this app, and the app's test controls."""

    app_id = models.CharField(max_length=32, unique=True)
    seller_id = models.CharField(max_length=16)  # the merchant's PID, 2088...
    seller_email = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=100, blank=True)
    app_public_key = models.TextField(help_text="PEM: verifies the app's requests")
    alipay_public_key = models.TextField(help_text="PEM: what the merchant verifies our answers with")
    alipay_private_key = EncryptedTextField(purpose="sandbox_alipay.app.alipay_private_key",
                                            help_text="PEM; encrypted at rest")
    # Test controls.
    fail_next_calls = models.PositiveIntegerField(default=0)
    fail_kind = models.CharField(max_length=20, default="http_500",
                                 help_text="http_500, system_error (40004 ACQ.SYSTEM_ERROR) or unknown_error (20000)")
    slow_next_calls = models.PositiveIntegerField(default=0, help_text="Answer these calls late (after the work)")
    slow_ms = models.PositiveIntegerField(default=0)
    drop_notifications = models.BooleanField(default=False)
    duplicate_notifications = models.PositiveSmallIntegerField(default=0)  # n >= 2: each sent n times
    hold_notifications = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.app_id} {self.name}"


class Trade(models.Model):
    """One trade, named by the merchant's out_trade_no (unique per app) and Alipay's trade_no."""

    app = models.ForeignKey(App, on_delete=models.PROTECT, related_name="trades")
    out_trade_no = models.CharField(max_length=64)
    trade_no = models.CharField(max_length=64, unique=True)
    product_code = models.CharField(max_length=32)
    subject = models.CharField(max_length=256)
    total_amount = models.DecimalField(max_digits=12, decimal_places=2)
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    status = models.CharField(max_length=20, choices=TradeStatus.CHOICES, default=TradeStatus.WAIT_BUYER_PAY)
    notify_url = models.URLField(max_length=1000, blank=True)
    return_url = models.URLField(max_length=1000, blank=True)
    token = models.CharField(max_length=40, unique=True, help_text="Names the cashier / scan page")
    buyer_user_id = models.CharField(max_length=16, blank=True)
    buyer_logon_id = models.CharField(max_length=100, blank=True)  # masked, as Alipay shows it
    gmt_create = models.DateTimeField()
    gmt_payment = models.DateTimeField(null=True, blank=True)
    gmt_close = models.DateTimeField(null=True, blank=True)
    time_expire = models.DateTimeField(null=True, blank=True, help_text="Closed unpaid after this")

    class Meta:
        ordering = ["gmt_create", "id"]
        constraints = [models.UniqueConstraint(fields=["app", "out_trade_no"], name="sandbox_alipay_trade_once")]

    def __str__(self) -> str:
        return f"{self.out_trade_no} {self.status}"


class Refund(models.Model):
    """One refund of a trade, named by the merchant's out_request_no (re-sending it changes nothing)."""

    trade = models.ForeignKey(Trade, on_delete=models.PROTECT, related_name="refunds")
    out_request_no = models.CharField(max_length=64)
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2)
    refund_reason = models.CharField(max_length=256, blank=True)
    gmt_refund = models.DateTimeField()

    class Meta:
        ordering = ["gmt_refund", "id"]
        constraints = [models.UniqueConstraint(fields=["trade", "out_request_no"], name="sandbox_alipay_refund_once")]

    def __str__(self) -> str:
        return f"{self.trade.out_trade_no}/{self.out_request_no} {self.refund_amount}"


class Notification(models.Model):
    """An async notify with the exact form body that was signed (every copy and retry sends these bytes)."""

    notify_id = models.CharField(max_length=64, unique=True)
    trade = models.ForeignKey(Trade, on_delete=models.PROTECT, related_name="notifications")
    trade_status = models.CharField(max_length=20)
    notify_url = models.URLField(max_length=1000)
    body = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.notify_id} {self.trade_status}"


class DeliveryState(models.TextChoices):
    PENDING = "pending"  # to send (again) at next_attempt_at
    HELD = "held"  # test control: kept back until released
    DELIVERED = "delivered"  # the merchant answered exactly `success`
    FAILED = "failed"  # gave up after the last scheduled try
    DROPPED = "dropped"  # test control: never sent


class Delivery(models.Model):
    """One copy of a notification on its way to the notify_url."""

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
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="sandbox_alipay_delivery_due")]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.state} ({self.attempts} attempts)"
