"""Carts, coupons, checkout groups, orders with their lines, status timeline and events.

Money is integer minor units plus an ISO 4217 currency; every amount of an
order and its lines was computed by `domain.price_checkout` and is stored
as priced, so settlement reads what the customer was charged. Orders carry
their merchant key (merchant scoping is one filter; DESIGN §13).
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from clearhouse.core.append_only import AppendOnlyModel
from clearhouse.orders.domain import OrderStatus


class OrderSettings(models.Model):
    """A merchant's order rules: approve orders automatically, and the shipping fee per order."""

    merchant = models.OneToOneField("accounts.Merchant", on_delete=models.CASCADE, related_name="order_settings")
    auto_approve = models.BooleanField(default=False, help_text="Approve new orders without staff review")
    shipping_fee_minor = models.BigIntegerField(default=0, help_text="In the order's currency, minor units")

    class Meta:
        verbose_name_plural = "order settings"
        constraints = [models.CheckConstraint(condition=Q(shipping_fee_minor__gte=0), name="shipping_fee_not_negative")]

    def __str__(self) -> str:
        return f"order settings of {self.merchant_id}"


class Cart(models.Model):
    """A customer's one open cart: the draft of their next checkout (emptied when they check out)."""

    customer = models.OneToOneField("customers.CustomerProfile", on_delete=models.CASCADE, related_name="cart")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"cart of customer {self.customer_id}"


