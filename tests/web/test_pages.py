"""Server-rendered pages: home, sign-in, trial balance (finance only), language switch."""

from __future__ import annotations

from clearhouse.core.money import Money
from clearhouse.ledger import posting_recipes as recipes
from tests.conftest import login_verified


def test_home_page_links_to_the_api_docs(client, db):
    r = client.get("/")
    assert r.status_code == 200
    assert b"/api/v1/docs" in r.content
    assert b'name="viewport"' in r.content  # works on a phone


def test_the_trial_balance_needs_a_sign_in(client, db):
    r = client.get("/ledger/trial-balance/")
    assert r.status_code == 302
    assert "/accounts/login/" in r["Location"]


def test_finance_sees_a_balanced_trial_balance(client, manager, merchant, today):
    recipes.payment_captured(payment_id="p1", provider="sandbox", amount=Money(9999, "CNY"), day=today,
                             merchant=merchant)
    login_verified(client, manager)
    r = client.get("/ledger/trial-balance/")
    assert r.status_code == 200
    text = r.content.decode()
    assert "99.99" in text
    assert "Debits equal credits in every currency." in text


def test_a_merchant_user_cannot_open_the_trial_balance(client, merchant):
    from clearhouse.accounts.services import user_create

    user_create(username="m", password="x-merchant-pass-1", role="merchant_staff", merchant=merchant)
    client.login(username="m", password="x-merchant-pass-1")
    assert client.get("/ledger/trial-balance/").status_code == 403


def test_pages_are_served_in_simplified_chinese(client, manager):
    login_verified(client, manager)
    r = client.get("/ledger/trial-balance/", headers={"Accept-Language": "zh-Hans"})
    assert "试算平衡表" in r.content.decode()
