"""The audit chain: every row links to the one before; changes of security state are recorded."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.test import Client

from clearhouse.accounts.principal import principal_for_api_key
from clearhouse.accounts.roles import Role
from clearhouse.accounts.services import (
    api_key_create,
    api_key_revoke,
    user_create,
    user_role_grant,
    user_role_revoke,
)
from clearhouse.core.audit import GENESIS, ChainProblem, actor_label, audit_chain_verify, audit_record, chain_hash
from clearhouse.core.models import AuditEvent
from clearhouse.ledger.services import account_create, account_deactivate, period_close, period_create


def last(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("-seq").first()


def row_fields(row: AuditEvent) -> dict:
    return dict(seq=row.seq, occurred_at=row.occurred_at, actor=row.actor, action=row.action,
                object_type=row.object_type, object_id=row.object_id, payload=row.payload)


# --- the chain ---------------------------------------------------------------------
def head_seq() -> int:
    """Seq of the newest row (migrations already wrote some: roles getting their permissions)."""
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def test_first_row_links_to_the_genesis_hash(db, lifted_guards):
    with lifted_guards("core_auditevent"), connection.cursor() as cur:
        cur.execute("DELETE FROM core_auditevent")  # start from an empty trail
    row = audit_record(action="test.first", object_type="thing", object_id=7, payload={"a": 1})
    assert row.seq == 1
    assert row.prev_hash == GENESIS == "0" * 64
    assert row.object_id == "7"
    assert row.hash == chain_hash(GENESIS, **row_fields(row))
    assert audit_chain_verify() == []


def test_migrations_leave_a_verified_chain(db):
    assert head_seq() > 0  # the role groups receiving their permissions
    assert audit_chain_verify() == []


def test_each_row_links_to_the_previous_rows_hash(db):
    base = head_seq()
    rows = [audit_record(action=f"test.{i}", payload={"i": i}) for i in range(5)]
    stored = list(AuditEvent.objects.filter(seq__gte=base).order_by("seq"))
    assert [r.seq for r in stored[1:]] == [base + 1, base + 2, base + 3, base + 4, base + 5]
    assert [r.pk for r in stored[1:]] == [r.pk for r in rows]
    for before, after in pairwise(stored):
        assert after.prev_hash == before.hash
    for row in stored:  # as read back from the database, the hash still matches
        assert row.hash == chain_hash(row.prev_hash, **row_fields(row))
    assert len({r.hash for r in stored}) == 6


def test_clean_chain_verifies_with_no_problems(db):
    for i in range(3):
        audit_record(action="test.recorded", actor=f"user {i}", payload={"nested": {"list": [1, "two", None]}})
    assert audit_chain_verify() == []
    assert audit_chain_verify(batch_size=1) == []


def test_empty_chain_verifies(db, lifted_guards):
    with lifted_guards("core_auditevent"), connection.cursor() as cur:
        cur.execute("DELETE FROM core_auditevent")
    assert audit_chain_verify() == []


def test_payload_is_stored_as_plain_json(db):
    row = audit_record(action="test.recorded", payload={"day": date(2026, 11, 23), "n": 1, "s": "¥ 12"})
    row.refresh_from_db()
    assert row.payload == {"day": "2026-11-23", "n": 1, "s": "¥ 12"}
    assert audit_chain_verify() == []


def test_hash_covers_every_field(db):
    row = audit_record(action="test.recorded", actor="alice", object_type="t", object_id="1", payload={"a": 1})
    fields = row_fields(row)
    for name, value in [("actor", "bob"), ("action", "test.other"), ("object_type", "u"), ("object_id", "2"),
                        ("payload", {"a": 2}), ("seq", 2)]:
        assert chain_hash(row.prev_hash, **{**fields, name: value}) != row.hash, name
    assert chain_hash("1" * 64, **fields) != row.hash


def test_a_rolled_back_transaction_leaves_no_row_and_no_gap(db):
    kept = audit_record(action="test.kept")
    with transaction.atomic():
        audit_record(action="test.discarded")
        transaction.set_rollback(True)
    row = audit_record(action="test.next")
    assert row.seq == kept.seq + 1
    assert row.prev_hash == kept.hash
    assert not AuditEvent.objects.filter(action="test.discarded").exists()
    assert audit_chain_verify() == []


def test_edited_row_is_named_and_rows_after_it_still_link(db, lifted_guards):
    rows = [audit_record(action=f"test.{i}") for i in range(4)]
    with lifted_guards("core_auditevent"), connection.cursor() as cur:
        cur.execute("UPDATE core_auditevent SET actor = 'mallory' WHERE seq = %s", [rows[1].seq])
    assert audit_chain_verify() == [ChainProblem(rows[1].seq, "row content does not match its hash (edited)")]


def test_edited_row_with_a_recomputed_hash_breaks_the_next_link(db, lifted_guards):
    rows = [audit_record(action=f"test.{i}") for i in range(3)]
    forged = {**row_fields(rows[1]), "actor": "mallory"}
    with lifted_guards("core_auditevent"), connection.cursor() as cur:
        cur.execute("UPDATE core_auditevent SET actor = %s, hash = %s WHERE seq = %s",
                    ["mallory", chain_hash(rows[1].prev_hash, **forged), rows[1].seq])
    assert audit_chain_verify() == [ChainProblem(rows[2].seq, "link to the previous row is broken")]


def test_removed_row_is_reported_as_a_gap(db, lifted_guards):
    rows = [audit_record(action=f"test.{i}") for i in range(3)]
    with lifted_guards("core_auditevent"), connection.cursor() as cur:
        cur.execute("DELETE FROM core_auditevent WHERE seq = %s", [rows[1].seq])
    assert audit_chain_verify() == [
        ChainProblem(rows[2].seq, f"sequence gap: expected #{rows[1].seq}"),
        ChainProblem(rows[2].seq, "link to the previous row is broken"),
    ]


# --- actors ----------------------------------------------------------------------
def test_actor_labels_name_users_keys_and_the_system(clerk):
    key, _ = api_key_create(name="shop sync", role=Role.FINANCE_CLERK)
    assert actor_label(None) == "system"
    assert actor_label("cron") == "cron"
    assert actor_label(clerk) == f"user:{clerk.pk} clerk"
    assert actor_label(key) == f"api_key:{key.prefix} shop sync"
    assert actor_label(principal_for_api_key(key)) == f"api_key:{key.prefix} shop sync"


# --- who writes audit rows -----------------------------------------------------------
def test_creating_a_user_is_audited(admin_user, merchant):
    user = user_create(username="mia", password="x-mia-pass-1", role=Role.MERCHANT_STAFF, merchant=merchant,
                       actor=admin_user)
    row = last("user.created")
    assert row.actor == f"user:{admin_user.pk} admin"
    assert (row.object_type, row.object_id) == ("user", str(user.pk))
    assert row.payload == {"username": "mia", "role": "merchant_staff", "merchant": "teahouse"}
    assert "x-mia-pass-1" not in str(row.payload)


def test_granting_and_revoking_a_role_is_audited(clerk, manager):
    user_role_grant(user=clerk, role=Role.AUDITOR, actor=manager)
    granted = last("user.role_granted")
    assert granted.payload == {"role": "auditor"}
    assert granted.actor == f"user:{manager.pk} manager"
    user_role_revoke(user=clerk, role=Role.AUDITOR, actor=manager)
    assert last("user.role_revoked").payload == {"role": "auditor"}
    assert audit_chain_verify() == []


def test_role_membership_changed_outside_the_services_is_audited(clerk):
    clerk.groups.add(Group.objects.get(name=Role.AUDITOR))
    row = last("user.groups.add")
    assert row.object_id == str(clerk.pk)
    assert row.payload == {"changed": ["auditor"]}


def test_role_permissions_changed_outside_the_services_are_audited(db):
    group = Group.objects.get(name=Role.AUDITOR)
    perm = Permission.objects.get(content_type__app_label="ledger", codename="post_journal_entry")
    group.permissions.add(perm)
    row = last("role.permissions.add")
    assert row.object_id == str(group.pk)
    assert len(row.payload["changed"]) == 1


def test_creating_and_revoking_an_api_key_is_audited_without_the_token(admin_user, merchant):
    key, token = api_key_create(name="pos", role=Role.MERCHANT_ADMIN, merchant=merchant, actor=admin_user)
    created = last("api_key.created")
    assert created.actor == f"user:{admin_user.pk} admin"
    assert created.payload == {"name": "pos", "role": "merchant_admin", "prefix": key.prefix, "merchant": "teahouse"}
    secret = token.split("_", 2)[2]
    assert secret not in str(created.payload)
    api_key_revoke(key=key, actor=admin_user)
    assert last("api_key.revoked").payload == {"prefix": key.prefix}
    api_key_revoke(key=key, actor=admin_user)  # revoking again changes nothing and records nothing
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_merchant_creation_is_audited(merchant):
    row = last("merchant.created")
    assert row.object_id == str(merchant.pk)
    assert row.payload == {"code": "teahouse", "name": "Tea House", "business_type": "food"}


def test_ledger_accounts_and_periods_are_audited(manager):
    account = account_create(code="1000", name="Bank", type="asset", currency="cny", actor=manager)
    assert last("ledger.account_created").payload == {
        "code": "1000", "currency": "CNY", "type": "asset", "merchant": None, "customer": None,
    }
    account_deactivate(account=account, actor=manager)
    assert last("ledger.account_deactivated").object_id == str(account.pk)
    period = period_create(name="2026-11", start_date=date(2026, 11, 1), end_date=date(2026, 11, 30), actor=manager)
    assert last("ledger.period_created").payload == {"name": "2026-11", "start": "2026-11-01", "end": "2026-11-30"}
    period_close(period=period, actor=manager)
    closed = last("ledger.period_closed")
    assert closed.actor == f"user:{manager.pk} manager"
    assert (closed.object_type, closed.object_id, closed.payload) == ("period", str(period.pk), {"name": "2026-11"})
    assert audit_chain_verify() == []


def test_successful_login_and_logout_are_audited(clerk):
    client = Client(REMOTE_ADDR="10.1.2.3")
    assert client.login(username="clerk", password="x-clerk-pass-1")
    row = last("auth.login")
    assert row.actor == f"user:{clerk.pk} clerk"
    assert row.object_id == str(clerk.pk)
    client.logout()
    assert last("auth.logout").actor == f"user:{clerk.pk} clerk"


def test_failed_login_is_audited_without_the_password(clerk):
    assert not Client().login(username="clerk", password="wrong-password")
    row = last("auth.login_failed")
    assert row.actor == "anonymous (clerk)"
    assert row.object_id == "clerk"
    assert "wrong-password" not in str(row_fields(row))
    assert last("auth.login") is None


@pytest.mark.parametrize("username", ["nobody", "x" * 500])
def test_failed_login_of_an_unknown_user_is_audited(db, username):
    assert not Client().login(username=username, password="whatever")
    row = last("auth.login_failed")
    assert row.object_id == username[:100]
    assert row.actor == f"anonymous ({username[:100]})"
    assert audit_chain_verify() == []


def test_an_api_key_with_a_long_name_can_act_and_be_audited(accounts_cny, today):
    from clearhouse.ledger.services import journal_entry_post
    from tests.ledger.support import cr, dr

    key, _ = api_key_create(name="k" * 200, role=Role.FINANCE_CLERK)
    principal = principal_for_api_key(key)
    assert len(actor_label(principal)) == 200
    assert actor_label(principal).startswith(f"api_key:{key.prefix} kkk")
    entry = journal_entry_post(idempotency_key="e1", effective_date=today, actor=principal,
                               lines=[dr(accounts_cny["bank"], "1.00"), cr(accounts_cny["sales"], "1.00")])
    entry.refresh_from_db()
    assert entry.posted_by == actor_label(principal)
    row = audit_record(action="test.by_key", actor=principal)
    assert row.actor == actor_label(principal)
    assert audit_chain_verify() == []
