"""The tenant's settings on its admin page (tenancy.admin, tenancy.services): the four-eyes threshold
and the expiry reminder days, each change with a reason and logged."""

from decimal import Decimal

import pytest
from django.test import Client

from backoffice.models import StaffAction
from core.exceptions import ValidationFailed
from tenancy import services

pytestmark = pytest.mark.django_db


def url(tenant) -> str:
    return f"/admin/tenancy/tenant/{tenant.pk}/change/"


def settings_form(threshold="", days="7", reason="Policy FIN-12") -> dict:
    """The page's fields as posted; the defaults leave a new tenant's settings as they are."""
    return {"approval_threshold_credits": threshold, "credit_expiry_reminder_days": days, "change_reason": reason}


def form_errors(response) -> dict:
    assert response.status_code == 200, "the page should have refused the form"
    return response.context["adminform"].form.errors


def test_an_admin_sets_the_threshold_with_a_reason_and_it_is_logged(superuser_client, environment):
    tenant = environment.tenant
    assert "change_reason" in form_errors(superuser_client.post(url(tenant), settings_form("1000", reason=" ")))
    assert "approval_threshold_credits" in form_errors(superuser_client.post(url(tenant), settings_form("0", reason="x")))
    tenant.refresh_from_db()
    assert tenant.approval_threshold_credits is None

    response = superuser_client.post(url(tenant), settings_form("1000.5"))

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.approval_threshold_credits == Decimal("1000.5")
    entry = StaffAction.objects.get(kind="approval_threshold")
    assert (entry.staff, entry.target_id, entry.note, entry.result) == (
        "root",
        tenant.pk,
        "Policy FIN-12",
        "Approval threshold: 1000.5 credits",
    )
    superuser_client.post(url(tenant), settings_form("", reason="Pilot over"))
    tenant.refresh_from_db()
    assert tenant.approval_threshold_credits is None
    assert not StaffAction.objects.filter(kind="expiry_reminder_days").exists()  # the days did not change


def test_an_admin_sets_the_reminder_days_and_only_the_changed_setting_is_logged(superuser_client, environment):
    tenant = environment.tenant
    response = superuser_client.post(url(tenant), settings_form(days="14", reason="Customers asked for two weeks"))

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert (tenant.credit_expiry_reminder_days, tenant.approval_threshold_credits) == (14, None)
    entry = StaffAction.objects.get()
    assert (entry.kind, entry.staff, entry.target_id, entry.note, entry.result) == (
        "expiry_reminder_days",
        "root",
        tenant.pk,
        "Customers asked for two weeks",
        "Expiry reminders: 14 days before expiry",
    )
    superuser_client.post(url(tenant), settings_form("250", days="0", reason="Pause reminders; start approvals"))
    tenant.refresh_from_db()
    assert (tenant.credit_expiry_reminder_days, tenant.approval_threshold_credits) == (0, Decimal("250"))
    assert list(StaffAction.objects.order_by("created_at", "id").values_list("kind", "result"))[1:] == [
        ("approval_threshold", "Approval threshold: 250 credits"),
        ("expiry_reminder_days", "Expiry reminders: off"),
    ]


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("366", "Give a whole number of days from 0 to 365; 0 turns reminders off."),
        ("-1", "Ensure this value is greater than or equal to 0."),
        ("2.5", "Enter a whole number."),
        ("", "This field is required."),
    ],
)
def test_the_page_refuses_bad_reminder_days_and_changes_nothing(superuser_client, environment, days, message):
    errors = form_errors(superuser_client.post(url(environment.tenant), settings_form(days=days)))
    assert errors["credit_expiry_reminder_days"] == [message]
    environment.tenant.refresh_from_db()
    assert environment.tenant.credit_expiry_reminder_days == 7
    assert not StaffAction.objects.exists()


def test_a_submit_that_changes_nothing_is_refused(superuser_client, environment):
    errors = form_errors(superuser_client.post(url(environment.tenant), settings_form()))
    assert errors["__all__"] == ["Nothing changed: change a setting, or leave the page."]
    assert not StaffAction.objects.exists()


def test_finance_and_support_see_the_tenant_but_cannot_change_the_threshold(make_staff, environment):
    tenant = environment.tenant
    fiona = make_staff("fiona", "Finance", permissions=("tenancy.view_tenant",))
    client = Client()
    client.force_login(fiona)
    assert client.get(url(tenant)).status_code == 200
    client.post(url(tenant), settings_form("1", days="30", reason="sneaky"))
    tenant.refresh_from_db()
    assert (tenant.approval_threshold_credits, tenant.credit_expiry_reminder_days) == (None, 7)


@pytest.mark.parametrize("bad", [Decimal("0"), Decimal("-1"), Decimal("NaN"), 5])
def test_the_service_refuses_a_threshold_that_is_not_a_positive_decimal(environment, bad):
    with pytest.raises(ValidationFailed) as refused:
        services.tenant_set_approval_threshold(environment.tenant, bad)
    assert refused.value.field == "approval_threshold_credits"


@pytest.mark.parametrize("bad", [-1, 366, 7.0, "7", True, None])
def test_the_service_refuses_reminder_days_that_are_not_0_to_365(environment, bad):
    with pytest.raises(ValidationFailed) as refused:
        services.tenant_set_expiry_reminder_days(environment.tenant, bad)
    assert refused.value.field == "credit_expiry_reminder_days"
    environment.tenant.refresh_from_db()
    assert environment.tenant.credit_expiry_reminder_days == 7
