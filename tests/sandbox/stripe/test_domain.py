"""The Stripe simulator's pure rules: form decoding, Stripe's amount rules, fees, signatures, backoff."""

from decimal import Decimal

import pytest
import stripe

from clearhouse.sandbox.stripe.domain import (
    StripeError,
    check_amount,
    decode_form,
    fee_minor,
    fingerprint,
    retry_delay_s,
    signature_header,
    stripe_exponent,
)


def test_bracketed_form_keys_become_nested_values():
    assert decode_form([("amount", "2000"), ("metadata[reference]", "PAY-1"), ("metadata[order]", "SO-1"),
                        ("expand[]", "latest_charge"), ("expand[]", "customer"), ("payment_method_types[0]", "card")]) \
        == {"amount": "2000", "metadata": {"reference": "PAY-1", "order": "SO-1"},
            "expand": ["latest_charge", "customer"], "payment_method_types": ["card"]}


def test_the_fingerprint_ignores_parameter_order_but_not_values():
    a = fingerprint(method="POST", path="/v1/refunds", pairs=[("amount", "1"), ("payment_intent", "pi_1")])
    assert a == fingerprint(method="POST", path="/v1/refunds", pairs=[("payment_intent", "pi_1"), ("amount", "1")])
    assert a != fingerprint(method="POST", path="/v1/refunds", pairs=[("payment_intent", "pi_1"), ("amount", "2")])


@pytest.mark.parametrize(("currency", "exponent"), [("jpy", 0), ("usd", 2), ("cny", 2), ("kwd", 3), ("isk", 2),
                                                    ("ugx", 2)])
def test_stripe_amount_exponents(currency, exponent):
    assert stripe_exponent(currency) == exponent


def test_three_decimal_amounts_must_end_in_zero():
    check_amount(5120, "kwd")
    with pytest.raises(StripeError) as refused:
        check_amount(5124, "kwd")
    assert refused.value.code == "amount_invalid_for_currency" and refused.value.status == 400


def test_isk_amounts_are_whole_hundreds():
    check_amount(500, "isk")
    with pytest.raises(StripeError):
        check_amount(550, "isk")


def test_fee_is_rate_half_up_plus_fixed():
    assert fee_minor(amount=20000, rate=Decimal("0.029"), fixed=30) == 610
    assert fee_minor(amount=50, rate=Decimal("0.029"), fixed=0) == 1  # 1.45 -> 1
    assert fee_minor(amount=52, rate=Decimal("0.029"), fixed=0) == 2  # 1.508 -> 2


def test_our_signature_is_the_one_the_official_sdk_verifies():
    body = b'{"id":"evt_1","object":"event"}'
    header = signature_header(secret="whsec_test", timestamp=1_700_000_000, body=body)
    assert header == stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_test",
                                                                       timestamp=1_700_000_000)
    assert stripe.WebhookSignature.verify_header(body, header, "whsec_test", tolerance=None)


def test_delivery_backoff_doubles_up_to_six_hours():
    assert [retry_delay_s(attempts=n) for n in (1, 2, 3)] == [60, 120, 240]
    assert retry_delay_s(attempts=20) == 6 * 3600
