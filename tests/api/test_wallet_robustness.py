"""No wallet route answers 5xx, whatever the input, and a refused request writes nothing.

The inputs are derived from the OpenAPI document: every documented body member (and the members
of its nested objects) and every documented query parameter gets a corpus of odd values.
"""

import json
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.test_wallet_contract import assert_conforms, openapi
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db

# Each value stands for a family: null, the wrong JSON type, out of range, blank, too long, an
# object where a scalar belongs, a number no column holds. (Per-field tests cover the rest.)
ODD_JSON = [None, True, -1, "", "x" * 300, {"a": [1, {"b": None}]}, "1e400"]
ODD_QUERY = ["", "x" * 300, "-1", "1e400", "%00", "2030-02-30T00:00:00Z"]

# A valid body per operation, so odd values reach the checks behind the first one.
BASE_BODIES = {
    ("post", "/v1/wallets"): lambda ctx: {"customer_id": ctx["customer"].id, "currency": "usd"},
    ("put", "/v1/wallets/{id}"): lambda ctx: {},
    ("post", "/v1/wallets/{id}/top-up"): lambda ctx: {"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT"},
    ("post", "/v1/wallets/{id}/debit"): lambda ctx: {
        "credits": "1",
        "transaction_reason": "MANUAL_BALANCE_DEBIT",
        "idempotency_key": "fuzz",
    },
    ("post", "/v1/wallets/{id}/freeze"): lambda ctx: {"reason": "fuzz"},
    ("post", "/v1/wallets/{id}/unfreeze"): lambda ctx: {"reason": "fuzz"},
    ("post", "/v1/wallets/search"): lambda ctx: {},
    ("post", "/v1/wallets/transactions/search"): lambda ctx: {},
}
QUERY_ROUTES = [
    "/v1/wallets",
    "/v1/wallets/{id}/transactions",
    "/v1/wallets/{id}/balance/real-time",
    "/v1/customers/wallets",
]


def _component(schema: dict) -> dict:
    """Follow a $ref (possibly under anyOf with null) to the object schema it names."""
    for branch in [schema, *schema.get("anyOf", [])]:
        if "$ref" in branch:
            return openapi()["components"]["schemas"][branch["$ref"].rsplit("/", 1)[1]]
    return schema


def _member_paths(schema: dict, *, nested: bool, prefix=()) -> list[tuple[str, ...]]:
    """Every documented member of a request body and, if ``nested``, of its nested objects (one level)."""
    paths = []
    for name, member in _component(schema).get("properties", {}).items():
        paths.append((*prefix, name))
        inner = _component(member)
        if nested and not prefix and inner.get("properties"):
            paths.extend(_member_paths(inner, nested=True, prefix=(*prefix, name)))
    return paths


def _with(body: dict, path: tuple[str, ...], value) -> dict:
    body = json.loads(json.dumps(body))
    target = body
    for name in path[:-1]:
        if not isinstance(target.get(name), dict):
            target[name] = {}
        target = target[name]
    target[path[-1]] = value
    return body


WRITES = ("INSERT", "UPDATE", "DELETE")


def _send(send):
    """Make the request, capturing the SQL it ran."""
    with CaptureQueriesContext(connection) as queries:
        response = send()
    return response, [query["sql"] for query in queries.captured_queries]


def _kept_writes(statements) -> list[str]:
    """The writes among ``statements`` that were not rolled back.

    A write may be tried and undone: a ledger write meets an idempotency key already used, and
    its transaction (a savepoint inside the test's) rolls back before the 409.
    """
    writes, marks = [], {}
    for sql in statements:
        words = sql.split()
        if words[:1] == ["SAVEPOINT"]:
            marks[words[1]] = len(writes)
        elif words[:3] == ["ROLLBACK", "TO", "SAVEPOINT"]:
            del writes[marks[words[3]] :]
        elif sql.lstrip().upper().startswith(WRITES) and "tenancy_apikey" not in sql:
            writes.append(sql)  # the key's last-used stamp is bookkeeping, not data
    return writes


def _check(response, statements) -> None:
    assert response.status_code < 500, response.content
    assert response.status_code in (200, 400, 404, 409), response.content
    assert_conforms(response)
    if response.status_code != 200:
        writes = _kept_writes(statements)
        assert not writes, f"a refused request wrote: {writes[0][:200]} ({response.content!r})"


@pytest.fixture
def ctx(customer, make_wallet):
    return {"customer": customer, "wallet": make_wallet()}


@pytest.mark.parametrize("method, template", sorted(BASE_BODIES), ids=lambda value: value)
def test_odd_body_members_never_give_a_5xx(api_client, ctx, method, template):
    operation = openapi()["paths"][template][method]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    path = template.replace("{id}", ctx["wallet"].id)
    base = BASE_BODIES[(method, template)](ctx)
    # The nested settings objects (auto_topup, alert_settings...) are shared by create and update.
    members = _member_paths(schema, nested=(method, template) == ("post", "/v1/wallets"))
    assert members, template
    for member in members:
        for value in ODD_JSON:
            body = json.dumps(_with(base, member, value))
            _check(*_send(lambda body=body: getattr(api_client, method)(path, data=body, content_type="application/json")))


@pytest.mark.parametrize("template", QUERY_ROUTES)
def test_odd_query_parameters_never_give_a_5xx(api_client, ctx, template):
    operation = openapi()["paths"][template]["get"]
    path = template.replace("{id}", ctx["wallet"].id)
    names = [parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "query"]
    assert names, template
    for name in names:
        for value in ODD_QUERY:
            encoded = value if value == "%00" else quote(value)
            _check(*_send(lambda url=f"{path}?{name}={encoded}": api_client.get(url)))


@pytest.mark.parametrize(
    "raw",
    ["null", "[]", '"x"', "{", '{"a":1,"a":2}', '{"a":' * 40 + "1" + "}" * 40],
)
def test_odd_whole_bodies_never_give_a_5xx(api_client, ctx, raw):
    wallet = ctx["wallet"]
    for method, template in sorted(BASE_BODIES):
        path = template.replace("{id}", wallet.id)
        send = getattr(api_client, method)
        _check(*_send(lambda send=send, path=path: send(path, data=raw, content_type="application/json")))


def test_wrong_content_type_is_refused_in_the_error_shape(api_client, ctx):
    wallet = ctx["wallet"]
    response = api_client.post(
        f"/v1/wallets/{wallet.id}/top-up", data="credits_to_add=5", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["http_status_code"] == 415
    assert not WalletTransaction.objects.exists()
