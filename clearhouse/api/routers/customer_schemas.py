"""Request and response shapes of the customers API, and the mapping from models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Field, Path, Query, Schema
from pydantic import ConfigDict

from clearhouse.api.schemas import RequestBody
from clearhouse.core.money import Money
from clearhouse.customers.models import Address, CustomerProfile, FeedbackTicket, MemberLevel, PointsEntry
from clearhouse.customers.selectors import MemberLevelProgress, PointsBalance, points_policy

MAX_ID = 2**63 - 1  # ids are 64-bit; anything larger is a 400, not a database error
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=200)]


# --- requests ----------------------------------------------------------------------
class StrictBody(RequestBody):
    # A misspelt field in a PATCH would otherwise be a silent no-op: refuse it (parameter_unknown).
    model_config = ConfigDict(extra="forbid")


class ProfilePatch(StrictBody):
    display_name: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=32, description='"" clears it')
    email: str | None = Field(None, max_length=254, description='"" clears it')


class AddressIn(StrictBody):
    recipient: str = Field(..., max_length=100)
    phone: str = Field(..., max_length=32)
    region: str = Field(..., max_length=100, description="Province or state")
    city: str = Field(..., max_length=100)
    line: str = Field(..., max_length=300, description="District, street, building, room")
    postal_code: str = Field("", max_length=20)
    is_default: bool = False


class AddressPatch(StrictBody):
    recipient: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=32)
    region: str | None = Field(None, max_length=100)
    city: str | None = Field(None, max_length=100)
    line: str | None = Field(None, max_length=300)
    postal_code: str | None = Field(None, max_length=20)
    is_default: bool | None = Field(None, description="true makes it the default; to change the default, "
                                                      "make another address the default")


class PointsAdjustIn(StrictBody):
    delta: int = Field(..., ge=-10**9, le=10**9, description="Points to add (> 0) or take (< 0); never 0")
    note: str = Field(..., max_length=200, description="Why: shown in the customer's points history")


class TagsIn(StrictBody):
    tags: list[Annotated[str, Field(max_length=50)]] = Field(..., max_length=50, description="Tag codes")


# --- responses ---------------------------------------------------------------------
class MoneyOut(Schema):
    amount: str
    currency: str


class LevelOut(Schema):
    code: str
    name: str
    name_zh_hans: str
    rank: int
    min_cumulative_spend: MoneyOut


class ProfileOut(Schema):
    id: int
    display_name: str
    phone: str
    email: str
    member_level: LevelOut | None
    created_at: datetime


class CustomerOut(ProfileOut):
    user_id: int
    username: str
    tags: list[str]


class AddressOut(Schema):
    id: int
    recipient: str
    phone: str
    region: str
    city: str
    line: str
    postal_code: str
    is_default: bool


class PointsBalanceOut(Schema):
    points: int = Field(..., description="Spendable now (lapsed points excluded)")
    value: MoneyOut = Field(..., description="What they are worth at checkout")
    next_expiry_at: datetime | None
    next_expiry_points: int
    earn_rate: str = Field(..., description="Points earned per 1.00 spent")
    points_per_currency_unit: str = Field(..., description="Points worth 1.00 at checkout")


class PointsEntryOut(Schema):
    id: int
    delta: int
    reason: str
    order_reference: str
    lot_id: int | None
    expires_at: datetime | None
    note: str
    created_at: datetime


class MemberLevelProgressOut(Schema):
    level: LevelOut | None
    cumulative_spend: list[MoneyOut]
    next_level: LevelOut | None
    to_next_level: MoneyOut | None


class CustomerDetailOut(CustomerOut):
    points: PointsBalanceOut
    membership: MemberLevelProgressOut


# --- mapping -----------------------------------------------------------------------
def money_out(amount: Money) -> dict:
    return dict(amount=amount.to_string(), currency=amount.currency)


def level_out(level: MemberLevel | None) -> dict | None:
    if level is None:
        return None
    return dict(code=level.code, name=level.name, name_zh_hans=level.name_zh_hans, rank=level.rank,
                min_cumulative_spend=money_out(Money(level.min_cumulative_spend_minor, level.currency)))


def profile_out(customer: CustomerProfile) -> dict:
    return dict(id=customer.pk, display_name=customer.display_name, phone=customer.phone, email=customer.email,
                member_level=level_out(customer.member_level), created_at=customer.created_at)


def customer_out(customer: CustomerProfile) -> dict:
    return dict(profile_out(customer), user_id=customer.user_id, username=customer.user.username,
                tags=sorted(tag.code for tag in customer.tags.all()))


def address_out(address: Address) -> dict:
    return dict(id=address.pk, recipient=address.recipient, phone=address.phone, region=address.region,
                city=address.city, line=address.line, postal_code=address.postal_code, is_default=address.is_default)


def balance_out(balance: PointsBalance) -> dict:
    policy = points_policy()
    return dict(points=balance.points, value=money_out(balance.value), next_expiry_at=balance.next_expiry_at,
                next_expiry_points=balance.next_expiry_points, earn_rate=str(policy.earn_rate),
                points_per_currency_unit=str(policy.points_per_unit))


def points_entry_out(entry: PointsEntry) -> dict:
    return dict(id=entry.pk, delta=entry.delta, reason=entry.reason, order_reference=entry.order_reference,
                lot_id=entry.lot_id, expires_at=entry.expires_at, note=entry.note, created_at=entry.created_at)


def progress_out(progress: MemberLevelProgress) -> dict:
    return dict(level=level_out(progress.level), cumulative_spend=[money_out(m) for m in progress.spend.values()],
                next_level=level_out(progress.next_level),
                to_next_level=money_out(progress.to_next_level) if progress.to_next_level else None)


# --- feedback ----------------------------------------------------------------------
class TicketIn(StrictBody):
    subject: str = Field(..., max_length=200)
    body: str = Field(..., max_length=5000)
    order_reference: str = Field("", max_length=100, description="The order it is about, if any")


class MessageIn(StrictBody):
    body: str = Field(..., max_length=5000)


class MessageOut(Schema):
    id: int
    by_staff: bool
    author: str | None = Field(..., description="Who wrote it (staff callers only)")
    body: str
    created_at: datetime


class StatusChangeOut(Schema):
    from_status: str
    to_status: str
    by_staff: bool
    actor: str | None = Field(..., description="Who moved it (staff callers only)")
    created_at: datetime


class TicketOut(Schema):
    id: int
    customer_id: int
    subject: str
    body: str
    order_reference: str
    status: str
    created_at: datetime
    updated_at: datetime


class TicketDetailOut(TicketOut):
    messages: list[MessageOut]
    timeline: list[StatusChangeOut]


def ticket_out(ticket: FeedbackTicket) -> dict:
    return dict(id=ticket.pk, customer_id=ticket.customer_id, subject=ticket.subject, body=ticket.body,
                order_reference=ticket.order_reference, status=ticket.status, created_at=ticket.created_at,
                updated_at=ticket.updated_at)


def ticket_detail_out(ticket: FeedbackTicket, *, for_staff: bool) -> dict:
    """A ticket with its conversation; customers see that staff wrote, not which staff member."""
    messages = [dict(id=m.pk, by_staff=m.by_staff, author=m.author_label if for_staff else None, body=m.body,
                     created_at=m.created_at) for m in ticket.messages.order_by("id")]
    timeline = [dict(from_status=c.from_status, to_status=c.to_status, by_staff=c.by_staff,
                     actor=c.actor if for_staff else None, created_at=c.created_at)
                for c in ticket.status_changes.order_by("id")]
    return dict(ticket_out(ticket), messages=messages, timeline=timeline)
