"""Ledger accounts: one per code, currency and party; deactivation stops new postings."""

from __future__ import annotations

import pytest

from clearhouse.core.errors import UnknownCurrency, ValidationFailed
from clearhouse.ledger.models import Account, AccountType
from clearhouse.ledger.services import account_create, account_deactivate


def test_account_is_created_with_a_normalised_currency(db):
    account = account_create(code="1000", name="Bank", type="asset", currency=" cny ")
    assert account.currency == "CNY"
    assert account.type == AccountType.ASSET
    assert account.is_active
    assert str(account) == "1000 Bank (CNY)"


def test_the_same_code_and_currency_twice_is_refused(db):
    account_create(code="1000", name="Bank", type="asset", currency="CNY")
    with pytest.raises(ValidationFailed) as exc:
        account_create(code="1000", name="Bank again", type="asset", currency="CNY")
    assert exc.value.param == "code"
    assert Account.objects.count() == 1


def test_the_same_code_in_another_currency_or_for_another_party_is_fine(merchant, other_merchant, clerk):
    account_create(code="2100", name="Payable", type="liability", currency="CNY")
    account_create(code="2100", name="Payable", type="liability", currency="USD")
    account_create(code="2100", name="Payable", type="liability", currency="CNY", merchant=merchant)
    account_create(code="2100", name="Payable", type="liability", currency="CNY", merchant=other_merchant)
    account_create(code="2100", name="Payable", type="liability", currency="CNY", customer=clerk)
    assert Account.objects.filter(code="2100").count() == 5
    with pytest.raises(ValidationFailed):
        account_create(code="2100", name="Payable", type="liability", currency="CNY", merchant=merchant)
    with pytest.raises(ValidationFailed):
        account_create(code="2100", name="Payable", type="liability", currency="CNY", customer=clerk)
    assert str(Account.objects.get(code="2100", merchant=merchant)) == "2100 Payable (CNY) [Tea House]"


def test_an_account_has_at_most_one_party(merchant, clerk):
    with pytest.raises(ValidationFailed):
        account_create(code="9", name="Both", type="asset", currency="CNY", merchant=merchant, customer=clerk)
    assert not Account.objects.filter(code="9").exists()


def test_an_unknown_type_is_refused(db):
    with pytest.raises(ValidationFailed) as exc:
        account_create(code="1", name="X", type="revenue", currency="CNY")
    assert exc.value.param == "type"


def test_an_unknown_currency_is_refused(db):
    with pytest.raises(UnknownCurrency):
        account_create(code="1", name="X", type="asset", currency="RMB")
    assert not Account.objects.exists()


def test_deactivation_is_recorded_once(accounts_cny):
    bank = accounts_cny["bank"]
    account_deactivate(account=bank)
    account_deactivate(account=bank)
    assert not Account.objects.get(pk=bank.pk).is_active
    from clearhouse.core.models import AuditEvent

    assert AuditEvent.objects.filter(action="ledger.account_deactivated", object_id=str(bank.pk)).count() == 1
