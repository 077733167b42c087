"""Every error, including DRF's and Django's own, in the contract's shape:
``{"code", "message", "http_status_code", "details"?}`` (401 is ``{"error": "Unauthorized"}``).

Bodies are sent as raw bytes so the parser sees exactly what a hostile client would send; each
refused write is checked to have written nothing.
"""

import json

import pytest
from django.core.cache import cache
from django.urls import include, path
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.test import APIClient

from customers.models import Customer
from tenancy.services import api_key_revoke
from tests.api.routes import api_operations

pytestmark = pytest.mark.django_db


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def _crash(request):
    raise RuntimeError("secret detail that must not leak")


# Used by test_an_unexpected_exception_is_a_500_in_the_shape through pytest.mark.urls.
urlpatterns = [path("v1/crash", _crash), path("", include("billing.urls"))]


def post_raw(client, url, body: bytes | str, content_type="application/json"):
    return client.generic("POST", url, body, content_type=content_type)


def assert_error(response, status: int, code: str, *, message_contains: str = "") -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) <= {"code", "message", "http_status_code", "details"}
    assert body["code"] == code
    assert body["http_status_code"] == status
    assert message_contains in body["message"]
    return body


VALID = {"external_id": "ext-1", "name": "Ada"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"external_id": "ext-1", "name": ', "Malformed JSON"),
        ("{'external_id': 'ext-1'}", "Malformed JSON"),
        ('{"external_id": "ext-1", "name": "Ada"} trailing', "Malformed JSON"),
        (b'{"external_id": "\xff\xfe", "name": "Ada"}', "UTF-8"),
        ('{"external_id": "ext-1", "external_id": "ext-2", "name": "Ada"}', "Duplicate key 'external_id'"),
        ('{"external_id": "ext-1", "name": "Ada", "metadata": {"a": NaN}}', "NaN"),
        ('{"external_id": "ext-1", "name": "Ada", "metadata": {"a": Infinity}}', "Infinity"),
        ('{"external_id": "ext-1", "name": "Ada", "metadata": {"a": -Infinity}}', "Infinity"),
        ('{"external_id": "ext\\u0000-1", "name": "Ada"}', "NUL"),
        ('{"external_id": "ext-1", "name": "Ada", "metadata": {"k\\u0000": "v"}}', "NUL"),
        ('{"external_id": "ext-1", "name": "\\ud800"}', "surrogate"),
        ("[" * 10_000 + "]" * 10_000, "nested"),
        ('{"a":' * 10_000 + "1" + "}" * 10_000, "nested"),
        ('{"external_id": "ext-1", "name": "Ada", "metadata": ' + '{"a":' * 40 + '"x"' + "}" * 41, "nested"),
    ],
)
def test_unparseable_bodies_are_400_and_write_nothing(api_client, body, message):
    response = post_raw(api_client, "/v1/customers", body)

    assert_error(response, 400, "validation_error", message_contains=message)
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("body", ["\r\n", " ", "\t\n "])
def test_a_body_of_whitespace_alone_is_malformed_json(api_client, customer, body):
    # An empty body means "no filters" to a search; whitespace is not a JSON document, so a
    # search sent one is refused rather than read as an empty filter (Schemathesis found it).
    response = post_raw(api_client, "/v1/customers/search", body)

    assert_error(response, 400, "validation_error", message_contains="Malformed JSON")
    assert post_raw(api_client, "/v1/customers/search", "").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"external_id": "ext-1", "name": 1e3}, "name"),
        ({"external_id": True, "name": "Ada"}, "external_id"),
        ({"external_id": None, "name": "Ada"}, "external_id"),
        ({"external_id": {"a": 1}, "name": "Ada"}, "external_id"),
    ],
)
def test_wrong_json_types_are_400_naming_the_field(api_client, body, field):
    body = assert_error(post_raw(api_client, "/v1/customers", json.dumps(body)), 400, "validation_error")

    assert body["message"].startswith(f"{field}:")
    assert body["details"]["field"] == field
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("digits", ["١٢", "１２", "٣"])
def test_non_ascii_digits_are_refused(api_client, digits):
    response = post_raw(api_client, "/v1/customers/search", json.dumps({"limit": digits}))
    assert_error(response, 400, "validation_error", message_contains="limit")
    response = api_client.get("/v1/customers", {"offset": digits})
    assert_error(response, 400, "validation_error", message_contains="offset")
    response = post_raw(api_client, "/v1/customers/search", json.dumps({"start_time": f"20{digits}-01-01T00:00:00Z"}))
    assert_error(response, 400, "validation_error", message_contains="start_time")


def test_non_ascii_digits_in_credits_are_refused(api_client, wallet):
    body = {"credits_to_add": "١٠", "transaction_reason": "FREE_CREDIT_GRANT"}

    response = post_raw(api_client, f"/v1/wallets/{wallet.id}/top-up", json.dumps(body))

    assert_error(response, 400, "validation_error", message_contains="credits_to_add")
    wallet.refresh_from_db()
    assert wallet.credit_balance == 0 and wallet.transactions.count() == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_a_body_that_is_not_json_is_415(api_client, content_type):
    response = post_raw(api_client, "/v1/customers", json.dumps(VALID), content_type=content_type)

    assert_error(response, 415, "unsupported_media_type")
    assert Customer.objects.count() == 0


def test_a_json_content_type_with_a_charset_is_fine(api_client):
    response = post_raw(api_client, "/v1/customers", json.dumps(VALID), content_type="application/json; charset=utf-8")
    assert response.status_code == 201


