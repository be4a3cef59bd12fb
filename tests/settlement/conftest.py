"""Settlement fixtures. The building blocks are in factories.py (importable by other test packages).

    buyer            a customer profile (fast: no password hashing)
    food_fee_rule    the "food" business type's CNY fee rule: 0.6 % of collected, provider's actual payment fee,
                     effective from 2026-01-01, open-ended
    weekly_merchant  the `merchant` fixture (Tea House, business type food) with food_fee_rule and its own weekly
                     schedule: Mondays, orders eligible 7 days after completion
    run_day          Monday 2026-11-23 (weekly_merchant's run day)
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.settlement.factories import fee_rule, make_customer, weekly_schedule


@pytest.fixture
def buyer(db):
    return make_customer("lin")


@pytest.fixture
def food_fee_rule(business_type):
    return fee_rule(scope=business_type, currency="CNY", rate="0.006")


@pytest.fixture
def weekly_merchant(merchant, food_fee_rule):
    weekly_schedule(merchant, weekday=0, eligibility_delay_days=7)
    return merchant


@pytest.fixture
def run_day():
    return date(2026, 11, 23)
