"""Writes of profiles, addresses and tags."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from clearhouse.core.audit import audit_record
from clearhouse.core.errors import ValidationFailed
from clearhouse.customers.domain import AddressLimitReached, clean_text, normalise_phone
from clearhouse.customers.locks import customer_select_for_update
from clearhouse.customers.models import Address, CustomerProfile, CustomerTag
from clearhouse.customers.selectors import customer_for_user

# Enough for home, work and family; a bound so one account cannot fill a table.
MAX_ADDRESSES = 20


def customer_profile_ensure(*, user) -> CustomerProfile:
    """The user's customer profile, made on first use from what the account knows.

    Accounts are created by `accounts`; the profile attaches lazily, so every
    signed-in customer has exactly one.
    """
    profile = customer_for_user(user=user)
    if profile is not None:
        return profile
    try:
        with transaction.atomic():
            profile = CustomerProfile.objects.create(
                user=user, display_name=(user.get_full_name() or user.username)[:100], email=user.email or "",
            )
    except IntegrityError:  # made meanwhile by a concurrent request of the same user
        profile = CustomerProfile.objects.get(user=user)
    user.customer_profile = profile  # the user object the request holds knows it from now on
    return profile


def _email(value: str) -> str:
    email = clean_text(value, param="email", max_length=254, required=False)
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            raise ValidationFailed(f"{email!r} is not an email address.", param="email") from None
    return email


@transaction.atomic
def customer_profile_update(*, customer: CustomerProfile, display_name: str | None = None,
                            phone: str | None = None, email: str | None = None) -> CustomerProfile:
    """Change contact details; None leaves a field as it is, "" clears phone or email."""
    changes = {}
    if display_name is not None:
        changes["display_name"] = clean_text(display_name, param="display_name", max_length=100)
    if phone is not None:
        changes["phone"] = normalise_phone(phone) if phone.strip() else ""
    if email is not None:
        changes["email"] = _email(email)
    for field, value in changes.items():
        setattr(customer, field, value)
    if changes:
        customer.save(update_fields=[*changes, "updated_at"])
    return customer


def _address_fields(**given) -> dict:
    """Validated address fields among those given (None: not given)."""
    limits = {"recipient": 100, "region": 100, "city": 100, "line": 300}
    out = {name: clean_text(v, param=name, max_length=limits[name]) for name, v in given.items()
           if name in limits and v is not None}
    if given.get("phone") is not None:
        out["phone"] = normalise_phone(given["phone"])
    if given.get("postal_code") is not None:
        out["postal_code"] = clean_text(given["postal_code"], param="postal_code", max_length=20, required=False)
    return out


@transaction.atomic
def address_create(*, customer: CustomerProfile, recipient: str, phone: str, region: str, city: str, line: str,
                   postal_code: str = "", is_default: bool = False) -> Address:
    """Add an address. The first one is the default; asking for default moves it here."""
    customer_select_for_update(customer_id=customer.pk)  # one default and the count, under concurrency
    fields = _address_fields(recipient=recipient, phone=phone, region=region, city=city, line=line,
                             postal_code=postal_code)
    existing = Address.objects.filter(customer=customer)
    count = existing.count()
    if count >= MAX_ADDRESSES:
        raise AddressLimitReached(f"A customer keeps at most {MAX_ADDRESSES} addresses.", param="addresses")
    if is_default and count:
        existing.filter(is_default=True).update(is_default=False)
    return Address.objects.create(customer=customer, is_default=is_default or count == 0, **fields)


@transaction.atomic
def address_update(*, address: Address, recipient: str | None = None, phone: str | None = None,
                   region: str | None = None, city: str | None = None, line: str | None = None,
                   postal_code: str | None = None) -> Address:
    """Change an address's fields; None leaves a field as it is."""
    changes = _address_fields(recipient=recipient, phone=phone, region=region, city=city, line=line,
                              postal_code=postal_code)
    for field, value in changes.items():
        setattr(address, field, value)
    if changes:
        address.save(update_fields=[*changes, "updated_at"])
    return address


@transaction.atomic
def address_set_default(*, address: Address) -> Address:
    customer_select_for_update(customer_id=address.customer_id)
    Address.objects.filter(customer_id=address.customer_id, is_default=True).exclude(pk=address.pk).update(
        is_default=False)
    if not address.is_default:
        address.is_default = True
        address.save(update_fields=["is_default", "updated_at"])
    return address


@transaction.atomic
def address_delete(*, address: Address) -> None:
    """Remove an address; if it was the default, the oldest remaining one takes over."""
    customer_select_for_update(customer_id=address.customer_id)
    was_default = address.is_default
    customer_id = address.customer_id
    address.delete()
    if was_default:
        successor = Address.objects.filter(customer_id=customer_id).order_by("id").first()
        if successor is not None:
            address_set_default(address=successor)


@transaction.atomic
def customer_tags_set(*, customer: CustomerProfile, tag_codes: Sequence[str], actor=None) -> list[CustomerTag]:
    """Make the customer's tags exactly `tag_codes` (unknown codes are refused, nothing changes)."""
    wanted = sorted(set(tag_codes))
    tags = list(CustomerTag.objects.filter(code__in=wanted).order_by("code"))
    unknown = sorted(set(wanted) - {t.code for t in tags})
    if unknown:
        raise ValidationFailed(f"No customer tag {', '.join(unknown)}.", param="tags")
    before = sorted(customer.tags.values_list("code", flat=True))
    customer.tags.set(tags)
    if before != wanted:
        audit_record(action="customers.tags_set", actor=actor, object_type="customer", object_id=customer.pk,
                     payload={"from": before, "to": wanted})
    return tags
