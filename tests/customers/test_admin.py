"""Django admin for customers' master data: pages render; the append-only logs are read-only there."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory

from clearhouse.core.money import Money
from clearhouse.customers.models import CustomerSpend, FeedbackTicket, PointsEntry
from clearhouse.customers.services import customer_spend_record, feedback_ticket_open, points_earn


@pytest.fixture
def admin_client_verified(admin_user):
    """An admin signed in with a verified second factor where MFA is enforced."""
    client = Client()
    try:
        from tests.conftest import login_verified
    except ImportError:  # before MFA: a plain sign-in is enough
        client.force_login(admin_user)
    else:
        login_verified(client, admin_user)
    return client


@pytest.fixture
def some_history(customer, member_levels):
    customer_spend_record(customer=customer, amount=Money(150000, "CNY"), order_reference="SO-1")
    points_earn(customer=customer, amount=Money(150000, "CNY"), order_reference="SO-1")
    feedback_ticket_open(customer=customer, subject="Hello", body="Text")


@pytest.mark.parametrize("model", ["customerprofile", "memberlevel", "customertag", "pointsentry",
                                   "customerspend", "feedbackticket"])
def test_every_customers_admin_page_lists(admin_client_verified, some_history, model):
    r = admin_client_verified.get(f"/admin/customers/{model}/")
    assert r.status_code == 200, r.content[:500]


def test_the_profile_change_page_renders_with_addresses(admin_client_verified, some_history, customer):
    assert admin_client_verified.get(f"/admin/customers/customerprofile/{customer.pk}/change/").status_code == 200


@pytest.mark.parametrize("model", [PointsEntry, CustomerSpend, FeedbackTicket])
def test_logs_cannot_be_added_changed_or_deleted_in_the_admin(admin_user, model):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    model_admin = admin.site._registry[model]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
