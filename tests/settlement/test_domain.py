"""Settlement arithmetic and rules with no database: rates, fees, per-order amounts, the statement state machine."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clearhouse.core.errors import InvalidTransition, ValidationFailed
from clearhouse.settlement.domain import (
    FeeTerms,
    OrderFigures,
    PaymentFeeBasis,
    StatementStatus,
    VoucherRejected,
    apply_ppm,
    check_statement_transition,
    order_amounts,
    ppm_to_rate,
    rate_to_ppm,
    service_fee,
    voucher_content_type,
)


def test_rates_are_exact_parts_per_million_both_ways():
    assert rate_to_ppm(Decimal("0.006")) == 6000
    assert rate_to_ppm("0.123456") == 123456
    assert ppm_to_rate(6000) == Decimal("0.006")
    assert ppm_to_rate(0) == Decimal("0")


def test_a_rate_with_more_than_six_decimals_is_refused():
    with pytest.raises(ValidationFailed):
        rate_to_ppm("0.0060001")


@pytest.mark.parametrize(("amount", "ppm", "fee"), [(250, 6000, 2), (249, 6000, 1), (9999, 6000, 60),
                                                    (1, 500000, 1), (3, 500000, 2), (0, 6000, 0)])
def test_ppm_rates_round_half_up(amount, ppm, fee):
    assert apply_ppm(amount, ppm) == fee


def test_the_service_fee_is_rate_plus_fixed_clamped_to_minimum_and_maximum():
    terms = FeeTerms(rate_ppm=10000, fixed_fee_minor=20, minimum_fee_minor=50, maximum_fee_minor=500)

    assert service_fee(1000, terms) == 50  # 10 + 20 -> the minimum
    assert service_fee(10000, terms) == 120
    assert service_fee(1000000, terms) == 500  # the maximum


def test_the_service_fee_never_exceeds_what_was_collected_nor_goes_negative():
    assert service_fee(30, FeeTerms(minimum_fee_minor=100)) == 30
    assert service_fee(0, FeeTerms(fixed_fee_minor=100)) == 0
    assert service_fee(-50, FeeTerms(fixed_fee_minor=100)) == 0


def test_order_amounts_follow_the_settlement_definitions():
    order = OrderFigures(subtotal_minor=10000, shipping_fee_minor=500, merchant_coupon_minor=1000,
                         platform_coupon_minor=300, points_minor=200, paid_minor=9000,
                         actual_payment_fee_minor=54, refunded_minor=1000)

    amounts = order_amounts(order, FeeTerms(rate_ppm=6000))

    assert amounts.order_amount_minor == 10500
    assert amounts.collected_minor == 9500
    assert amounts.platform_funded_minor == 500
    assert amounts.service_fee_minor == 57
    assert amounts.payment_fee_minor == 54
    assert amounts.net_minor == 9500 - 57 - 54 - 1000
    assert amounts.charged_by_platform_minor == 111
    # what the customer paid reconciles: net + fees + refunds - platform-funded
    assert order.paid_minor == amounts.net_minor + 111 + amounts.refunds_minor - amounts.platform_funded_minor


def test_a_payment_fee_by_rate_is_charged_on_what_the_customer_paid():
    order = OrderFigures(subtotal_minor=10000, shipping_fee_minor=0, merchant_coupon_minor=0,
                         platform_coupon_minor=2000, points_minor=0, paid_minor=8000, actual_payment_fee_minor=999)

    amounts = order_amounts(order, FeeTerms(payment_fee_basis=PaymentFeeBasis.RATE, payment_fee_rate_ppm=6000))

    assert amounts.payment_fee_minor == 48


def test_the_statement_state_machine_allows_only_its_transitions():
    check_statement_transition("draft", "issued")
    check_statement_transition("issued", "disputed")
    check_statement_transition("disputed", "issued")
    check_statement_transition("confirmed", "carried_forward")
    for current, target in (("draft", "confirmed"), ("paid", "issued"), ("confirmed", "issued")):
        with pytest.raises(InvalidTransition):
            check_statement_transition(current, target)
    assert StatementStatus("carried_forward") is StatementStatus.CARRIED_FORWARD


def test_a_voucher_is_recognised_by_its_first_bytes_only():
    assert voucher_content_type(b"%PDF-1.7 ...", 1000) == "application/pdf"
    assert voucher_content_type(b"\x89PNG\r\n\x1a\n....", 1000) == "image/png"
    with pytest.raises(VoucherRejected):
        voucher_content_type(b"MZ\x90\x00", 1000)
    with pytest.raises(VoucherRejected):
        voucher_content_type(b"%PDF-", 11 * 1024 * 1024)