class CartLine(models.Model):
    """A SKU and how many of it; priced only at checkout (prices may change meanwhile)."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_line_one_per_variant"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cart_line_quantity_positive"),
        ]


    def __str__(self) -> str:
        return f"{self.quantity} x variant {self.variant_id}"

class CouponFunding(models.TextChoices):
    MERCHANT = "merchant", "Merchant"
    PLATFORM = "platform", "Platform"


class CouponKind(models.TextChoices):
    PERCENT = "percent", "Percent off"
    FIXED = "fixed", "Fixed amount off"


class Coupon(models.Model):
    """A discount code: merchant-funded (that merchant's lines) or platform-funded (the whole cart).

    `value` is the percentage (10 = 10% off) for percent coupons and the
    amount in major units for fixed ones (stored exactly as `value_minor`
    there). `used_count` only moves by conditional UPDATE, never past
    `total_limit`; cancelled orders give their use back.
    """

    code = models.CharField(max_length=40, unique=True)
    funded_by = models.CharField(max_length=10, choices=CouponFunding.choices)
    merchant = models.ForeignKey("accounts.Merchant", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="coupons")
    kind = models.CharField(max_length=10, choices=CouponKind.choices)
    percent_off = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    value_minor = models.BigIntegerField(null=True, blank=True, help_text="Fixed coupons: amount off, minor units")
    currency = models.CharField(max_length=3)
    min_spend_minor = models.BigIntegerField(default=0)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True, help_text="Exclusive")
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True)
    total_limit = models.PositiveIntegerField(null=True, blank=True)
    used_count = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(total_limit__isnull=True) | Q(used_count__lte=F("total_limit")),
                                   name="coupon_used_within_limit"),
            models.CheckConstraint(
                condition=(Q(funded_by="merchant", merchant__isnull=False)
                           | Q(funded_by="platform", merchant__isnull=True)),
                name="coupon_merchant_matches_funding"),
            models.CheckConstraint(
                condition=(Q(kind="percent", percent_off__isnull=False, value_minor__isnull=True)
                           | Q(kind="fixed", percent_off__isnull=True, value_minor__isnull=False)),
                name="coupon_kind_has_its_value"),
        ]
        permissions = [("manage_coupons", "Create and change coupons")]

    def __str__(self) -> str:
        return self.code


class CheckoutGroup(models.Model):
    """One checkout: the orders (one per merchant) a customer placed and paid for together."""

    number = models.CharField(max_length=30, unique=True)
    customer = models.ForeignKey("customers.CustomerProfile", on_delete=models.PROTECT, related_name="checkouts")
    currency = models.CharField(max_length=3)
    subtotal_minor = models.BigIntegerField()
    merchant_coupon_amount_minor = models.BigIntegerField(default=0)
    platform_coupon_amount_minor = models.BigIntegerField(default=0)
    points_amount_minor = models.BigIntegerField(default=0)
    shipping_fee_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField(help_text="What the customer pays for all the orders")
    points_redeemed = models.PositiveBigIntegerField(default=0)
    platform_coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number


STATUS_CHOICES = [(s.value, s.name.title()) for s in OrderStatus]


class Order(models.Model):
    """One merchant's part of a checkout, from submission to completion (DESIGN §5).

    subtotal - merchant coupon - platform coupon - points + shipping = total;
    each discount kind is kept apart because settlement charges them to
    different parties. The shipping address is copied in: later edits of the
    customer's address book do not move a parcel.
    """

    number = models.CharField(max_length=30, unique=True)
    group = models.ForeignKey(CheckoutGroup, on_delete=models.PROTECT, related_name="orders")
    customer = models.ForeignKey("customers.CustomerProfile", on_delete=models.PROTECT, related_name="orders")
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=12, choices=STATUS_CHOICES, default=OrderStatus.SUBMITTED.value)
    # When the order entered its current status: settlement's eligibility clock (an index serves its scan).
    status_changed_at = models.DateTimeField(default=timezone.now)
    currency = models.CharField(max_length=3)
    subtotal_minor = models.BigIntegerField()
    merchant_coupon_amount_minor = models.BigIntegerField(default=0)
    platform_coupon_amount_minor = models.BigIntegerField(default=0)
    points_amount_minor = models.BigIntegerField(default=0)
    shipping_fee_minor = models.BigIntegerField(default=0)
    total_minor = models.BigIntegerField()
    points_redeemed = models.PositiveBigIntegerField(default=0)
    merchant_coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    platform_coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ship_recipient = models.CharField(max_length=100)
    ship_phone = models.CharField(max_length=32)
    ship_region = models.CharField(max_length=100)
    ship_city = models.CharField(max_length=100)
    ship_line = models.CharField(max_length=300)
    ship_postal_code = models.CharField(max_length=20, blank=True)
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    signed_by = models.CharField(max_length=100, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Unpaid by then: cancelled as expired")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_minor=F("subtotal_minor") - F("merchant_coupon_amount_minor")
                            - F("platform_coupon_amount_minor") - F("points_amount_minor") + F("shipping_fee_minor")),
                name="order_total_adds_up"),
            models.CheckConstraint(condition=Q(total_minor__gte=0), name="order_total_not_negative"),
        ]
        indexes = [
            models.Index(fields=["merchant", "status"], name="order_merchant_status_idx"),
            models.Index(fields=["customer", "-id"], name="order_customer_idx"),
            models.Index(fields=["status", "expires_at"], name="order_expiry_idx"),
            models.Index(fields=["status", "status_changed_at"], name="order_status_since_idx"),
        ]
        permissions = [
            ("place_orders", "Keep a cart, check out, follow and cancel one's own orders"),
            ("view_orders", "See orders (merchant staff: their merchant's only)"),
            ("fulfil_orders", "Approve, ship, deliver and cancel orders (merchant staff: their own)"),
            ("mark_orders_paid", "Record that an order was paid"),
            ("complete_orders", "Complete delivered orders"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """A SKU on an order at the price charged, with its share of each discount.

    line_total = subtotal - merchant_discount - platform_discount - points_discount.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="+")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    product_id = models.BigIntegerField()
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3)
    unit_price_minor = models.BigIntegerField()
    quantity = models.PositiveIntegerField()
    subtotal_minor = models.BigIntegerField()
    merchant_discount_minor = models.BigIntegerField(default=0)
    platform_discount_minor = models.BigIntegerField(default=0)
    points_discount_minor = models.BigIntegerField(default=0)
    line_total_minor = models.BigIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(line_total_minor=F("subtotal_minor") - F("merchant_discount_minor")
                            - F("platform_discount_minor") - F("points_discount_minor")),
                name="order_line_total_adds_up"),
        ]


    def __str__(self) -> str:
        return f"{self.order_id}: {self.quantity} x {self.sku}"

class CouponRedemption(models.Model):
    """One use of a coupon by one checkout (a merchant coupon also names its order).

    `released_at` set: the use was given back (its orders were cancelled)
    and no longer counts against the coupon's limits.
    """

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    customer = models.ForeignKey("customers.CustomerProfile", on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(CheckoutGroup, on_delete=models.PROTECT, related_name="redemptions")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="redemptions")
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["coupon", "group"], name="redemption_once_per_checkout")]
        indexes = [models.Index(fields=["coupon", "customer"], name="redemption_coupon_customer_idx")]


    def __str__(self) -> str:
        return f"{self.coupon_id} by checkout {self.group_id}"

class OrderStatusChange(AppendOnlyModel):
    """One step of an order's timeline: from, to, who and when (the customer sees these)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=12)
    to_status = models.CharField(max_length=12)
    actor = models.CharField(max_length=200)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class OrderEvent(AppendOnlyModel):
    """Something that happened to an order besides a status change (lines edited, ...), append-only."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    type = models.CharField(max_length=50)
    parameters = models.JSONField(default=dict)
    actor = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class OrderNumberCounter(models.Model):
    """The last order-number sequence used on a day (numbers read SO-YYYYMMDD-NNNNNN)."""

    prefix = models.CharField(max_length=4)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "day"], name="order_number_counter_unique")]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.day}: {self.last}"
