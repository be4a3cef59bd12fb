"""Customers: profiles, addresses, member levels, tags, spend, points and feedback.

Spend records, points entries, feedback messages and status changes are
append-only: a mistake is corrected by a new row, never by editing one.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from clearhouse.core.append_only import AppendOnlyModel
from clearhouse.customers.domain import TicketStatus


class MemberLevel(models.Model):
    """A tier of membership (silver, gold, ...) reached by cumulative spend in one currency.

    The highest-ranked level whose threshold a customer's spend reaches is
    theirs; `customer_level_recalculate` applies the rule.
    """

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    name_zh_hans = models.CharField(max_length=100, blank=True)
    rank = models.PositiveSmallIntegerField()
    min_cumulative_spend_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["currency", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "rank"], name="member_level_rank_unique"),
            models.CheckConstraint(condition=Q(min_cumulative_spend_minor__gte=0), name="member_level_spend_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class CustomerTag(models.Model):
    """A class of customers staff group them by (wholesale, VIP, staff purchase, ...)."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    name_zh_hans = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class CustomerProfile(models.Model):
    """A user as a customer: how to reach them, their level, their tags.

    Points, spend, addresses and tickets hang off the profile; its row is
    also the lock that serialises a customer's points movements.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="customer_profile")
    display_name = models.CharField(max_length=100)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    member_level = models.ForeignKey(MemberLevel, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="customers")
    tags = models.ManyToManyField(CustomerTag, blank=True, related_name="customers")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        permissions = [
            ("customer_self_service", "Manage one's own profile, addresses, points and feedback"),
            ("view_customers", "View customers, their points and feedback"),
            ("tag_customers", "Set customers' tags"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def audit_label(self) -> str:
        return f"customer:{self.pk} {self.display_name}"


class Address(models.Model):
    """Where a customer has goods delivered; at most one is the default."""

    customer = models.ForeignKey(CustomerProfile, on_delete=models.CASCADE, related_name="addresses")
    recipient = models.CharField(max_length=100)
    phone = models.CharField(max_length=32)
    region = models.CharField(max_length=100)
    city = models.CharField(max_length=100)
    line = models.CharField(max_length=300)
    postal_code = models.CharField(max_length=20, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "id"]
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=Q(is_default=True), name="address_one_default"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient}, {self.line}, {self.city}"


class CustomerSpend(AppendOnlyModel):
    """What one completed order added to a customer's cumulative spend (once per order)."""

    customer = models.ForeignKey(CustomerProfile, on_delete=models.PROTECT, related_name="spend_records")
    order_reference = models.CharField(max_length=100, unique=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount_minor__gt=0), name="customer_spend_positive")]

    def __str__(self) -> str:
        return f"{self.order_reference}: {self.amount_minor} {self.currency}"


class PointsReason(models.TextChoices):
    EARNED = "earned", "Earned"
    REDEEMED = "redeemed", "Redeemed"
    EXPIRED = "expired", "Expired"
    RESTORED = "restored", "Restored"
    ADJUSTED = "adjusted", "Adjusted"


class PointsEntry(AppendOnlyModel):
    """One movement of a customer's points; the balance is the sum of the log.

    Credits (earned, or adjusted upwards) are lots: `lot` is empty and
    `expires_at` says when they lapse. Every other entry draws from or gives
    back to one lot, named in `lot`, so what is left of a lot and what an
    order redeemed are sums over this table, never stored counters.
    """

    customer = models.ForeignKey(CustomerProfile, on_delete=models.PROTECT, related_name="points_entries")
    delta = models.BigIntegerField()
    reason = models.CharField(max_length=10, choices=PointsReason.choices)
    order_reference = models.CharField(max_length=100, blank=True)
    lot = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="draws")
    expires_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    actor = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "points entries"
        permissions = [("adjust_points", "Adjust customers' points")]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="points_customer_created_idx"),
            models.Index(fields=["order_reference", "reason"], name="points_order_reason_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="points_delta_not_zero"),
            models.CheckConstraint(
                condition=Q(lot__isnull=False) | Q(delta__gt=0, reason__in=["earned", "adjusted"]),
                name="points_lot_is_a_credit",
            ),
            models.CheckConstraint(condition=Q(lot__isnull=True) | ~Q(reason="earned"), name="points_earned_is_a_lot"),
            models.UniqueConstraint(fields=["order_reference"], condition=Q(reason="earned"),
                                    name="points_earned_once_per_order"),
            models.UniqueConstraint(fields=["order_reference", "lot"], condition=Q(reason="redeemed"),
                                    name="points_redeemed_once_per_order_lot"),
            models.UniqueConstraint(fields=["order_reference", "lot"], condition=Q(reason="restored"),
                                    name="points_restored_once_per_order_lot"),
        ]

    def __str__(self) -> str:
        return f"{self.delta:+d} {self.reason} {self.order_reference}".strip()


class FeedbackTicket(models.Model):
    """A customer's question or complaint, answered by staff; the status follows domain.TRANSITIONS."""

    customer = models.ForeignKey(CustomerProfile, on_delete=models.PROTECT, related_name="feedback_tickets")
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=5000)
    order_reference = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=[(s.value, s.value.title()) for s in TicketStatus],
                              default=TicketStatus.OPEN.value)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("answer_feedback", "Answer and close customers' feedback tickets")]
        indexes = [models.Index(fields=["customer", "status"], name="feedback_customer_status_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject} ({self.status})"


class FeedbackMessage(AppendOnlyModel):
    """A reply on a ticket, by staff or by the customer following up."""

    ticket = models.ForeignKey(FeedbackTicket, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    author_label = models.CharField(max_length=200)
    by_staff = models.BooleanField()
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class FeedbackStatusChange(AppendOnlyModel):
    """Who moved a ticket from one status to another, and when (the ticket's timeline)."""

    ticket = models.ForeignKey(FeedbackTicket, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    by_staff = models.BooleanField()
    actor = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
