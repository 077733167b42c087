"""The tenant's four-eyes threshold, set on the tenant's admin page (tenancy.admin, tenancy.services)."""

from decimal import Decimal

import pytest
from django.test import Client

from backoffice.models import StaffAction
from core.exceptions import ValidationFailed
from tenancy import services

pytestmark = pytest.mark.django_db


def url(tenant) -> str:
    return f"/admin/tenancy/tenant/{tenant.pk}/change/"


def test_an_admin_sets_the_threshold_with_a_reason_and_it_is_logged(superuser_client, environment):
    tenant = environment.tenant
    refused = superuser_client.post(url(tenant), {"approval_threshold_credits": "1000", "change_reason": " "})
    assert refused.status_code == 200 and "change_reason" in refused.context["adminform"].form.errors
    superuser_client.post(url(tenant), {"approval_threshold_credits": "0", "change_reason": "x"})
    tenant.refresh_from_db()
    assert tenant.approval_threshold_credits is None

    response = superuser_client.post(url(tenant), {"approval_threshold_credits": "1000.5", "change_reason": "Policy FIN-12"})

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
    superuser_client.post(url(tenant), {"approval_threshold_credits": "", "change_reason": "Pilot over"})
    tenant.refresh_from_db()
    assert tenant.approval_threshold_credits is None


def test_finance_and_support_see_the_tenant_but_cannot_change_the_threshold(make_staff, environment):
    tenant = environment.tenant
    fiona = make_staff("fiona", "Finance", permissions=("tenancy.view_tenant",))
    client = Client()
    client.force_login(fiona)
    assert client.get(url(tenant)).status_code == 200
    client.post(url(tenant), {"approval_threshold_credits": "1", "change_reason": "sneaky"})
    tenant.refresh_from_db()
    assert tenant.approval_threshold_credits is None


@pytest.mark.parametrize("bad", [Decimal("0"), Decimal("-1"), Decimal("NaN"), 5])
def test_the_service_refuses_a_threshold_that_is_not_a_positive_decimal(environment, bad):
    with pytest.raises(ValidationFailed) as refused:
        services.tenant_set_approval_threshold(environment.tenant, bad)
    assert refused.value.field == "approval_threshold_credits"
