"""The payment state machine, backoff and references, without a database."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearhouse.core.errors import InvalidTransition
from clearhouse.payments import domain
from clearhouse.payments.domain import IntentStatus as S
from clearhouse.payments.domain import RefundState as R

TERMINAL = (S.CAPTURED, S.FAILED, S.CANCELLED)


@pytest.mark.parametrize("terminal", TERMINAL)
def test_nothing_leaves_a_terminal_state(terminal):
    for target in S:
        assert not domain.can_move(terminal, target)


def test_an_authorized_payment_can_only_be_captured_or_voided():
    assert {t for t in S if domain.can_move(S.AUTHORIZED, t)} == {S.CAPTURED, S.CANCELLED}


def test_a_late_processing_event_cannot_move_a_captured_payment_back():
    with pytest.raises(InvalidTransition):
        domain.check_move(S.CAPTURED, S.PROCESSING)


def test_three_d_secure_may_alternate_with_processing():
    assert domain.can_move(S.PROCESSING, S.REQUIRES_ACTION)
    assert domain.can_move(S.REQUIRES_ACTION, S.PROCESSING)


def test_every_live_state_can_fail_or_be_cancelled_except_authorized_failing():
    for status in (S.REQUIRES_PAYMENT, S.PROCESSING, S.REQUIRES_ACTION):
        assert domain.can_move(status, S.FAILED) and domain.can_move(status, S.CANCELLED)


def test_refunds_wait_for_approval_then_go_or_are_rejected():
    domain.check_refund_move(R.AWAITING_APPROVAL, R.PENDING)
    domain.check_refund_move(R.AWAITING_APPROVAL, R.REJECTED)
    with pytest.raises(InvalidTransition):
        domain.check_refund_move(R.AWAITING_APPROVAL, R.SUCCEEDED)
    with pytest.raises(InvalidTransition):
        domain.check_refund_move(R.SUCCEEDED, R.FAILED)


@given(attempt=st.integers(min_value=0, max_value=40), base=st.floats(min_value=0.01, max_value=5))
def test_backoff_is_never_negative_and_never_past_its_cap(attempt, base):
    delay = domain.backoff_s(attempt=attempt, base_s=base, cap_s=30, rng=random.Random(attempt))
    assert 0 <= delay <= min(30, base * 2**attempt)


def test_backoff_grows_exponentially_before_jitter():
    class Top(random.Random):
        def uniform(self, a, b):
            return b

    assert [domain.backoff_s(attempt=n, base_s=0.5, rng=Top()) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]


def test_references_carry_a_check_character_that_catches_any_single_typo():
    reference = domain.new_reference("PAY")
    assert reference.startswith("PAY") and len(reference) == 14
    assert domain.reference_is_well_formed(reference, "PAY")
    assert domain.reference_is_well_formed(reference.lower(), "PAY")
    body, check = reference[3:-1], reference[-1]
    for position in range(len(body)):
        for other in domain._ALPHABET:
            if other != body[position]:
                typo = body[:position] + other + body[position + 1:]
                assert not domain.reference_is_well_formed(f"PAY{typo}{check}", "PAY"), typo


def test_a_swap_of_two_neighbours_is_caught():
    body = "7K3M9Q2XH4"  # fixed, so the test is deterministic
    good = f"PAY{body}{domain._check_char(body)}"
    assert domain.reference_is_well_formed(good, "PAY")
    for i in range(len(body) - 1):
        swapped = body[:i] + body[i + 1] + body[i] + body[i + 2:]
        if swapped != body:
            assert not domain.reference_is_well_formed(f"PAY{swapped}{good[-1]}", "PAY"), swapped


def test_references_avoid_letters_customers_misread():
    for _ in range(200):
        assert not set(domain.new_reference("RF")[2:]) & set("ILOU")
