"""POST /v1/wallets/{id}/debit/preview through HTTP: the plan, the refusals, the debit's checks, and agreement with the debit."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from wallets import services
from wallets.models import CreditAllocation
from wallets.services import holds

pytestmark = pytest.mark.django_db

D = Decimal


def preview(client, wallet_id, **body):
    return client.post(f"/v1/wallets/{wallet_id}/debit/preview", body, format="json")


@pytest.fixture
def lots(wallet, credit):
    """Three lots whose consumption order differs from their creation order."""
    later = timezone.now() + timedelta(days=30)
    sooner = timezone.now() + timedelta(days=3)
    plain = credit("50")
    late = credit("20", expiry_date=later)
    soon = credit("10", expiry_date=sooner, reason="PURCHASED_CREDIT_DIRECT")
    return soon, late, plain


def test_lots_in_consumption_order_and_the_balance_after(api_client, wallet, lots):
    soon, late, plain = lots
    response = preview(api_client, wallet.id, credits="45")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["would_succeed"] is True and body["error"] is None
    assert (body["credits"], body["transaction_reason"]) == ("45", "MANUAL_BALANCE_DEBIT")
    assert (body["credit_balance"], body["credit_balance_before"], body["credit_balance_after"]) == ("80", "80", "35")
    assert (body["held_credits"], body["available_credit_balance"], body["overdraft_credits"]) == ("0", "80", "0")
    assert body["expiring_credits"] == "0"
    assert [
        (lot["credit_transaction_id"], lot["credits"], lot["credits_available_before"], lot["credits_available_after"])
        for lot in body["consumption"]
    ] == [(soon.id, "10", "10", "0"), (late.id, "20", "20", "0"), (plain.id, "15", "50", "35")]
    first = body["consumption"][0]
    assert first["purchased"] is True and first["transaction_reason"] == "PURCHASED_CREDIT_DIRECT"
    assert first["expiry_date"] is not None and first["priority"] is None
    assert body["consumption"][2]["purchased"] is False and body["consumption"][2]["expiry_date"] is None


def test_equals_what_the_debit_then_takes(api_client, wallet, lots):
    planned = preview(api_client, wallet.id, credits="37.5").json()
    debit = api_client.post(
        f"/v1/wallets/{wallet.id}/debit",
        {"credits": "37.5", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "after-preview"},
        format="json",
    )
    assert debit.status_code == 200
    row = api_client.get(f"/v1/wallets/{wallet.id}/transactions").json()["items"][0]
    assert row["credit_balance_before"] == planned["credit_balance_before"]
    assert row["credit_balance_after"] == planned["credit_balance_after"]
    assert [(item["credit_transaction_id"], item["credits"]) for item in row["consumption_breakdown"]] == [
        (lot["credit_transaction_id"], lot["credits"]) for lot in planned["consumption"]
    ]


def test_insufficient_balance_answers_the_debits_error(api_client, wallet, credit):
    credit("5")
    holds.hold_place(wallet, credits=D("2"), idempotency_key="h")  # held credits are not spendable
    body = preview(api_client, wallet.id, credits="4").json()
    debit = api_client.post(
        f"/v1/wallets/{wallet.id}/debit",
        {"credits": "4", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "d"},
        format="json",
    )
    assert debit.status_code == 400
    assert body["would_succeed"] is False and body["credit_balance_after"] is None
    assert body["error"] == debit.json()
    assert body["error"]["details"]["available_credits"] == "3"
    assert (body["held_credits"], body["available_credit_balance"]) == ("2", "3")
    assert [lot["credits"] for lot in body["consumption"]] == ["3"]


def test_manual_debit_shows_the_overdraft(api_client, wallet, credit):
    lot = credit("5")
    body = preview(api_client, wallet.id, credits="8", transaction_reason="MANUAL_BALANCE_DEBIT").json()
    assert body["would_succeed"] is True
    assert (body["credit_balance_after"], body["overdraft_credits"]) == ("-3", "3")
    assert [(item["credit_transaction_id"], item["credits"]) for item in body["consumption"]] == [(lot.id, "5")]


def test_a_frozen_wallet_answers_wallet_is_frozen(api_client, wallet, credit):
    credit("5")
    services.wallet_freeze(wallet, reason="test")
    body = preview(api_client, wallet.id, credits="1").json()
    assert body["would_succeed"] is False
    assert (body["error"]["code"], body["error"]["message"], body["error"]["http_status_code"]) == (
        "invalid_operation",
        "Wallet is frozen",
        400,
    )


def test_lots_past_their_expiry_are_left_out_and_counted_as_expiring(api_client, wallet, credit, monkeypatch):
    credit("7", expiry_date=timezone.now() + timedelta(hours=1))
    fresh = credit("10")
    later = timezone.now() + timedelta(hours=2)  # the sweep has not run: the lot still holds its 7
    monkeypatch.setattr(timezone, "now", lambda: later)
    body = preview(api_client, wallet.id, credits="4").json()
    assert body["expiring_credits"] == "7"
    assert (body["credit_balance"], body["credit_balance_before"], body["credit_balance_after"]) == ("17", "10", "6")
    assert [item["credit_transaction_id"] for item in body["consumption"]] == [fresh.id]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "credits"),
        ({"credits": "0"}, "credits"),
        ({"credits": "-1"}, "credits"),
        ({"credits": "1.0000000001"}, "credits"),
        ({"credits": "1", "transaction_reason": "CREDIT_EXPIRED"}, "transaction_reason"),
        ({"credits": "1", "metadata": {"k": 1}}, "metadata"),
        ({"credits": "1", "description": "x" * 5001}, "description"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_like_the_debit(api_client, wallet, credit, body, field):
    credit("5")
    response = preview(api_client, wallet.id, **body)
    debit = api_client.post(
        f"/v1/wallets/{wallet.id}/debit",
        {"transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "k", **body},
        format="json",
    )
    assert response.status_code == 400 and debit.status_code == 400
    assert response.json()["code"] == "validation_error" and field in response.json()["message"]
    assert response.json()["message"] == debit.json()["message"]


def test_unknown_wallet_is_a_404_before_a_bad_body(api_client):
    response = preview(api_client, "wallet_nope", credits="x")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_read_only_keys_may_preview(read_only_client, wallet, credit):
    credit("5")
    response = preview(read_only_client, wallet.id, credits="1")
    assert response.status_code == 200 and response.json()["would_succeed"] is True


def test_writes_nothing(api_client, wallet, credit):
    credit("5")
    preview(api_client, wallet.id, credits="3")
    preview(api_client, wallet.id, credits="30")
    assert CreditAllocation.objects.count() == 0
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("5") and wallet.transaction_count == 1
