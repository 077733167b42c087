"""Every customer method of the official SDK (flexprice==2.1.43) that this service serves, called
unchanged, in process: the SDK's httpx client gets a WSGI transport onto billing.wsgi, so each
call still goes through the full Django stack, the SDK's own request encoding and its strict
response parsing (status, content type, field types)."""

import httpx
import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from flexprice import Flexprice
from flexprice.models import errors

from billing.wsgi import application
from customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def sdk(api_key):
    # As Django's test client does: the test's transaction must outlive each request, so the
    # handler may not close the connection at request boundaries.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    client = httpx.Client(transport=httpx.WSGITransport(app=application), base_url="http://testserver")
    yield Flexprice(api_key_auth=api_key.raw_key, server_url="http://testserver/v1", client=client)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_create_get_update_search_and_delete(sdk, environment):
    created = sdk.customers.create_customer(
        external_id="sdk-ext",
        name="SDK Customer",
        email="sdk@example.com",
        address_country="IN",
        metadata={"tier": "gold"},
        timezone="Asia/Kolkata",  # accepted and ignored
    )
    assert created.id.startswith("cust_") and created.status == "published"
    assert created.environment_id == environment.id and created.metadata == {"tier": "gold"}
    assert created.created_at is not None and created.created_at.tzinfo is not None

    assert sdk.customers.get_customer(id=created.id).external_id == "sdk-ext"
    assert sdk.customers.get_customer_by_external_id(external_id="sdk-ext").id == created.id

    by_external = sdk.customers.update_customer(external_customer_id="sdk-ext", name="Renamed")
    by_id = sdk.customers.update_customer(id=created.id, metadata={"tier": "platinum"})
    assert by_external.name == "Renamed" and by_id.metadata == {"tier": "platinum"} and by_id.name == "Renamed"

    found = sdk.customers.query_customer(
        external_ids=["sdk-ext", "missing"],
        filters=[{"field": "name", "operator": "contains", "data_type": "string", "value": {"string": "renam"}}],
        sort=[{"field": "created_at", "direction": "desc"}],
        limit=10,
        offset=0,
    )
    assert [c.id for c in found.items] == [created.id]
    assert (found.pagination.total, found.pagination.limit, found.pagination.offset) == (1, 10, 10)

    assert sdk.customers.delete_customer(id=created.id) is None
    assert Customer.objects.get(pk=created.id).status == "deleted"


def test_errors_reach_the_sdk_with_their_message(sdk, customer, wallet, credit):
    credit(5)

    with pytest.raises(errors.ErrorResponse) as refused:
        sdk.customers.delete_customer(id=customer.id)
    assert refused.value.status_code == 400 and refused.value.data.code == "invalid_operation"
    assert "active wallet" in str(refused.value)

    with pytest.raises(errors.ErrorResponse) as missing:
        sdk.customers.get_customer_by_external_id(external_id="nobody")
    assert missing.value.status_code == 404 and "nobody" in missing.value.data.message

    with pytest.raises(errors.ErrorResponse) as invalid:
        sdk.customers.create_customer(external_id="bad id", name="x")
    assert invalid.value.status_code == 400 and "external_id" in str(invalid.value)

    with pytest.raises(errors.FlexpriceDefaultError) as conflict:
        sdk.customers.create_customer(external_id=customer.external_id, name="Twin")
    assert conflict.value.status_code == 409 and "already_exists" in conflict.value.body
