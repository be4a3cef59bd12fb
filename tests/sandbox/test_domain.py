"""The sandbox's pure rules: card checks, test card behaviours, fees, signatures, backoff."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from decimal import Decimal

import pytest

from clearhouse.sandbox.domain import (
    Behaviour,
    card_behaviour,
    card_brand,
    expiry_in_future,
    fee_minor,
    luhn_valid,
    retry_delay_s,
    signature_header,
)


@pytest.mark.parametrize("number", ["4242424242424242", "4000000000009995", "4000002760003184",
                                    "4000000000000119", "4000000000007726", "5555555555554444"])
def test_documented_test_cards_pass_the_luhn_check(number):
    assert luhn_valid(number)


# Full-width digits look like a card number but are not ASCII.
@pytest.mark.parametrize("number", ["4242424242424241", "1234", "", "42424242424242424242", "\uff14\uff12" * 8])
def test_mistyped_or_malformed_numbers_fail_the_luhn_check(number):
    assert not luhn_valid(number)


def test_each_test_card_has_its_behaviour_and_other_numbers_succeed():
    assert card_behaviour("4000000000009995") == Behaviour.DECLINE_INSUFFICIENT_FUNDS
    assert card_behaviour("4000002760003184") == Behaviour.REQUIRE_3DS
    assert card_behaviour("4000000000000119") == Behaviour.PROCESSING_ERROR
    assert card_behaviour("4000000000007726") == Behaviour.SLOW
    assert card_behaviour("5555555555554444") == Behaviour.SUCCEED


def test_brand_comes_from_the_number_prefix():
    assert card_brand("4242424242424242") == "visa"
    assert card_brand("5555555555554444") == "mastercard"
    assert card_brand("6200000000000005") == "unionpay"


def test_a_card_is_valid_through_the_end_of_its_expiry_month():
    today = date(2026, 11, 23)
    assert expiry_in_future(month=11, year=2026, today=today)
    assert not expiry_in_future(month=10, year=2026, today=today)
    assert not expiry_in_future(month=13, year=2030, today=today)


@pytest.mark.parametrize(("received", "fee"), [(10000, 60), (250, 2), (83, 0), (2550, 15), (0, 0)])
def test_fee_is_amount_received_times_rate_rounded_half_up(received, fee):
    assert fee_minor(amount_received_minor=received, fee_rate=Decimal("0.0060")) == fee


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    header = signature_header(secret="whsec", timestamp=1700000000, body=b'{"a":1}')

    expected = hmac.new(b"whsec", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_delivery_retries_back_off_exponentially():
    assert [retry_delay_s(attempts=n) for n in range(1, 6)] == [30, 60, 120, 240, 480]
