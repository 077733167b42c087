"""Wire contract of the wallet routes, and the helpers the other wallet API tests use.

``call`` sends a request, checks its status, and validates the body against the response schema
the OpenAPI document declares for that route and status, so every test is also a schema test:
a field missing, a decimal sent as a number or a timestamp without ``Z`` fails it.
"""

import functools
import json
import re
from decimal import Decimal

import jsonschema
import pytest
from django.urls import Resolver404, resolve
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from wallets import services
from wallets.api import render, serializers
from wallets.models import Wallet

pytestmark = pytest.mark.django_db

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
DECIMAL = re.compile(r"-?\d+(\.\d*[1-9])?")
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time")
def _is_utc_timestamp(value) -> bool:
    return not isinstance(value, str) or TIMESTAMP.fullmatch(value) is not None


def _json_schema(node):
    """OpenAPI 3.0's ``nullable`` as JSON Schema, so jsonschema can check it."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


@functools.cache
def openapi() -> dict:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return _json_schema(json.loads(OpenApiJsonRenderer().render(schema)))


def _declared_schema(response) -> dict:
    """The response schema the OpenAPI document gives this route, method and status.

    Requests no operation answers (an unrouted path, an unsupported method) must still get an
    error in the contract's shape.
    """
    try:
        route = resolve(response.wsgi_request.path).route
    except Resolver404:
        route = None
    operation = None
    if route is not None:
        template = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        operation = openapi()["paths"].get(template, {}).get(response.wsgi_request.method.lower())
    if operation is None:
        assert response.status_code in (404, 405), response.status_code
        return {"$ref": "#/components/schemas/ErrorResponse"}
    declared = operation["responses"].get(str(response.status_code))
    assert declared is not None, f"{template} does not declare status {response.status_code}"
    return declared["content"]["application/json"]["schema"]


@functools.cache
def _validator(schema_json: str) -> jsonschema.Draft202012Validator:
    schema = {**json.loads(schema_json), "components": openapi()["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=FORMATS)


def assert_conforms(response) -> None:
    """The body matches the schema the OpenAPI document declares for it."""
    validator = _validator(json.dumps(_declared_schema(response), sort_keys=True))
    errors = sorted(validator.iter_errors(response.json()), key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def call(client, method: str, path: str, body=None, *, status: int = 200, headers: dict | None = None):
    """Send a request (a str body is sent as raw JSON text), check status and schema, return the JSON."""
    kwargs = {"headers": headers or {}}
    if isinstance(body, str):
        kwargs.update(data=body, content_type="application/json")
    elif body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert_conforms(response)
    return response.json()


def assert_error(body: dict, code: str, status: int, *, field: str | None = None, message: str | None = None) -> None:
    assert body["code"] == code
    assert body["http_status_code"] == status
    assert isinstance(body["message"], str) and body["message"]
    if field is not None:
        assert body["details"]["field"] == field, body
    if message is not None:
        assert message in body["message"], body


def assert_decimals_are_strings(value, path="") -> None:
    """No JSON number anywhere in a wallet body except the documented integers."""
    integers = {"priority", "value", "total", "limit", "offset", "http_status_code"}
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                assert key in integers, f"{path}.{key} is a JSON number: {item!r}"
            assert_decimals_are_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_decimals_are_strings(item, f"{path}[{index}]")


# ------------------------------------------------------------------------------------------------


def _fields(serializer_class) -> set[str]:
    return set(serializer_class().fields)


def test_render_and_response_serializers_name_the_same_fields(wallet, credit):
    # given a wallet with a credit and a debit
    row = credit(5)
    debit = services.wallet_debit(wallet, credits=Decimal("2"), idempotency_key="contract").transaction
    data = render.one_wallet_data(Wallet.objects.get(pk=wallet.pk))
    # then what render builds is exactly what the documentation promises
    assert set(data) == _fields(serializers.WalletResponseSerializer)
    assert set(render.with_real_time_balance(data, wallet)) == _fields(serializers.WalletBalanceResponseSerializer)
    documented = _fields(serializers.WalletTransactionResponseSerializer) - {"customer", "wallet", "created_by_user"}
    # a debit carries its consumption breakdown, a credit omits it
    assert set(render.transaction_data(debit)) == documented
    assert set(render.transaction_data(row)) == documented - {"consumption_breakdown"}
    (consumed,) = render.transaction_data(debit)["consumption_breakdown"]
    assert set(consumed) == _fields(serializers.ConsumedLotResponseSerializer)


def test_wallet_response_carries_the_union_of_seed_and_sdk_fields(api_client, wallet):
    body = call(api_client, "get", f"/v1/wallets/{wallet.id}")
    seed_001 = {
        "alert_config",
        "alert_enabled",
        "alert_state",
        "auto_topup",
        "balance",
        "config",
        "conversion_rate",
        "created_at",
        "created_by",
        "credit_balance",
        "credits_available_breakdown",
        "currency",
        "customer_id",
        "description",
        "environment_id",
        "id",
        "metadata",
        "name",
        "status",
        "tenant_id",
        "topup_conversion_rate",
        "updated_at",
        "updated_by",
        "wallet_status",
        "wallet_type",
    }
    seed_004 = {"auto_topup_amount", "auto_topup_min_balance", "auto_topup_trigger"}
    sdk = {"alert_settings"}
    assert seed_001 | seed_004 | sdk <= set(body)
    assert_decimals_are_strings(body)


def test_openapi_documents_decimals_as_strings_and_enums():
    components = openapi()["components"]["schemas"]
    wallet = components["WalletResponse"]["properties"]
    for name in ("balance", "credit_balance", "conversion_rate", "topup_conversion_rate"):
        assert wallet[name]["type"] == "string" and "pattern" in wallet[name]
    status = wallet["wallet_status"]
    enum = status.get("enum") or components[status["$ref"].rsplit("/", 1)[1]]["enum"]
    assert set(enum) == {"active", "frozen", "closed"}
    top_up = components["TopUpWalletRequest"]["properties"]
    # requests take decimals as strings or exact numbers
    assert {branch["type"] for branch in top_up["credits_to_add"]["anyOf"][0]["oneOf"]} == {"string", "number"}
    assert "transaction_reason" in components["TopUpWalletRequest"]["required"]


def test_every_wallet_route_is_documented():
    paths = openapi()["paths"]
    expected = {
        ("post", "/v1/wallets"),
        ("get", "/v1/wallets"),
        ("post", "/v1/wallets/search"),
        ("get", "/v1/wallets/{id}"),
        ("put", "/v1/wallets/{id}"),
        ("post", "/v1/wallets/{id}/top-up"),
        ("post", "/v1/wallets/{id}/debit"),
        ("post", "/v1/wallets/{id}/terminate"),
        ("post", "/v1/wallets/{id}/freeze"),
        ("post", "/v1/wallets/{id}/unfreeze"),
        ("get", "/v1/wallets/{id}/balance/real-time"),
        ("get", "/v1/wallets/{id}/balance/real-time-cached"),
        ("get", "/v1/wallets/{id}/transactions"),
        ("post", "/v1/wallets/transactions/search"),
        ("get", "/v1/customers/wallets"),
        ("get", "/v1/customers/{id}/wallets"),
    }
    documented = {(method, path) for path, item in paths.items() for method in item}
    assert expected <= documented


def test_format_decimal_wire_examples():
    # the three examples the contract gives
    assert render.format_decimal(Decimal("1500.000000000")) == "1500"
    assert render.format_decimal(Decimal("0.500000000")) == "0.5"
    assert render.format_decimal(Decimal("-50")) == "-50"
    assert DECIMAL.fullmatch("1500") and not DECIMAL.fullmatch("1.50")
