"""Reads of customers: profiles, addresses, points, member levels and feedback.

Scoping happens here: customer-facing reads take the caller's own profile
and see only its rows (another customer's address or ticket looks like no
object at all). Reads of any customer are for staff holding
`customers.view_customers`; merchant-scoped callers never reach them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from clearhouse.core.errors import DomainError, NotFound
from clearhouse.core.money import Money
from clearhouse.customers.domain import (
    LevelRule,
    PointsLot,
    PointsPolicy,
    available_points,
    level_for_spend,
    next_level,
    points_to_money,
)
from clearhouse.customers.models import (
    Address,
    CustomerProfile,
    CustomerSpend,
    FeedbackTicket,
    MemberLevel,
    PointsEntry,
    PointsReason,
)


# --- points programme ----------------------------------------------------------------
def points_policy() -> PointsPolicy:
    """The points programme as configured (CLEARHOUSE_POINTS_* settings)."""
    try:
        return PointsPolicy(
            currency=str(settings.POINTS_CURRENCY).strip().upper(),
            earn_rate=Decimal(str(settings.POINTS_EARN_RATE)),
            points_per_unit=Decimal(str(settings.POINTS_PER_CURRENCY_UNIT)),
            valid_days=int(settings.POINTS_VALID_DAYS),
        )
    except (InvalidOperation, ValueError, DomainError) as exc:
        raise ImproperlyConfigured(f"The points settings are not valid: {exc}") from exc


# --- profiles ----------------------------------------------------------------------
def customer_get(*, customer_id: int) -> CustomerProfile:
    customer = CustomerProfile.objects.select_related("user", "member_level").filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"No customer {customer_id}.", param="customer_id")
    return customer


def customer_for_user(*, user) -> CustomerProfile | None:
    # Already loaded with the user when the session signed them in (accounts' AccountBackend): no query.
    cache_name = CustomerProfile._meta.get_field("user").remote_field.cache_name
    fields_cache = getattr(getattr(user, "_state", None), "fields_cache", {})
    if cache_name in fields_cache:
        return fields_cache[cache_name]
    return CustomerProfile.objects.select_related("member_level").filter(user=user).first()


def customer_list(*, search: str | None = None, tag: str | None = None,
                  level: str | None = None) -> QuerySet[CustomerProfile]:
    qs = CustomerProfile.objects.select_related("user", "member_level").prefetch_related("tags")
    if search:
        qs = qs.filter(Q(display_name__icontains=search) | Q(email__icontains=search) | Q(phone__icontains=search)
                       | Q(user__username__icontains=search))
    if tag:
        qs = qs.filter(tags__code=tag)
    if level:
        qs = qs.filter(member_level__code=level)
    return qs.order_by("id")


# --- addresses ---------------------------------------------------------------------
def address_list(*, customer: CustomerProfile) -> QuerySet[Address]:
    return Address.objects.filter(customer=customer).order_by("-is_default", "id")


def address_get(*, customer: CustomerProfile, address_id: int) -> Address:
    """One of the customer's own addresses (another's looks like none at all)."""
    address = address_list(customer=customer).filter(pk=address_id).first()
    if address is None:
        raise NotFound(f"No address {address_id}.", param="address_id")
    return address


# --- points ------------------------------------------------------------------------
def points_lots(*, customer_id: int, expired_by: datetime | None = None) -> list[PointsLot]:
    """The customer's credits with points left (live or lapsed), as of the log. One query."""
    qs = PointsEntry.objects.filter(customer_id=customer_id, lot__isnull=True)
    if expired_by is not None:
        qs = qs.filter(expires_at__lte=expired_by)
    rows = (qs.annotate(remaining=F("delta") + Coalesce(Sum("draws__delta"), 0))
            .filter(remaining__gt=0).values_list("pk", "remaining", "expires_at"))
    return [PointsLot(pk, int(remaining), expires_at) for pk, remaining, expires_at in rows]


