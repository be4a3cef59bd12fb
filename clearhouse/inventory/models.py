"""Stock per SKU, the movement log, reservations for orders, and low-stock alerts.

The database itself keeps stock from going negative (check constraints), and
every change of the counters is one conditional UPDATE in `services`, never
read-modify-write, so concurrent orders cannot oversell the last unit.
"""

from django.db import models
from django.db.models import F, Q

from clearhouse.core.append_only import AppendOnlyModel
from clearhouse.inventory.domain import MovementKind, ReservationStatus


class StockItem(models.Model):
    """The stock of one variant: units on hand and units reserved for orders.

    `low_stock` remembers that availability is at or below the threshold and
    an alert was raised, so the next sale does not raise another one.
    """

    variant = models.OneToOneField("catalog.Variant", on_delete=models.PROTECT, related_name="stock")
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="+")
    on_hand = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    low_stock_threshold = models.BigIntegerField(default=0)
    low_stock = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
            models.CheckConstraint(condition=Q(low_stock_threshold__gte=0), name="stock_threshold_not_negative"),
        ]
        indexes = [models.Index(fields=["merchant", "low_stock"], name="stock_merchant_low_idx")]
        permissions = [
            ("manage_stock", "Receive and adjust stock, set low-stock thresholds"),
            ("view_stock", "See stock levels, movements and low-stock alerts"),
        ]

    def __str__(self) -> str:
        return f"variant {self.variant_id}: {self.on_hand} on hand, {self.reserved} reserved"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Reservation(models.Model):
    """Units held for one line of an order from submission until it ships, is cancelled or expires."""

    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="reservations")
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="+")
    quantity = models.BigIntegerField()
    reference = models.CharField(max_length=100, help_text="What holds the units, e.g. an order number")
    status = models.CharField(max_length=10, choices=[(s.value, s.name.title()) for s in ReservationStatus],
                              default=ReservationStatus.ACTIVE.value)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["variant_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive"),
            # One active hold per order line and SKU: a retried reserve cannot hold the units twice.
            models.UniqueConstraint(fields=["reference", "variant"], condition=Q(status="active"),
                                    name="reservation_active_unique"),
        ]
        indexes = [
            models.Index(fields=["reference"], name="reservation_reference_idx"),
            models.Index(fields=["status", "expires_at"], name="reservation_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.quantity} of variant {self.variant_id} ({self.status})"


class StockMovement(AppendOnlyModel):
    """One change of stock, never edited: per variant, the log sums to the counters."""

    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="stock_movements")
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=[(k.value, k.name.title()) for k in MovementKind])
    quantity = models.BigIntegerField(help_text="Units moved; negative only for a downward adjustment")
    on_hand_delta = models.BigIntegerField()
    reserved_delta = models.BigIntegerField()
    reference_type = models.CharField(max_length=50, blank=True)
    reference_id = models.CharField(max_length=100, blank=True)
    reservation = models.ForeignKey(Reservation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    actor = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["variant", "id"], name="movement_variant_idx"),
            models.Index(fields=["reference_type", "reference_id"], name="movement_reference_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} of variant {self.variant_id}"


class LowStockAlert(models.Model):
    """Availability of a SKU dropped to its threshold; shown to the merchant's staff until restocked."""

    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="low_stock_alerts")
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="+")
    available = models.BigIntegerField(help_text="Units available when the alert was raised")
    threshold = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="When stock climbed back above the threshold")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["merchant", "resolved_at"], name="alert_merchant_open_idx")]

    def __str__(self) -> str:
        return f"low stock: variant {self.variant_id} at {self.available} (threshold {self.threshold})"
