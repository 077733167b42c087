"""The lean parts of the API's request path answer exactly as DRF's own would.

core.api.renderers encodes plain bodies with orjson, and core.api.serializers copies leaf fields
shallowly. Each is checked here against DRF's behaviour on the same input, so a difference fails
here first.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rest_framework import renderers as drf_renderers

from core.api.renderers import JSONRenderer
from wallets.api.serializers import CustomerWalletsQuerySerializer, WalletTopUpInputSerializer

BODIES = [
    {"text": 'line\nbreak\ttab \x01 \x1f \x7f quote" backslash\\ slash/ é 🙂', "js": "a\u2028b\u2029c"},
    {"list": [1, -2, 2**63 - 1, 2**70, None, True, False, "", [], {}]},
    [{"nested": {"deeper": ["x"]}}],
    "a string",
    {"decimal": Decimal("1.10")},  # not plain: DRF's encoder writes it
    {"time": datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC)},  # likewise
    {1: "integer key"},
]


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_renderer_writes_the_bytes_drf_writes(body):
    assert JSONRenderer().render(body, "application/json", {}) == drf_renderers.JSONRenderer().render(
        body, "application/json", {}
    )


def test_renderer_leaves_indented_output_to_drf():
    body = {"a": [1]}
    indented = JSONRenderer().render(body, "application/json; indent=2", {})
    assert indented == drf_renderers.JSONRenderer().render(body, "application/json; indent=2", {})
    assert b"\n" in indented


def test_a_wallet_response_is_byte_identical_to_drf_rendering(api_client, wallet, credit):
    credit("10.50")
    body = {
        "credits_to_add": "0.25",
        "transaction_reason": "FREE_CREDIT_GRANT",
        "idempotency_key": "lean-1",
        "metadata": {"note": "é\u2028"},
    }
    response = api_client.post(f"/v1/wallets/{wallet.id}/top-up", body, format="json")
    assert response.status_code == 200
    assert response.json()["credit_balance"] == "10.75"
    assert response.content == drf_renderers.JSONRenderer().render(json.loads(response.content), "application/json", {})


def test_serializers_made_one_after_another_keep_their_own_fields():
    first = WalletTopUpInputSerializer(data={"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT"})
    second = WalletTopUpInputSerializer(data={"credits_to_add": "x", "transaction_reason": "FREE_CREDIT_GRANT"})
    assert first.is_valid() and not second.is_valid()
    assert set(second.errors) == {"credits_to_add"}
    for name in first.fields:
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert first.fields[name] is not second.fields[name]
    assert WalletTopUpInputSerializer._declared_fields["idempotency_key"].parent is None  # never bound itself


def test_query_serializer_still_refuses_a_repeated_parameter(api_client):
    response = api_client.get("/v1/customers/wallets?lookup_key=a&lookup_key=b")
    assert response.status_code == 400
    assert "lookup_key" in response.content.decode()
    assert CustomerWalletsQuerySerializer(data={"lookup_key": "a"}).is_valid()
