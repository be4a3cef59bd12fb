"""The delivery log: every email and SMS we tried to send, with what was sent and how it went."""

from django.db import models
from django.db.models import Q


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (no recipient)"


class Delivery(models.Model):
    """One message to one recipient through one channel, as rendered and as it went.

    `dedupe_key` names the slot a message fills ("payment_reminder:SO-1:10",
    "low_stock:42:7:3"): the database holds at most one delivery per non-empty
    key, so however often a caller retries, one slot is sent at most once.
    `related_type`/`related_id` point at what the message is about (an order
    number, a refund reference) without a foreign key into another context.
    """

    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(max_length=254, blank=True)
    template = models.CharField(max_length=100)
    language = models.CharField(max_length=10, default="en")
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True, help_text="The plain text as sent (the SMS text for SMS)")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    error = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True, help_text="Message-ID or the SMS gateway's id")
    dedupe_key = models.CharField(max_length=200, blank=True)
    related_type = models.CharField(max_length=50, blank=True)
    related_id = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=~Q(dedupe_key=""),
                                    name="delivery_dedupe_key_unique"),
        ]
        indexes = [
            models.Index(fields=["related_type", "related_id"], name="delivery_related_idx"),
            models.Index(fields=["status", "created_at"], name="delivery_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template} {self.channel} to {self.recipient or '(nobody)'}: {self.status}"
