"""POST /v1/wallets/transfers and GET /v1/wallets/transfers/{id} (issue 14, part 2).

``call`` checks each answer against the OpenAPI document, so the documented shape is the one sent.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api.test_wallet_contract import assert_decimals_are_strings, assert_error, call
from wallets import services
from wallets.models import Wallet, WalletTransaction, WalletTransfer

pytestmark = pytest.mark.django_db

URL = "/v1/wallets/transfers"


@pytest.fixture
def promo(make_wallet):
    return make_wallet(wallet_type="PROMOTIONAL")


@pytest.fixture
def funded(wallet, credit):
    credit(30, reason="PURCHASED_CREDIT_DIRECT", priority=1, expiry_date=timezone.now() + timedelta(days=5))
    credit(20)
    return wallet


def body(source, destination, credits="40", key="x1", **extra):
    return {"from_wallet_id": source.id, "to_wallet_id": destination.id, "credits": credits, "idempotency_key": key, **extra}


def test_transfer_answers_201_with_its_rows_and_both_wallets(api_client, funded, promo, api_key):
    data = call(api_client, "post", URL, body(funded, promo, description="rebalance", metadata={"ticket": "9"}), status=201)
    assert data["id"].startswith("xfer_")
    assert (data["from_wallet_id"], data["to_wallet_id"], data["credits"]) == (funded.id, promo.id, "40")
    assert data["customer_id"] == funded.customer_id and data["created_by"] == api_key.api_key.id
    debit = data["debit_transaction"]
    assert (debit["type"], debit["transaction_reason"], debit["credit_amount"]) == ("debit", "TRANSFER_OUT", "40")
    assert (debit["reference_type"], debit["reference_id"], debit["idempotency_key"]) == ("TRANSFER", data["id"], "x1")
    assert debit["metadata"]["ticket"] == "9" and debit["description"] == "rebalance"
    credits = data["credit_transactions"]
    assert [(c["transaction_reason"], c["credit_amount"], c["priority"]) for c in credits] == [
        ("TRANSFER_IN_PURCHASED", "30", 1),
        ("TRANSFER_IN", "10", None),
    ]
    assert credits[0]["expiry_date"] is not None and credits[1]["expiry_date"] is None
    assert all(c["parent_transaction_id"] == debit["id"] and c["reference_id"] == data["id"] for c in credits)
    assert debit["metadata"]["transfer_credit_tx_ids"] == ",".join(c["id"] for c in credits)
    assert (data["from_wallet"]["credit_balance"], data["to_wallet"]["credit_balance"]) == ("10", "40")
    assert data["to_wallet"]["credits_available_breakdown"] == {"purchased": "30", "free": "10"}
    assert data["from_wallet"]["credits_available_breakdown"] == {"purchased": "0", "free": "10"}
    assert_decimals_are_strings(data)
    # Read back: the same body.
    assert call(api_client, "get", f"{URL}/{data['id']}") == data


def test_replay_is_the_same_answer_and_another_body_is_409(api_client, funded, promo):
    first = call(api_client, "post", URL, body(funded, promo), status=201)
    again = call(api_client, "post", URL, body(funded, promo), status=201)
    assert again == first
    changed = call(api_client, "post", URL, body(funded, promo, credits="41"), status=409)
    assert_error(changed, "already_exists", 409)
    assert WalletTransfer.objects.count() == 1


def test_the_key_may_come_in_the_header(api_client, funded, promo):
    request = body(funded, promo)
    del request["idempotency_key"]
    missing = call(api_client, "post", URL, request, status=400)
    assert_error(missing, "validation_error", 400, field="idempotency_key")
    call(api_client, "post", URL, request, status=201, headers={"Idempotency-Key": "h1"})
    assert WalletTransaction.objects.get(transaction_reason="TRANSFER_OUT").idempotency_key == "h1"


def test_insufficient_credits_is_the_debit_error(api_client, funded, promo):
    data = call(api_client, "post", URL, body(funded, promo, credits="50.5"), status=400)
    assert_error(data, "invalid_operation", 400, message="Insufficient balance")
    assert data["details"]["available_credits"] == "50"
    assert Wallet.objects.get(pk=promo.pk).credit_balance == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"credits": "0"}, "credits"),
        ({"credits": "-3"}, "credits"),
        ({"credits": "ten"}, "credits"),
        ({"credits": "1e400"}, "credits"),
        ({"from_wallet_id": 7}, "from_wallet_id"),
        ({"to_wallet_id": None}, "to_wallet_id"),
        ({"metadata": {"a": {"b": 1}}}, "metadata"),
        ({"idempotency_key": "wallet_01JAAAAAAAAAAAAAAAAAAAAAAA"}, "idempotency_key"),
    ],
)
def test_bad_input_names_the_field(api_client, funded, promo, change, field):
    data = call(api_client, "post", URL, {**body(funded, promo), **change}, status=400)
    assert data["code"] == "validation_error"
    assert data["details"]["field"].startswith(field), data
    assert not WalletTransfer.objects.exists()


def test_a_pair_that_may_not_transfer_names_to_wallet_id(api_client, funded, make_wallet, make_customer):
    for destination in (funded, make_wallet(make_customer()), make_wallet(currency="eur")):
        data = call(api_client, "post", URL, body(funded, destination), status=400)
        assert_error(data, "validation_error", 400, field="to_wallet_id")


def test_frozen_wallet_is_refused(api_client, funded, promo):
    services.wallet_freeze(promo, reason="audit")
    data = call(api_client, "post", URL, body(funded, promo), status=400)
    assert_error(data, "invalid_operation", 400, message="frozen")


def test_unknown_and_foreign_wallets_and_transfers_are_404(api_client, funded, promo, other_tenant_client):
    assert_error(call(api_client, "post", URL, body(funded, Wallet(pk="wallet_nope")), status=404), "not_found", 404)
    made = call(api_client, "post", URL, body(funded, promo), status=201)
    # Another tenant's key sees neither the wallets nor the transfer.
    assert_error(call(other_tenant_client, "post", URL, body(funded, promo, key="x2"), status=404), "not_found", 404)
    assert_error(call(other_tenant_client, "get", f"{URL}/{made['id']}", status=404), "not_found", 404)
    assert_error(call(api_client, "get", f"{URL}/xfer_nope", status=404), "not_found", 404)


def test_read_only_key_may_read_but_not_transfer(read_only_client, api_client, funded, promo):
    made = call(api_client, "post", URL, body(funded, promo), status=201)
    assert call(read_only_client, "get", f"{URL}/{made['id']}")["id"] == made["id"]
    call(read_only_client, "post", URL, body(funded, promo, key="ro"), status=403)
