"""Contract tests for the /v1 customer routes: status codes, every field and its JSON type, the
error shape, tenant scoping, and that a refused request writes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer
from tenancy.services import api_key_create, environment_get_or_create

pytestmark = pytest.mark.django_db

CUSTOMER_FIELDS = {
    "id": str,
    "external_id": str,
    "name": str,
    "email": str,
    "address_line1": str,
    "address_line2": str,
    "address_city": str,
    "address_state": str,
    "address_postal_code": str,
    "address_country": str,
    "metadata": dict,
    "status": str,
    "tenant_id": str,
    "environment_id": str,
    "created_at": str,
    "updated_at": str,
    "created_by": str,
    "updated_by": str,
}


def assert_customer_shape(body: dict) -> None:
    assert set(body) == set(CUSTOMER_FIELDS)
    for field, kind in CUSTOMER_FIELDS.items():
        assert isinstance(body[field], kind), field
    assert body["id"].startswith("cust_")
    assert body["created_at"].endswith("Z") and body["updated_at"].endswith("Z")
    assert all(isinstance(value, str) for value in body["metadata"].values())


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code and body["http_status_code"] == status
    assert isinstance(body["message"], str) and body["message"]
    if field:
        assert field in body["message"]
        assert body["details"]["field"] == field
    return body


def create(client, **fields):
    fields.setdefault("external_id", "ext-1")
    fields.setdefault("name", "Ada Lovelace")
    return client.post("/v1/customers", fields, format="json")


# --- create ---------------------------------------------------------------------------------


def test_create_answers_201_with_every_field(api_client, environment, api_key):
    response = create(
        api_client,
        email="ada@example.com",
        address_line1="1 Analytical Way",
        address_city="London",
        address_postal_code="N1 9GU",
        address_country="gb",
        metadata={"plan": "gold"},
    )

    assert response.status_code == 201
    body = response.json()
    assert_customer_shape(body)
    assert body["external_id"] == "ext-1"
    assert body["email"] == "ada@example.com"
    assert body["address_country"] == "GB"
    assert body["metadata"] == {"plan": "gold"}
    assert body["status"] == "published"
    assert body["tenant_id"] == environment.tenant_id
    assert body["environment_id"] == environment.id
    assert body["created_by"] == api_key.api_key.id
    assert Customer.objects.get(pk=body["id"]).environment_id == environment.id


def test_create_ignores_sdk_fields_this_service_does_not_keep(api_client):
    response = create(
        api_client,
        timezone="Asia/Kolkata",
        billing_currency="usd",
        contact="+1 555",
        tax_treatment="taxable",
        skip_onboarding_workflow=True,
        contact_persons=[{"first_name": "A"}],
        integration_entity_mapping=[{"provider": "stripe", "id": "cus_1"}],
    )
    assert response.status_code == 201
    assert "timezone" not in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No external id"}, "external_id"),
        ({"external_id": "ext-1"}, "name"),
        ({"external_id": "ext-1", "name": ""}, "name"),
        ({"external_id": 42, "name": "N"}, "external_id"),
        ({"external_id": "ext-1", "name": ["N"]}, "name"),
        ({"external_id": "has space", "name": "N"}, "external_id"),
        ({"external_id": "ext-1", "name": "N", "email": "not-an-email"}, "email"),
        ({"external_id": "ext-1", "name": "N", "metadata": {"n": 1}}, "metadata.n"),
        ({"external_id": "ext-1", "name": "N", "metadata": ["a"]}, "metadata"),
        ({"external_id": "ext-1", "name": "N", "address_country": "GBR"}, "address_country"),
        ({"external_id": "ext-1", "name": "N", "address_country": "1x"}, "address_country"),
        ({"external_id": "x" * 256, "name": "N"}, "external_id"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(api_client, body, field):
    response = api_client.post("/v1/customers", body, format="json")

    assert_error(response, 400, "validation_error", field)
    assert Customer.objects.count() == 0


def test_create_refuses_a_body_that_is_not_an_object(api_client):
    assert_error(api_client.post("/v1/customers", ["a"], format="json"), 400, "validation_error")
    assert Customer.objects.count() == 0


def test_create_refuses_a_taken_external_id_with_409(api_client):
    assert create(api_client).status_code == 201

    body = assert_error(create(api_client, name="Twin"), 409, "already_exists")

    assert body["details"] == {"external_id": "ext-1"}
    assert Customer.objects.count() == 1


def test_the_same_external_id_is_free_in_another_tenant(api_client, other_tenant_client):
    assert create(api_client).status_code == 201
    assert create(other_tenant_client).status_code == 201


# --- get ------------------------------------------------------------------------------------


def test_get_by_id_and_by_external_id(api_client, customer):
    by_id = api_client.get(f"/v1/customers/{customer.id}")
    by_external = api_client.get(f"/v1/customers/external/{customer.external_id}")

    assert by_id.status_code == by_external.status_code == 200
    assert_customer_shape(by_id.json())
    assert by_id.json() == by_external.json()
    assert by_id.json()["email"] == "ada@example.com"


def test_another_tenants_or_environments_customer_is_not_found(api_client, make_customer, other_environment):
    sandbox = environment_get_or_create(tenant_name="acme", environment_name="sandbox")
    for env in (other_environment, sandbox):
        theirs = make_customer(env=env)
        assert_error(api_client.get(f"/v1/customers/{theirs.id}"), 404, "not_found")
        assert_error(api_client.get(f"/v1/customers/external/{theirs.external_id}"), 404, "not_found")


def test_unknown_ids_are_not_found(api_client):
    body = assert_error(api_client.get("/v1/customers/cust_nope"), 404, "not_found")
    assert "cust_nope" in body["message"]
    assert_error(api_client.get("/v1/customers/external/nope"), 404, "not_found")


# --- update ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["path", "query_id", "query_external_id", "query_both"])
def test_update_by_each_identifier(api_client, customer, how):
    url = {
        "path": f"/v1/customers/{customer.id}",
        "query_id": f"/v1/customers?id={customer.id}",
        "query_external_id": f"/v1/customers?external_customer_id={customer.external_id}",
        "query_both": f"/v1/customers?id={customer.id}&external_customer_id={customer.external_id}",
    }[how]

    response = api_client.put(url, {"name": "Countess", "metadata": {"a": "b"}}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert_customer_shape(body)
    assert body["name"] == "Countess"
    assert body["email"] == "ada@example.com"  # not sent, so unchanged
    assert body["metadata"] == {"a": "b"}
    customer.refresh_from_db()
    assert customer.name == "Countess"


def test_update_replaces_metadata_and_can_change_the_external_id(api_client, make_customer):
    customer = make_customer(metadata={"old": "1"})

    response = api_client.put(f"/v1/customers/{customer.id}", {"external_id": "renamed", "metadata": {"new": "2"}}, format="json")

    assert response.status_code == 200
    assert response.json()["metadata"] == {"new": "2"}
    assert api_client.get("/v1/customers/external/renamed").json()["id"] == customer.id


def test_update_needs_an_identifier_that_agrees(api_client, customer, make_customer):
    other = make_customer()
    assert_error(api_client.put("/v1/customers", {"name": "x"}, format="json"), 400, "validation_error", "id")
    mismatch = f"/v1/customers?id={other.id}&external_customer_id={customer.external_id}"
    assert_error(api_client.put(mismatch, {"name": "x"}, format="json"), 400, "validation_error", "external_customer_id")
    assert_error(api_client.put("/v1/customers?id=cust_nope", {"name": "x"}, format="json"), 404, "not_found")
    customer.refresh_from_db()
    other.refresh_from_db()
    assert customer.name == other.name == "Ada Lovelace"


def test_update_refuses_a_taken_external_id_and_bad_types(api_client, customer, make_customer):
    other = make_customer()
    before = customer.updated_at

    assert_error(
        api_client.put(f"/v1/customers/{customer.id}", {"external_id": other.external_id}, format="json"),
        409,
        "already_exists",
    )
    assert_error(api_client.put(f"/v1/customers/{customer.id}", {"name": 5}, format="json"), 400, "validation_error", "name")
    assert_error(
        api_client.put(f"/v1/customers/{customer.id}", {"external_id": ""}, format="json"),
        400,
        "validation_error",
        "external_id",
    )
    customer.refresh_from_db()
    assert customer.updated_at == before


def test_update_cannot_reach_another_tenants_customer(api_client, make_customer, other_environment):
    theirs = make_customer(env=other_environment)

    assert_error(api_client.put(f"/v1/customers/{theirs.id}", {"name": "x"}, format="json"), 404, "not_found")
    assert_error(
        api_client.put(f"/v1/customers?external_customer_id={theirs.external_id}", {"name": "x"}, format="json"),
        404,
        "not_found",
    )
    theirs.refresh_from_db()
    assert theirs.name == "Ada Lovelace"


# --- delete ---------------------------------------------------------------------------------


def test_delete_answers_204_and_hides_the_customer(api_client, customer):
    response = api_client.delete(f"/v1/customers/{customer.id}")

    assert response.status_code == 204
    assert response.content == b""
    assert_error(api_client.get(f"/v1/customers/{customer.id}"), 404, "not_found")
    assert customer.external_id not in [c["external_id"] for c in api_client.get("/v1/customers").json()["items"]]
    # The row stays (the ledger points at it) and its external id is free again.
    assert Customer.objects.get(pk=customer.id).status == "deleted"
    assert create(api_client, external_id=customer.external_id).status_code == 201


def test_delete_is_refused_while_an_active_wallet_holds_credits(api_client, customer, wallet, credit):
    credit(10)

    body = assert_error(api_client.delete(f"/v1/customers/{customer.id}"), 400, "invalid_operation")

    assert body["details"]["wallet_ids"] == [wallet.id]
    customer.refresh_from_db()
    assert customer.status == "published"


def test_delete_is_allowed_once_the_wallet_is_empty(api_client, customer, wallet):
    assert api_client.delete(f"/v1/customers/{customer.id}").status_code == 204


def test_delete_of_another_tenants_customer_is_not_found(api_client, make_customer, other_environment):
    theirs = make_customer(env=other_environment)

    assert_error(api_client.delete(f"/v1/customers/{theirs.id}"), 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.status == "published"


# --- list and search ------------------------------------------------------------------------


@pytest.fixture
def three_customers(make_customer):
    return [
        make_customer(external_id="a-1", name="Alice Archer", email="alice@example.com"),
        make_customer(external_id="b-2", name="Bob Baker", email="bob@example.com"),
        make_customer(external_id="c-3", name="Carol Archer", email="carol@example.org"),
    ]


def test_list_is_the_flexprice_envelope_newest_first(api_client, three_customers, make_customer, other_environment):
    make_customer(env=other_environment)

    response = api_client.get("/v1/customers")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "pagination"}
    assert body["pagination"] == {"total": 3, "limit": 50, "offset": 50}
    assert [c["external_id"] for c in body["items"]] == ["c-3", "b-2", "a-1"]
    for item in body["items"]:
        assert_customer_shape(item)


def test_list_filters_sorts_and_pages(api_client, three_customers):
    alice, bob, carol = three_customers

    by_ids = api_client.get(f"/v1/customers?customer_ids={alice.id}&customer_ids={carol.id}&order=asc").json()
    by_email = api_client.get("/v1/customers?email=BOB@example.com").json()
    page = api_client.get("/v1/customers?sort=name&order=asc&limit=1&offset=1").json()

    assert [c["id"] for c in by_ids["items"]] == [alice.id, carol.id]
    assert [c["id"] for c in by_email["items"]] == [bob.id]
    assert [c["name"] for c in page["items"]] == ["Bob Baker"]
    assert page["pagination"] == {"total": 3, "limit": 1, "offset": 2}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=1001", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=%D9%A1", "limit"),  # Arabic-Indic one
        ("offset=-5", "offset"),
        ("order=sideways", "order"),
        ("sort=password", "sort"),
        ("start_time=yesterday", "start_time"),
        ("start_time=2030-01-01T00:00:00Z&end_time=2029-01-01T00:00:00Z", "end_time"),
        ("limit=abc&limit=5", "limit"),
        ("order=asc&order=desc", "order"),
        ("start_time=", "start_time"),
        ("limit=", "limit"),
        ("customer_ids=", "customer_ids"),
    ],
)
def test_list_refuses_bad_query_parameters(api_client, three_customers, query, field):
    assert_error(api_client.get(f"/v1/customers?{query}"), 400, "validation_error", field)


def test_search_applies_every_filter(api_client, three_customers):
    alice, bob, _carol = three_customers

    def search(**body):
        response = api_client.post("/v1/customers/search", body, format="json")
        assert response.status_code == 200, response.content
        return [c["external_id"] for c in response.json()["items"]]

    def condition(field, operator, **value):
        return {"field": field, "operator": operator, "data_type": "string", "value": value}

    assert search(customer_ids=[alice.id, bob.id], order="asc") == ["a-1", "b-2"]
    assert search(external_id="b-2") == ["b-2"]
    assert search(external_ids=["a-1", "c-3"], order="asc") == ["a-1", "c-3"]
    assert search(email="carol@example.org") == ["c-3"]
    assert search(filters=[condition("name", "contains", string="archer")], order="asc") == ["a-1", "c-3"]
    assert search(filters=[condition("name", "not_contains", string="archer")]) == ["b-2"]
    assert search(filters=[condition("email", "eq", string="bob@example.com")]) == ["b-2"]
    assert search(filters=[condition("external_id", "in", array=["a-1", "b-2"])], order="asc") == ["a-1", "b-2"]
    assert search(filters=[condition("external_id", "not_in", array=["a-1", "b-2"])]) == ["c-3"]
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert len(search(filters=[condition("created_at", "before", date=future)])) == 3
    assert search(filters=[condition("created_at", "after", date=future)]) == []
    assert search(sort=[{"field": "name", "direction": "desc"}]) == ["c-3", "b-2", "a-1"]
    assert search(end_time="2000-01-01T00:00:00Z") == []


def test_search_pages_with_the_next_offset(api_client, three_customers):
    response = api_client.post("/v1/customers/search", {"limit": 2, "offset": 2, "order": "asc"}, format="json")

    assert response.json()["pagination"] == {"total": 3, "limit": 2, "offset": 4}
    assert [c["external_id"] for c in response.json()["items"]] == ["c-3"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"limit": "5"}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"limit": True}, "limit"),
        ({"customer_ids": "cust_1"}, "customer_ids"),
        ({"filters": [{"field": "password", "operator": "eq", "value": {"string": "x"}}]}, "filters.0.field"),
        ({"filters": [{"field": "name", "operator": "gt", "value": {"string": "x"}}]}, "filters.0.operator"),
        ({"filters": [{"field": "name", "operator": "before", "value": {"date": "2030-01-01T00:00:00Z"}}]}, "filters.field"),
        ({"filters": [{"field": "name", "operator": "contains", "value": {"array": ["x"]}}]}, "filters.value"),
        ({"filters": [{"field": "name", "operator": "in", "value": {"array": []}}]}, "filters.value"),
        ({"sort": [{"field": "name", "direction": "up"}]}, "sort.0.direction"),
        ({"sort": "name"}, "sort"),
    ],
)
def test_search_refuses_bad_bodies(api_client, three_customers, body, field):
    assert_error(api_client.post("/v1/customers/search", body, format="json"), 400, "validation_error", field)


def test_search_and_list_never_show_other_environments(api_client, make_customer, other_environment):
    sandbox = environment_get_or_create(tenant_name="acme", environment_name="sandbox")
    theirs = [make_customer(env=other_environment), make_customer(env=sandbox)]

    listed = api_client.get("/v1/customers").json()
    searched = api_client.post("/v1/customers/search", {"customer_ids": [c.id for c in theirs]}, format="json").json()

    assert listed["pagination"]["total"] == 0
    assert searched == {"items": [], "pagination": {"total": 0, "limit": 50, "offset": 50}}


# --- keys -----------------------------------------------------------------------------------


def test_a_read_only_key_may_read_and_search_but_not_write(read_only_client, customer):
    assert read_only_client.get(f"/v1/customers/{customer.id}").status_code == 200
    assert read_only_client.get("/v1/customers").status_code == 200
    assert read_only_client.post("/v1/customers/search", {}, format="json").status_code == 200
    assert_error(create(read_only_client, external_id="new"), 403, "permission_denied")
    assert_error(read_only_client.put(f"/v1/customers/{customer.id}", {"name": "x"}, format="json"), 403, "permission_denied")
    assert_error(read_only_client.delete(f"/v1/customers/{customer.id}"), 403, "permission_denied")
    assert Customer.objects.count() == 1
    customer.refresh_from_db()
    assert (customer.name, customer.status) == ("Ada Lovelace", "published")


def test_an_expired_key_is_unauthorized(environment, customer):
    from rest_framework.test import APIClient

    issued = api_key_create(environment=environment, expires_at=timezone.now() - timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=issued.raw_key)

    response = client.get(f"/v1/customers/{customer.id}")

    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}


def test_an_error_in_a_later_list_item_is_named(api_client):
    valid = {"field": "name", "operator": "eq", "value": {"string": "x"}}
    invalid = {"field": "name", "operator": "sideways", "value": {"string": "x"}}

    response = api_client.post("/v1/customers/search", {"filters": [valid, invalid]}, format="json")

    body = assert_error(response, 400, "validation_error")
    assert body["message"].startswith("filters.1.operator: ")
