"""The OpenAPI document at /v1/openapi.json and the Swagger UI / ReDoc pages that render it.

Checks that the document is valid OpenAPI 3, public, covers every /v1 operation, declares the
x-api-key scheme and the shared error shape, and never types money as a JSON number; and that the
documentation pages load their assets from this server, not a CDN.
"""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

from tests.api.routes import api_operations

pytestmark = pytest.mark.django_db

PUBLIC_OPERATIONS = {("GET", "/v1/openapi.json")}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method.upper(), path, operation


def _walk(node, where=""):
    """Every (location, schema object) in a JSON document."""
    if isinstance(node, dict):
        yield where, node
        for key, child in node.items():
            yield from _walk(child, f"{where}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _walk(child, f"{where}/{index}")


def test_the_document_is_valid_openapi_3_and_needs_no_key(schema, anonymous_client):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert anonymous_client.get("/v1/openapi.json").status_code == 200


def test_every_v1_operation_is_documented(schema):
    served = set(api_operations()) - PUBLIC_OPERATIONS
    documented = {(method, path) for method, path, _ in _operations(schema)}

    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"


def test_operations_require_the_x_api_key_header(schema):
    scheme = schema["components"]["securitySchemes"]["ApiKeyAuth"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "x-api-key"}
    for method, path, operation in _operations(schema):
        assert operation.get("security") == [{"ApiKeyAuth": []}], (method, path)


def test_errors_share_one_documented_shape(schema):
    error = schema["components"]["schemas"]["ErrorResponse"]
    assert set(error["required"]) == {"code", "message", "http_status_code"}
    assert error["properties"]["http_status_code"]["type"] == "integer"
    assert schema["components"]["schemas"]["UnauthorizedResponse"]["required"] == ["error"]
    for method, path, operation in _operations(schema):
        responses = operation["responses"]
        for status, component in (("400", "ErrorResponse"), ("401", "UnauthorizedResponse"), ("429", "ErrorResponse")):
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{component}", (method, path, status)


def test_writes_document_the_read_only_refusal_and_searches_do_not(schema):
    for method, path, operation in _operations(schema):
        if method == "GET" or path.endswith(("/search", "/debit/preview")):  # POSTs that only read
            assert "403" not in operation["responses"], (method, path)
        else:
            assert "403" in operation["responses"], (method, path)


# The SDK accepts exactly one success status per method: 201 for these creates (its
# create_customer and create_payment), 204 for delete_customer, 200 everywhere else.
# Our own routes beyond the SDK follow the same rule: a create answers 201 (a transfer or a hold, issue 14).
SDK_SUCCESS = {
    ("POST", "/v1/customers"): "201",
    ("POST", "/v1/payments"): "201",
    ("DELETE", "/v1/customers/{id}"): "204",
    ("POST", "/v1/wallets/transfers"): "201",
    ("POST", "/v1/wallets/{id}/holds"): "201",
}


def test_success_statuses_are_what_the_sdk_accepts(schema):
    for method, path, operation in _operations(schema):
        expected = SDK_SUCCESS.get((method, path), "200")
        successes = {code for code in operation["responses"] if code.startswith("2")}
        assert successes == {expected}, (method, path)


def test_response_money_is_never_a_json_number(schema):
    """Decimals travel as strings; a ``number`` in a response schema would invite floats."""
    offenders = []
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request"):
            continue  # requests may accept JSON numbers (parsed exactly)
        for where, node in _walk(component, name):
            if node.get("type") == "number" or (node.get("format") == "decimal" and node.get("type") != "string"):
                offenders.append(where)
    assert offenders == []


def test_customer_response_lists_the_sdk_fields(schema):
    properties = schema["components"]["schemas"]["CustomerResponse"]["properties"]
    for field in ("id", "external_id", "name", "email", "metadata", "status", "tenant_id", "environment_id"):
        assert field in properties
    assert properties["created_at"] == {**properties["created_at"], "type": "string", "format": "date-time"}
    assert properties["metadata"]["additionalProperties"] == {"type": "string"}


@pytest.mark.parametrize(("url", "asset"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_documentation_pages_load_their_assets_from_this_server(anonymous_client, url, asset):
    response = anonymous_client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    # Swagger UI's start-up script is a file of its own (?script), so the CSP allows no inline script.
    scripts = [anonymous_client.get(source).content.decode() for source in sources if "?script" in source]
    assert any("/v1/openapi.json" in text for text in [html, *scripts])
    assert any(source.endswith(asset) for source in sources)
    assert all(source.startswith("/") for source in sources), sources
    assert "cdn" not in html.lower()
    for source in sources:
        if source.startswith("/static/"):
            assert finders.find(source.removeprefix("/static/")), source


def test_the_schema_generates_without_warnings(tmp_path):
    """A warning means a route the generator had to guess about (a path parameter's type, an
    unnamed enum, a response it could not resolve): the document would then not describe it."""
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "openapi.yaml"))
