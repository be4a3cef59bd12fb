"""The PayPal simulator's own tables (prefixed `sandbox_paypal_`): a provider separate from Clearhouse.

Clearhouse never reads these; it sees them only through the simulator's REST
API (Orders v2, Payments v2, OAuth2, webhook verification) and its signed
webhooks, as it would see PayPal. Client secrets and access tokens are kept
only as SHA-256 digests; the webhook signing key is encrypted at rest.
"""

from __future__ import annotations

from django.db import models

from clearhouse.core.crypto import EncryptedTextField


class App(models.Model):
    """A REST app in the developer dashboard: client id and secret, the merchant it pays, its webhook."""

    client_id = models.CharField(max_length=80, unique=True)
    client_secret_sha256 = models.CharField(max_length=64)
    merchant_id = models.CharField(max_length=20)  # the payee's PayPal account id
    merchant_email = models.EmailField(blank=True)
    merchant_name = models.CharField(max_length=120, default="Clearhouse demo shop")
    webhook_id = models.CharField(max_length=40, unique=True)
    webhook_url = models.URLField(max_length=1000, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.client_id[:12]}… ({self.merchant_id})"


class AccessToken(models.Model):
    """A bearer token from /v1/oauth2/token (stored as its digest), valid until `expires_at`."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="tokens")
    token_sha256 = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"token of app {self.app_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class SigningCert(models.Model):
    """PayPal's webhook signing key and its self-signed X.509 certificate (served at the cert URL)."""

    cert_id = models.CharField(max_length=60, unique=True)
    private_key_pem = EncryptedTextField(purpose="sandbox_paypal.signing_cert.private_key")
    cert_pem = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.cert_id


class Order(models.Model):
    """An Orders v2 order: created by the merchant, approved by the buyer on the checkout page, captured."""

    id = models.CharField(primary_key=True, max_length=20)
    app = models.ForeignKey(App, on_delete=models.PROTECT, related_name="orders")
    intent = models.CharField(max_length=12, default="CAPTURE")
    status = models.CharField(max_length=24, default="CREATED")
    currency = models.CharField(max_length=3)
    value = models.DecimalField(max_digits=14, decimal_places=2)
    reference_id = models.CharField(max_length=256, blank=True)
    custom_id = models.CharField(max_length=127, blank=True)
    invoice_id = models.CharField(max_length=127, blank=True)
    description = models.CharField(max_length=127, blank=True)
    return_url = models.URLField(max_length=1000, blank=True)
    cancel_url = models.URLField(max_length=1000, blank=True)
    payer_action_flow = models.BooleanField(default=True)  # payment_source.paypal (new) vs application_context
    payer_id = models.CharField(max_length=20, blank=True)
    payer_email = models.EmailField(blank=True)
    buyer_behaviour = models.CharField(max_length=20, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"


class Capture(models.Model):
    """Money taken on an approved order (one per order here): COMPLETED, PENDING or DECLINED."""

    id = models.CharField(primary_key=True, max_length=20)
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="capture")
    status = models.CharField(max_length=24)
    status_reason = models.CharField(max_length=40, blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=2)
    fee = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    refunded = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.id} {self.status}"


class Refund(models.Model):
    """Money given back on a capture (the simulator completes refunds at once)."""

    id = models.CharField(primary_key=True, max_length=20)
    capture = models.ForeignKey(Capture, on_delete=models.PROTECT, related_name="refunds")
    status = models.CharField(max_length=24, default="COMPLETED")
    value = models.DecimalField(max_digits=14, decimal_places=2)
    invoice_id = models.CharField(max_length=127, blank=True)
    note_to_payer = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.id} {self.value} {self.status}"


class IdempotentRequest(models.Model):
    """A POST remembered by its PayPal-Request-Id (per app): the request's fingerprint and the answer."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    request_id = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "request_id"], name="sandbox_paypal_request_id_once")]

    def __str__(self) -> str:
        return f"{self.request_id} -> {self.response_status}"


class WebhookEvent(models.Model):
    """A notification, with the exact JSON body that is signed and sent to the app's webhook URL."""

    id = models.CharField(primary_key=True, max_length=40)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="events")
    event_type = models.CharField(max_length=64)
    body = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.id} {self.event_type}"


class DeliveryState(models.TextChoices):
    PENDING = "pending"
    HELD = "held"  # test control: kept back until released
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after MAX_ATTEMPTS
    DROPPED = "dropped"  # test control: never sent


class WebhookDelivery(models.Model):
    """One transmission of an event (test controls may make several copies, or none)."""

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
    """The simulator's fault switches (one row, pk=1), in the database so every process sees them."""

    __test__ = False

    fail_next_calls = models.PositiveIntegerField(default=0)  # the next n API calls answer 500
    slow_next_calls = models.PositiveIntegerField(default=0)  # the next n API calls answer after slow_response_s
    slow_response_s = models.FloatField(default=15.0)
    drop_webhooks = models.BooleanField(default=False)
    duplicate_webhooks = models.PositiveSmallIntegerField(default=0)
    hold_webhooks = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "test controls"

    def __str__(self) -> str:
        return "PayPal simulator test controls"
