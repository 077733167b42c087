"""POST /v1/wallets/{id}/top-up: seed 003, upstream §2.8 and the SDK's top_up_wallet."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from invoices.models import Invoice
from tests.api.test_wallet_contract import assert_decimals_are_strings, assert_error, call
from wallets import services
from wallets.models import Wallet, WalletTransaction

pytestmark = pytest.mark.django_db


def url(wallet) -> str:
    return f"/v1/wallets/{wallet.id}/top-up"


def test_sdk_top_up_answers_seed_003_and_the_sdk_shape(api_client, wallet, api_key):
    # given the SDK's body: decimals as strings, the key in the body
    body = {
        "transaction_reason": "PURCHASED_CREDIT_DIRECT",
        "credits_to_add": "500",
        "description": "probe",
        "idempotency_key": "idem-1",
        "metadata": {"src": "probe"},
    }
    # when
    data = call(api_client, "post", url(wallet), body)
    # then: seed 003's wallet fields at the top level ...
    assert data["id"] == wallet.id
    assert data["credit_balance"] == "500" and data["balance"] == "500"
    assert data["wallet_status"] == "active"
    assert data["auto_topup_trigger"] == "disabled"
    assert data["credits_available_breakdown"] == {"purchased": "500", "free": "0"}
    # ... plus the SDK's wallet and wallet_transaction
    assert data["wallet"] == {k: v for k, v in data.items() if k not in ("wallet", "wallet_transaction")}
    txn = data["wallet_transaction"]
    assert txn["id"].startswith("wtxn_")
    assert txn["wallet_id"] == wallet.id
    assert txn["customer_id"] == wallet.customer_id
    assert txn["type"] == "credit"
    assert txn["transaction_reason"] == "PURCHASED_CREDIT_DIRECT"
    assert txn["transaction_status"] == "completed"
    assert txn["credit_amount"] == "500" and txn["amount"] == "500" and txn["credits_available"] == "500"
    assert txn["credit_balance_before"] == "0" and txn["credit_balance_after"] == "500"
    assert txn["idempotency_key"] == "idem-1"
    assert txn["reference_type"] == "EXTERNAL" and txn["reference_id"] == "idem-1"
    assert txn["metadata"] == {"src": "probe"} and txn["description"] == "probe"
    assert txn["expiry_date"] is None and txn["priority"] is None
    assert txn["topup_conversion_rate"] == "1" and txn["conversion_rate"] is None
    assert txn["parent_transaction_id"] is None
    assert txn["created_by"] == api_key.api_key.id
    assert "invoice_id" not in data
    assert_decimals_are_strings(data)


def test_seed_003_numbers_and_expiry_and_priority(api_client, wallet):
    # given seed 003's body with JSON numbers, an expiry and a priority (upstream scenario 7)
    body = (
        '{"amount": 123, "credits_to_add": 25.50, "description": "grant", "expiry_date_utc": "2030-12-31T23:59:59Z",'
        ' "idempotency_key": "test_topup_1", "metadata": {}, "transaction_reason": "FREE_CREDIT_GRANT", "priority": 2,'
        ' "effective_date": "2025-05-01T10:00:00Z", "bonus_credits_to_add": "5", "force_sync_invoice": true}'
    )
    data = call(api_client, "post", url(wallet), body)
    txn = data["wallet_transaction"]
    # non-zero credits_to_add wins over amount; ignored SDK fields change nothing
    assert txn["credit_amount"] == "25.5"
    assert txn["expiry_date"] == "2030-12-31T23:59:59Z"
    assert txn["priority"] == 2
    assert data["credits_available_breakdown"] == {"purchased": "0", "free": "25.5"}
    assert WalletTransaction.objects.filter(wallet=wallet).count() == 1


def test_amount_is_converted_at_the_top_up_rate(api_client, make_wallet):
    # upstream scenario 15: amount 10 at topup_conversion_rate 2 → 5 credits, row amount 10
    wallet = make_wallet(topup_conversion_rate=Decimal("2"))
    data = call(api_client, "post", url(wallet), {"amount": "10", "transaction_reason": "PURCHASED_CREDIT_DIRECT"})
    assert data["wallet_transaction"]["credit_amount"] == "5"
    assert data["wallet_transaction"]["amount"] == "10"
    assert data["credit_balance"] == "5" and data["balance"] == "5"


def test_conversion_rate_values_the_balance(api_client, make_wallet):
    # upstream scenario 9: rate 2, 50 credits → credit_balance 50, balance 100, row amount 100
    wallet = make_wallet(conversion_rate=Decimal("2"))
    data = call(api_client, "post", url(wallet), {"credits_to_add": "50", "transaction_reason": "FREE_CREDIT_GRANT"})
    assert (data["credit_balance"], data["balance"], data["wallet_transaction"]["amount"]) == ("50", "100", "100")


def test_replay_answers_200_with_the_original_transaction(api_client, wallet):
    body = {"credits_to_add": "500", "transaction_reason": "PURCHASED_CREDIT_DIRECT", "idempotency_key": "k1"}
    first = call(api_client, "post", url(wallet), body)
    call(api_client, "post", url(wallet), {"credits_to_add": "7", "transaction_reason": "FREE_CREDIT_GRANT"})
    replay = call(api_client, "post", url(wallet), body)
    assert replay["wallet_transaction"] == first["wallet_transaction"]
    # the replay shows the balance as of the original transaction
    assert replay["credit_balance"] == "500"
    wallet.refresh_from_db()
    assert wallet.credit_balance == Decimal("507")
    assert WalletTransaction.objects.filter(wallet=wallet).count() == 2


def test_same_key_with_other_parameters_is_409_and_writes_nothing(api_client, wallet):
    call(
        api_client,
        "post",
        url(wallet),
        {"credits_to_add": "5", "transaction_reason": "FREE_CREDIT_GRANT", "idempotency_key": "k2"},
    )
    data = call(
        api_client,
        "post",
        url(wallet),
        {"credits_to_add": "6", "transaction_reason": "FREE_CREDIT_GRANT", "idempotency_key": "k2"},
        status=409,
    )
    assert_error(data, "already_exists", 409)
    wallet.refresh_from_db()
    assert wallet.credit_balance == Decimal("5")


def test_idempotency_key_header_is_read_and_the_body_wins(api_client, wallet):
    body = {"credits_to_add": "5", "transaction_reason": "FREE_CREDIT_GRANT"}
    first = call(api_client, "post", url(wallet), body, headers={"Idempotency-Key": "hdr-1"})
    assert first["wallet_transaction"]["idempotency_key"] == "hdr-1"
    again = call(api_client, "post", url(wallet), body, headers={"Idempotency-Key": "hdr-1"})
    assert again["wallet_transaction"]["id"] == first["wallet_transaction"]["id"]
    both = call(api_client, "post", url(wallet), {**body, "idempotency_key": "body-1"}, headers={"Idempotency-Key": "hdr-1"})
    assert both["wallet_transaction"]["idempotency_key"] == "body-1"


def test_key_less_top_ups_never_collide(api_client, wallet):
    body = {"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT"}
    keys = {call(api_client, "post", url(wallet), body)["wallet_transaction"]["idempotency_key"] for _ in range(3)}
    assert len(keys) == 3
    wallet.refresh_from_db()
    assert wallet.credit_balance == Decimal("3")


def test_invoiced_purchase_is_pending_with_an_invoice(api_client, wallet):
    # upstream scenario 59: pending credit, invoice_id present, balance unchanged
    data = call(api_client, "post", url(wallet), {"credits_to_add": "100", "transaction_reason": "PURCHASED_CREDIT_INVOICED"})
    assert data["wallet_transaction"]["transaction_status"] == "pending"
    assert data["credit_balance"] == "0"
    assert Invoice.objects.filter(pk=data["invoice_id"], wallet_transaction_id=data["wallet_transaction"]["id"]).exists()


@pytest.mark.parametrize("reason", ["PURCHASED_CREDIT_DIRECT", "FREE_CREDIT_GRANT"])
def test_checkout_needs_the_invoiced_reason(api_client, wallet, reason):
    # upstream scenario 60
    body = {"credits_to_add": "5", "transaction_reason": reason, "checkout": {"payment_provider": "razorpay"}}
    data = call(api_client, "post", url(wallet), body, status=400)
    assert_error(data, "validation_error", 400, field="checkout")
    assert not WalletTransaction.objects.exists()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"transaction_reason": None}, "transaction_reason"),
        ({"transaction_reason": "CREDIT_EXPIRED"}, "transaction_reason"),
        ({"transaction_reason": "MANUAL_BALANCE_DEBIT"}, "transaction_reason"),
        ({"credits_to_add": "0"}, "credits_to_add"),
        ({"credits_to_add": "-1"}, "credits_to_add"),
        ({"credits_to_add": "0.0000000001"}, "credits_to_add"),
        ({"credits_to_add": "100000000000"}, "credits_to_add"),
        ({"credits_to_add": "NaN"}, "credits_to_add"),
        ({"credits_to_add": "Infinity"}, "credits_to_add"),
        ({"credits_to_add": "0x10"}, "credits_to_add"),
        ({"credits_to_add": "١٢٣"}, "credits_to_add"),
        ({"credits_to_add": " 5 "}, "credits_to_add"),
        ({"credits_to_add": True}, "credits_to_add"),
        ({"credits_to_add": [5]}, "credits_to_add"),
        ({"credits_to_add": {"v": 5}}, "credits_to_add"),
        ({"credits_to_add": None, "amount": None}, "credits_to_add"),
        ({"credits_to_add": None, "amount": "-3"}, "amount"),
        ({"expiry_date_utc": "2020-01-01T00:00:00Z"}, "expiry_date_utc"),
        ({"expiry_date_utc": "2030-02-30T00:00:00Z"}, "expiry_date_utc"),
        ({"expiry_date_utc": 20300101}, "expiry_date_utc"),
        ({"priority": -1}, "priority"),
        ({"priority": 2**31}, "priority"),
        ({"priority": 1.5}, "priority"),
        ({"priority": "1"}, "priority"),
        ({"idempotency_key": "x" * 256}, "idempotency_key"),
        ({"idempotency_key": 7}, "idempotency_key"),
        ({"idempotency_key": "   "}, "idempotency_key"),
        ({"idempotency_key": "wallet_01JAAAAAAAAAAAAAAAAAAAAAAA"}, "idempotency_key"),
        ({"metadata": {"a": 1}}, "metadata"),
        ({"description": ["x"]}, "description"),
        ({"checkout": "yes"}, "checkout"),
    ],
)
def test_bad_top_up_is_a_400_naming_the_field_and_writes_nothing(api_client, wallet, changes, field):
    body = {"credits_to_add": "5", "transaction_reason": "FREE_CREDIT_GRANT", **changes}
    data = call(api_client, "post", url(wallet), body, status=400)
    assert_error(data, "validation_error", 400, field=field)
    assert not WalletTransaction.objects.exists()
    wallet.refresh_from_db()
    assert wallet.credit_balance == 0


def test_exact_json_number_keeps_every_digit(api_client, wallet):
    body = '{"credits_to_add": 12345678901.123456789, "transaction_reason": "FREE_CREDIT_GRANT"}'
    data = call(api_client, "post", url(wallet), body)
    assert data["credit_balance"] == "12345678901.123456789"


def test_balance_overflow_by_accumulation_is_a_400(api_client, wallet):
    body = {"credits_to_add": "99999999999", "transaction_reason": "FREE_CREDIT_GRANT"}
    call(api_client, "post", url(wallet), body)
    data = call(api_client, "post", url(wallet), body, status=400)
    assert_error(data, "validation_error", 400)
    wallet.refresh_from_db()
    assert wallet.credit_balance == Decimal("99999999999")


def test_top_up_to_frozen_or_closed_wallet_is_invalid_operation(api_client, make_wallet, customer):
    frozen = services.wallet_freeze(make_wallet(), reason="fraud review")
    closed = make_wallet(currency="eur")
    services.wallet_terminate(closed)
    body = {"credits_to_add": "5", "transaction_reason": "FREE_CREDIT_GRANT"}
    data = call(api_client, "post", url(frozen), body, status=400)
    assert_error(data, "invalid_operation", 400, message="Wallet is frozen")
    data = call(api_client, "post", url(closed), body, status=400)
    assert_error(data, "invalid_operation", 400)
    assert not WalletTransaction.objects.filter(type="credit").exists()


def test_unknown_and_foreign_wallets_are_404(api_client, other_tenant_client, wallet):
    body = {"credits_to_add": "5", "transaction_reason": "FREE_CREDIT_GRANT"}
    data = call(api_client, "post", "/v1/wallets/wallet_nope/top-up", body, status=404)
    assert_error(data, "not_found", 404, message="Wallet not found")
    call(other_tenant_client, "post", url(wallet), body, status=404)
    assert not WalletTransaction.objects.exists()


def test_read_only_key_cannot_top_up(read_only_client, wallet):
    data = call(
        read_only_client, "post", url(wallet), {"credits_to_add": "5", "transaction_reason": "FREE_CREDIT_GRANT"}, status=403
    )
    assert_error(data, "permission_denied", 403)
    assert not WalletTransaction.objects.exists()


def test_expiry_now_is_refused_and_a_second_later_is_accepted(api_client, wallet):
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    data = call(
        api_client,
        "post",
        url(wallet),
        {"credits_to_add": "5", "transaction_reason": "FREE_CREDIT_GRANT", "expiry_date_utc": soon},
    )
    assert data["wallet_transaction"]["expiry_date"].endswith("Z")
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == 5
