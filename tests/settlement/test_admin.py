"""Django admin for settlement: fee rules and schedules go through the services (overlaps and day 32 refused with
the service's message), a saved rule's money terms never change in place (note and "end on" only), statements
are read-only for support staff."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory

from clearhouse.core.models import AuditEvent
from clearhouse.settlement.models import FeeRule, SettlementSchedule, Statement, StatementEvent, StatementLine
from clearhouse.settlement.services import settlement_run
from tests.conftest import login_verified
from tests.settlement.factories import at, completed_order, fee_rule, weekly_schedule


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    login_verified(client, admin_user)
    return client


@pytest.fixture
def statement(weekly_merchant, buyer, run_day):
    completed_order(weekly_merchant, buyer, subtotal_minor=10000, completed_at=at(date(2026, 11, 9)), fee_minor=60)
    completed_order(weekly_merchant, buyer, subtotal_minor=2500, completed_at=at(date(2026, 11, 10)))
    settlement_run(day=run_day)
    return Statement.objects.get()


RULE_FORM = {"business_type": "", "merchant": "", "currency": "CNY", "rate": "0.006", "fixed_fee": "",
             "minimum_fee": "", "maximum_fee": "", "payment_fee_basis": "actual", "payment_fee_rate": "0",
             "effective_from": "2027-01-01", "effective_to": "", "note": ""}


def _errors(response) -> str:
    assert response.status_code == 200, response.status_code  # the form again, with its errors
    return response.content.decode()


# --- pages ------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["feerule", "settlementschedule", "statement"])
def test_every_settlement_admin_page_lists(admin_client, statement, model):
    r = admin_client.get(f"/admin/settlement/{model}/")
    assert r.status_code == 200, r.content[:500]


def test_fee_rules_show_their_rate_as_a_percent(admin_client, food_fee_rule):
    page = admin_client.get("/admin/settlement/feerule/").content.decode()
    assert "0.6 %" in page and "food" in page


def test_a_statement_shows_its_lines_and_history_read_only(admin_client, statement):
    r = admin_client.get(f"/admin/settlement/statement/{statement.pk}/change/")
    assert r.status_code == 200
    page = r.content.decode()
    numbers = list(StatementLine.objects.filter(statement=statement).values_list("order_number", flat=True))
    assert len(numbers) == 2 and all(number in page for number in numbers)
    assert "generated" in page
    assert 'name="_save"' not in page and 'field-payout_voucher"' not in page


def test_statements_their_lines_and_events_cannot_be_added_changed_or_deleted(admin_user, statement):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    statement_admin = admin.site._registry[Statement]
    assert not statement_admin.has_add_permission(request)
    assert not statement_admin.has_change_permission(request, statement)
    assert not statement_admin.has_delete_permission(request, statement)
    for inline in statement_admin.get_inline_instances(request, statement):
        assert inline.model in (StatementLine, StatementEvent)
        assert not inline.has_add_permission(request, statement)
        assert not inline.has_change_permission(request, statement)
        assert not inline.has_delete_permission(request, statement)


def test_a_post_to_change_a_statement_changes_nothing(admin_client, statement):
    r = admin_client.post(f"/admin/settlement/statement/{statement.pk}/change/", {"status": "paid"})
    assert r.status_code == 403
    assert Statement.objects.get(pk=statement.pk).status == "draft"


# --- fee rules --------------------------------------------------------------------------------
def test_an_admin_adds_a_fee_rule_with_a_decimal_rate(admin_client, business_type, admin_user):
    r = admin_client.post("/admin/settlement/feerule/add/", {**RULE_FORM, "business_type": business_type.pk,
                                                             "rate": "0.02", "minimum_fee": "1.00",
                                                             "note": "2027 terms"})
    assert r.status_code == 302, _errors(r)
    rule = FeeRule.objects.get()
    assert (rule.rate_ppm, rule.minimum_fee_minor, rule.fixed_fee_minor, rule.note) == (20000, 100, 0, "2027 terms")
    assert rule.created_by == admin_user.audit_label()
    assert AuditEvent.objects.filter(action="fee_rule.created", object_id=str(rule.pk)).exists()


def test_an_overlapping_rule_is_refused_with_the_services_message(admin_client, food_fee_rule, business_type):
    r = admin_client.post("/admin/settlement/feerule/add/", {**RULE_FORM, "business_type": business_type.pk,
                                                             "effective_from": "2026-06-01"})
    assert "Another fee rule for the same scope and currency is effective on some of these dates." in _errors(r)
    assert FeeRule.objects.count() == 1


@pytest.mark.parametrize(("change", "message"), [
    ({"business_type": ""}, "Give either a merchant or a business type"),
    ({"rate": "1.5"}, "Ensure this value is less than or equal to 1"),
    ({"rate": "0.0000001"}, "Ensure that there are no more than 6 decimal places"),
    ({"minimum_fee": "5.00", "maximum_fee": "1.00"}, "The minimum fee is above the maximum fee."),
    ({"fixed_fee": "0.001"}, "CNY amounts have at most 2 decimal places"),
    ({"currency": "XYZ"}, "ISO 4217"),
    ({"effective_to": "2026-12-31"}, "A fee rule cannot end before it starts."),
])
def test_bad_fee_rules_are_refused_with_a_message(admin_client, business_type, change, message):
    r = admin_client.post("/admin/settlement/feerule/add/", {**RULE_FORM, "business_type": business_type.pk,
                                                             **change})
    assert message in _errors(r)
    assert FeeRule.objects.count() == 0


def test_a_saved_rule_changes_only_its_note(admin_client, food_fee_rule):
    r = admin_client.post(f"/admin/settlement/feerule/{food_fee_rule.pk}/change/",
                          {"note": "agreed with the association", "end_on": "", "rate": "0.5",
                           "rate_ppm": "500000", "currency": "USD"})
    assert r.status_code == 302, _errors(r)
    rule = FeeRule.objects.get()
    assert (rule.note, rule.rate_ppm, rule.currency, rule.effective_to) == (
        "agreed with the association", 6000, "CNY", None)
    assert AuditEvent.objects.filter(action="fee_rule.note_changed", object_id=str(rule.pk)).exists()


def test_a_rule_is_ended_not_edited(admin_client, food_fee_rule, business_type):
    r = admin_client.post(f"/admin/settlement/feerule/{food_fee_rule.pk}/change/",
                          {"note": "", "end_on": "2026-12-31"})
    assert r.status_code == 302, _errors(r)
    assert FeeRule.objects.get().effective_to == date(2026, 12, 31)
    assert AuditEvent.objects.filter(action="fee_rule.ended").exists()
    r = admin_client.post("/admin/settlement/feerule/add/", {**RULE_FORM, "business_type": business_type.pk,
                                                             "rate": "0.008"})
    assert r.status_code == 302, _errors(r)
    assert FeeRule.objects.count() == 2


def test_ending_a_rule_before_it_starts_is_refused(admin_client, food_fee_rule):
    r = admin_client.post(f"/admin/settlement/feerule/{food_fee_rule.pk}/change/",
                          {"note": "changed", "end_on": "2025-12-31"})
    assert "A fee rule cannot end before it starts." in _errors(r)
    rule = FeeRule.objects.get()
    assert (rule.effective_to, rule.note) == (None, "")


def test_the_change_page_offers_note_and_end_only(admin_client, food_fee_rule):
    page = admin_client.get(f"/admin/settlement/feerule/{food_fee_rule.pk}/change/").content.decode()
    assert 'name="note"' in page and 'name="end_on"' in page
    assert 'name="rate"' not in page and 'name="currency"' not in page and "0.6 %" in page


def test_fee_rules_cannot_be_deleted(admin_user, food_fee_rule):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    assert not admin.site._registry[FeeRule].has_delete_permission(request, food_fee_rule)


# --- schedules --------------------------------------------------------------------------------
SCHEDULE_FORM = {"merchant": "", "business_type": "", "cycle": "weekly", "day_of_month": "", "weekday": "0",
                 "delay_days": "", "eligibility_delay_days": "7"}


def test_an_admin_sets_a_schedule_through_the_service(admin_client, merchant):
    r = admin_client.post("/admin/settlement/settlementschedule/add/", {**SCHEDULE_FORM, "merchant": merchant.pk})
    assert r.status_code == 302, _errors(r)
    schedule = SettlementSchedule.objects.get()
    assert (schedule.merchant_id, schedule.cycle, schedule.weekday, schedule.eligibility_delay_days) == (
        merchant.pk, "weekly", 0, 7)
    assert AuditEvent.objects.filter(action="settlement_schedule.set").exists()
    assert "every Monday" in admin_client.get("/admin/settlement/settlementschedule/").content.decode()


def test_day_32_is_refused_with_the_field_named(admin_client, merchant):
    r = admin_client.post("/admin/settlement/settlementschedule/add/",
                          {**SCHEDULE_FORM, "merchant": merchant.pk, "cycle": "monthly", "day_of_month": "32",
                           "weekday": ""})
    assert "A monthly schedule runs on a day from 1 to 31." in _errors(r)
    assert SettlementSchedule.objects.count() == 0


def test_a_schedule_for_both_or_neither_scope_is_refused(admin_client, merchant, business_type):
    r = admin_client.post("/admin/settlement/settlementschedule/add/",
                          {**SCHEDULE_FORM, "merchant": merchant.pk, "business_type": business_type.pk})
    assert "Give either a merchant or a business type" in _errors(r)
    assert SettlementSchedule.objects.count() == 0


def test_changing_a_schedule_replaces_its_terms_and_keeps_its_scope(admin_client, merchant, other_merchant):
    schedule = weekly_schedule(merchant, weekday=0)
    r = admin_client.post(f"/admin/settlement/settlementschedule/{schedule.pk}/change/",
                          {**SCHEDULE_FORM, "merchant": other_merchant.pk, "cycle": "monthly", "day_of_month": "31",
                           "weekday": ""})
    assert r.status_code == 302, _errors(r)
    schedule = SettlementSchedule.objects.get()
    assert (schedule.merchant_id, schedule.cycle, schedule.day_of_month, schedule.weekday) == (
        merchant.pk, "monthly", 31, None)


def test_schedules_are_deactivated_not_deleted(admin_client, admin_user, merchant):
    schedule = weekly_schedule(merchant, weekday=0)
    r = admin_client.post("/admin/settlement/settlementschedule/",
                          {"action": "deactivate", "_selected_action": [schedule.pk]})
    assert r.status_code == 302
    assert SettlementSchedule.objects.get().is_active is False
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    assert not admin.site._registry[SettlementSchedule].has_delete_permission(request, schedule)


def test_the_fee_rule_admin_pages_answer_a_business_type_scope(admin_client, business_type):
    fee_rule(scope=business_type, rate="0.02", minimum_fee_minor=100)
    page = admin_client.get("/admin/settlement/feerule/").content.decode()
    assert "2 %" in page and "1.00" in page