@pytest.mark.parametrize("size_over", [1, 5 * 1024 * 1024])
def test_a_body_over_one_mebibyte_is_413(api_client, size_over):
    padding = "x" * (1024 * 1024 + size_over)
    body = json.dumps({**VALID, "metadata": {"pad": padding}})

    response = post_raw(api_client, "/v1/customers", body)

    assert_error(response, 413, "request_too_large", message_contains="1048576 bytes")
    assert Customer.objects.count() == 0


def test_a_body_just_under_the_limit_is_read(api_client):
    body = json.dumps({**VALID, "metadata": {"pad": "x" * 900}, "ignored": "y" * (1024 * 1024 - 2000)})
    assert len(body.encode()) < 1024 * 1024

    assert api_client.generic("POST", "/v1/customers", body, content_type="application/json").status_code == 201


@pytest.mark.parametrize(
    "url",
    ["/v1/nope", "/v1/customers/", "/v1/wallets/", "/v1/customers/cust_1/nope", "/v1/", "/v1"],
)
def test_unknown_routes_under_v1_are_json_404s_never_redirects(api_client, url):
    for method in ("get", "post", "delete"):
        response = getattr(api_client, method)(url)
        body = assert_error(response, 404, "not_found")
        assert url in body["message"]


def test_a_wrong_method_is_a_json_405_with_allow(api_client, customer):
    response = api_client.patch(f"/v1/customers/{customer.id}", {"name": "x"}, format="json")

    assert_error(response, 405, "method_not_allowed", message_contains="PATCH")
    assert set(response["Allow"].replace(" ", "").split(",")) >= {"GET", "PUT", "DELETE"}
    assert_error(api_client.delete("/v1/customers/search"), 405, "method_not_allowed")
    customer.refresh_from_db()
    assert customer.name == "Ada Lovelace"


def test_throttling_is_a_429_in_the_shape_with_retry_after(settings, api_client, api_key, other_tenant_client):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_key": "3/min"}}
    cache.delete_many([f"throttle_api_key_{api_key.api_key.id}"])

    statuses = [api_client.get("/v1/customers").status_code for _ in range(4)]
    refused = api_client.get("/v1/customers")

    assert statuses == [200, 200, 200, 429]
    body = assert_error(refused, 429, "too_many_requests")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert body["details"]["retry_after"] == int(refused["Retry-After"])
    # The limit is per key: another key is unaffected.
    assert other_tenant_client.get("/v1/customers").status_code == 200


@pytest.mark.parametrize("header", [None, "", "sk_wrong", "x" * 5000, " sk_padded "])
def test_a_missing_or_unknown_key_is_401_unauthorized(header, customer):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_X_API_KEY=header)

    for response in (
        client.get("/v1/customers"),
        client.get(f"/v1/customers/{customer.id}"),
        client.post("/v1/customers", VALID, format="json"),
        client.delete(f"/v1/customers/{customer.id}"),
    ):
        assert response.status_code == 401
        assert response.json() == {"error": "Unauthorized"}
    assert Customer.objects.count() == 1


def test_a_revoked_key_is_refused_on_the_next_request(api_client, api_key):
    assert api_client.get("/v1/customers").status_code == 200

    api_key_revoke(api_key.api_key)

    response = api_client.get("/v1/customers")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}


def test_the_key_is_not_read_from_the_query_string(api_key):
    response = APIClient().get("/v1/customers", {"x-api-key": api_key.raw_key, "api_key": api_key.raw_key})
    assert response.status_code == 401


def test_a_read_only_key_writing_is_403_permission_denied(read_only_client, customer):
    response = read_only_client.put(f"/v1/customers/{customer.id}", {"name": "x"}, format="json")

    assert_error(response, 403, "permission_denied", message_contains="read-only")
    customer.refresh_from_db()
    assert customer.name == "Ada Lovelace"


@pytest.mark.urls(__name__)
def test_an_unexpected_exception_is_a_500_in_the_shape(client, caplog):
    response = client.get("/v1/crash")

    assert_error(response, 500, "internal_error")
    assert b"secret detail" not in response.content
    assert "secret detail" in caplog.text  # logged for us, not shown to the caller


def test_options_on_every_route_answers_without_a_crash(api_client, anonymous_client):
    urls = {route.format(id="cust_nope", external_id="nope") for _, route in api_operations()}
    for url in sorted(urls):
        response = api_client.options(url)
        assert response.status_code == 200, (url, response.content)
        assert set(response.json()) == {"name", "renders", "parses"}
        if url != "/v1/openapi.json":
            assert anonymous_client.options(url).json() == {"error": "Unauthorized"}


@pytest.mark.parametrize(
    "query",
    ["limit=abc&limit=5", "limit=", "offset=1&offset=2", "start_time=", "order=asc&order=desc"],
)
def test_query_parameters_given_twice_or_empty_are_refused(api_client, wallet, query):
    for url in ("/v1/customers", "/v1/wallets", f"/v1/wallets/{wallet.id}/transactions"):
        if "start_time" in query and url == "/v1/wallets":
            continue  # no such parameter there
        response = api_client.get(f"{url}?{query}")
        body = assert_error(response, 400, "validation_error")
        assert body["details"]["field"] == query.split("=")[0], url
    twice = api_client.get(f"/v1/customers/wallets?id={wallet.customer_id}&id=cust_other")
    assert_error(twice, 400, "validation_error", message_contains="id")