def customers_with_lapsed_points(*, now: datetime) -> list[int]:
    """Ids of customers holding points past their expiry: the work of `points_expire`."""
    rows = (PointsEntry.objects.filter(lot__isnull=True, expires_at__lte=now)
            .annotate(remaining=F("delta") + Coalesce(Sum("draws__delta"), 0))
            .filter(remaining__gt=0).values_list("customer_id", flat=True))
    return sorted(set(rows))


@dataclass(frozen=True)
class PointsBalance:
    """Points a customer can spend now, what they are worth, and the next batch to lapse."""

    points: int
    value: Money
    next_expiry_at: datetime | None
    next_expiry_points: int


def points_balance(*, customer: CustomerProfile, now: datetime | None = None) -> PointsBalance:
    now = now or timezone.now()
    live = [lot for lot in points_lots(customer_id=customer.pk) if lot.is_live(now)]
    expiring = [lot for lot in live if lot.expires_at is not None]
    first = min((lot.expires_at for lot in expiring), default=None)
    points = available_points(live, now=now)
    return PointsBalance(
        points=points, value=points_to_money(points, points_policy()), next_expiry_at=first,
        next_expiry_points=sum(lot.remaining for lot in expiring if lot.expires_at == first),
    )


def points_history(*, customer: CustomerProfile, reason: str | None = None) -> QuerySet[PointsEntry]:
    qs = PointsEntry.objects.filter(customer=customer)
    if reason:
        qs = qs.filter(reason=reason)
    return qs.order_by("-created_at", "-id")


def points_redeemed_for(*, order_reference: str) -> int:
    """Points an order redeemed and still holds (redeemed minus restored)."""
    total = PointsEntry.objects.filter(
        order_reference=order_reference, reason__in=[PointsReason.REDEEMED, PointsReason.RESTORED]
    ).aggregate(total=Sum("delta"))["total"]
    return -int(total or 0)


# --- spend and member levels ----------------------------------------------------------
def customer_cumulative_spend(*, customer: CustomerProfile) -> dict[str, Money]:
    rows = (CustomerSpend.objects.filter(customer=customer).values("currency")
            .annotate(total=Sum("amount_minor")).order_by("currency"))
    return {row["currency"]: Money(int(row["total"]), row["currency"]) for row in rows}


def member_levels() -> list[MemberLevel]:
    return list(MemberLevel.objects.order_by("currency", "rank"))


def level_rule(level: MemberLevel) -> LevelRule:
    return LevelRule(level.code, level.rank, Money(level.min_cumulative_spend_minor, level.currency))


@dataclass(frozen=True)
class MemberLevelProgress:
    """A customer's level by the rules, their spend, and how far the next level is."""

    level: MemberLevel | None
    spend: dict[str, Money]
    next_level: MemberLevel | None
    to_next_level: Money | None


def member_level_progress(*, customer: CustomerProfile) -> MemberLevelProgress:
    levels = {level.code: level for level in member_levels()}
    rules = [level_rule(level) for level in levels.values()]
    spend = customer_cumulative_spend(customer=customer)
    current = level_for_spend(rules, spend)
    upcoming = next_level(rules, spend, current)
    return MemberLevelProgress(
        level=levels[current.code] if current else None, spend=spend,
        next_level=levels[upcoming[0].code] if upcoming else None, to_next_level=upcoming[1] if upcoming else None,
    )


# --- feedback ------------------------------------------------------------------------
def feedback_ticket_list(*, customer: CustomerProfile | None = None,
                         status: str | None = None) -> QuerySet[FeedbackTicket]:
    """Tickets of one customer (customer callers), or of everyone (staff callers)."""
    qs = FeedbackTicket.objects.select_related("customer")
    if customer is not None:
        qs = qs.filter(customer=customer)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def feedback_ticket_get(*, ticket_id: int, customer: CustomerProfile | None = None) -> FeedbackTicket:
    ticket = feedback_ticket_list(customer=customer).filter(pk=ticket_id).first()
    if ticket is None:
        raise NotFound(f"No feedback ticket {ticket_id}.", param="ticket_id")
    return ticket
