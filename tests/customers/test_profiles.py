"""Profiles, addresses and tags: writes through services, refusals that change nothing."""

from __future__ import annotations

import pytest

from clearhouse.core.errors import ValidationFailed
from clearhouse.core.models import AuditEvent
from clearhouse.customers.domain import AddressLimitReached, InvalidPhone
from clearhouse.customers.models import Address, CustomerProfile, CustomerTag
from clearhouse.customers.services import (
    MAX_ADDRESSES,
    address_create,
    address_delete,
    address_set_default,
    address_update,
    customer_profile_ensure,
    customer_profile_update,
    customer_tags_set,
)

HOME = dict(recipient="Lin Mei", phone="13800138000", region="Shanghai", city="Shanghai",
            line="88 Century Avenue, Room 1201", postal_code="200120")


def add(customer, **overrides) -> Address:
    return address_create(customer=customer, **{**HOME, **overrides})


# --- profiles ---------------------------------------------------------------------------
def test_a_profile_is_made_once_from_the_account(customer_user):
    profile = customer_profile_ensure(user=customer_user)
    assert (profile.display_name, profile.email, profile.phone) == ("lin", "lin@example.com", "")
    assert customer_profile_ensure(user=customer_user) == profile
    assert CustomerProfile.objects.filter(user=customer_user).count() == 1


def test_contact_details_change_and_blank_clears_them(customer):
    customer_profile_update(customer=customer, display_name=" Lin Mei ", phone="+86 138-0013-8000")
    customer.refresh_from_db()
    assert (customer.display_name, customer.phone, customer.email) == ("Lin Mei", "+86 138-0013-8000",
                                                                       "lin@example.com")
    customer_profile_update(customer=customer, phone=" ", email="")
    customer.refresh_from_db()
    assert (customer.phone, customer.email) == ("", "")


@pytest.mark.parametrize("fields, error, param", [
    ({"email": "not-an-email"}, ValidationFailed, "email"),
    ({"phone": "call me"}, InvalidPhone, "phone"),
    ({"display_name": "  "}, ValidationFailed, "display_name"),
])
def test_bad_contact_details_are_refused_and_nothing_changes(customer, fields, error, param):
    with pytest.raises(error) as exc:
        customer_profile_update(customer=customer, **{"display_name": "Changed", **fields})
    assert exc.value.param == param
    customer.refresh_from_db()
    assert (customer.display_name, customer.email) == ("lin", "lin@example.com")


# --- addresses ----------------------------------------------------------------------------
def test_the_first_address_is_the_default(customer):
    first = add(customer)
    second = add(customer, line="1 Nanjing Road")
    assert first.is_default and not second.is_default


def test_asking_for_default_moves_it_and_there_is_only_ever_one(customer):
    first = add(customer)
    second = add(customer, line="1 Nanjing Road", is_default=True)
    first.refresh_from_db()
    assert second.is_default and not first.is_default
    address_set_default(address=first)
    assert list(Address.objects.filter(customer=customer, is_default=True)) == [first]


def test_deleting_the_default_hands_it_to_the_oldest_remaining_address(customer):
    first, second, third = add(customer), add(customer, line="2"), add(customer, line="3")
    address_delete(address=first)
    second.refresh_from_db()
    assert second.is_default
    address_delete(address=third)
    assert list(Address.objects.filter(customer=customer)) == [second]


def test_an_address_update_changes_only_what_is_given(customer):
    address = add(customer)
    address_update(address=address, city="Suzhou", phone=" 139 0000 0000 ")
    address.refresh_from_db()
    assert (address.city, address.phone, address.recipient) == ("Suzhou", "139 0000 0000", "Lin Mei")


@pytest.mark.parametrize("overrides, param", [
    ({"recipient": " "}, "recipient"), ({"phone": "12"}, "phone"), ({"line": "x" * 301}, "line"),
    ({"postal_code": "1" * 21}, "postal_code"),
])
def test_a_bad_address_is_refused_and_nothing_is_written(customer, overrides, param):
    with pytest.raises((ValidationFailed, InvalidPhone)) as exc:
        add(customer, **overrides)
    assert exc.value.param == param
    assert not Address.objects.exists()


def test_a_customer_keeps_a_bounded_number_of_addresses(customer):
    for i in range(MAX_ADDRESSES):
        add(customer, line=str(i))
    with pytest.raises(AddressLimitReached) as exc:
        add(customer, line="one too many", is_default=True)
    assert exc.value.code == "address_limit_reached"
    assert Address.objects.filter(customer=customer).count() == MAX_ADDRESSES
    assert Address.objects.get(customer=customer, is_default=True).line == "0"


# --- tags ----------------------------------------------------------------------------------
@pytest.fixture
def tags(db):
    return [CustomerTag.objects.create(code=code, name=code.title()) for code in ("vip", "wholesale")]


def test_tags_are_set_exactly_and_the_change_is_audited(customer, tags, admin_user):
    customer_tags_set(customer=customer, tag_codes=["vip", "wholesale", "vip"], actor=admin_user)
    assert sorted(customer.tags.values_list("code", flat=True)) == ["vip", "wholesale"]
    customer_tags_set(customer=customer, tag_codes=["wholesale"], actor=admin_user)
    assert list(customer.tags.values_list("code", flat=True)) == ["wholesale"]
    event = AuditEvent.objects.filter(action="customers.tags_set").last()
    assert event.payload == {"from": ["vip", "wholesale"], "to": ["wholesale"]}


def test_an_unknown_tag_is_refused_and_the_tags_stay(customer, tags):
    customer_tags_set(customer=customer, tag_codes=["vip"])
    with pytest.raises(ValidationFailed) as exc:
        customer_tags_set(customer=customer, tag_codes=["wholesale", "gold-star"])
    assert exc.value.param == "tags" and "gold-star" in exc.value.message
    assert list(customer.tags.values_list("code", flat=True)) == ["vip"]
