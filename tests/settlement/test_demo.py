"""The demo's settlement: fee rules, a weekly schedule, statements in each state (one paid with a PDF voucher, one
disputed, a clawback), a blocked order, and seeding twice changes nothing."""

from __future__ import annotations

import io

import pytest
from django.db.models import Count
from pypdf import PdfReader

from clearhouse.settlement.models import FeeRule, SettlementSchedule, Statement, StatementLine
from clearhouse.settlement.selectors_eligibility import blocked_orders
from clearhouse.web.demo import seed_demo
from tests.settlement.factories import settlement_row_counts


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_the_demo_shows_statements_in_every_state_once(db):
    assert seed_demo() is True
    rules = {(r.business_type.code if r.business_type_id else r.merchant.code, r.rate_ppm, r.minimum_fee_minor)
             for r in FeeRule.objects.all()}
    assert rules == {("food", 6000, None), ("apparel", 20000, 100), ("noodlebar", 4000, None)}
    food = SettlementSchedule.objects.get(business_type__code="food")
    assert (food.cycle, food.weekday, food.eligibility_delay_days) == ("weekly", 0, 7)

    states = dict(Statement.objects.values_list("status").annotate(n=Count("id")))
    assert {"paid", "confirmed", "disputed", "issued", "draft"} <= set(states)
    assert Statement.objects.filter(kind="manual", merchant__code="silkroad", status="issued").exists()
    for paid in Statement.objects.filter(status="paid"):
        assert paid.payout_voucher_type == "application/pdf" and paid.payout_amount_minor == paid.net_minor
        with paid.payout_voucher.open("rb") as voucher:
            text = PdfReader(io.BytesIO(voucher.read())).pages[0].extract_text()
        assert paid.number in "".join(text.split()) and paid.merchant.name in text
    assert StatementLine.objects.filter(kind="clawback", net_minor=-2000).count() == 1
    assert Statement.objects.filter(merchant_coupon_minor__gt=0).exists()  # the tea house's 10 % coupon
    assert StatementLine.objects.filter(platform_funded_minor__gt=0).count() >= 2  # platform coupon, points
    assert Statement.objects.filter(payment_fee_minor__gt=0, merchant__code="silkroad").exists()  # fee by rate

    blocked = blocked_orders()
    assert [(o.merchant.code, o.blocked_reason) for o in blocked] == [("papercut", "no_fee_rule")]

    before = settlement_row_counts()
    assert seed_demo() is False
    assert settlement_row_counts() == before
