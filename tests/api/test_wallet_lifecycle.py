"""GET/PUT /v1/wallets/{id}, debit, terminate, freeze and unfreeze."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tenancy.services import environment_get_or_create
from tests.api.test_wallet_contract import assert_decimals_are_strings, assert_error, call
from wallets import services
from wallets.models import Wallet, WalletStatusChange, WalletTransaction

pytestmark = pytest.mark.django_db


# ---- GET /v1/wallets/{id}


def test_get_returns_the_wallet_in_any_status(api_client, wallet, credit):
    credit(12.5)
    data = call(api_client, "get", f"/v1/wallets/{wallet.id}")
    assert data["id"] == wallet.id and data["credit_balance"] == "12.5"
    services.wallet_freeze(wallet, reason="check")
    assert call(api_client, "get", f"/v1/wallets/{wallet.id}")["wallet_status"] == "frozen"


@pytest.mark.parametrize("wallet_id", ["wallet_nope", "a" * 300, "%00", "..%2F..%2Fetc", "wallet_01J%20X"])
def test_unknown_ids_are_404_with_a_message(api_client, wallet_id):
    data = call(api_client, "get", f"/v1/wallets/{wallet_id}", status=404)
    assert_error(data, "not_found", 404)


def test_other_tenants_and_environments_wallets_are_404(api_client, other_tenant_client, make_customer, make_wallet):
    neighbour_env = environment_get_or_create(tenant_name="acme", environment_name="test")
    neighbour = make_wallet(owner=make_customer(env=neighbour_env))
    call(api_client, "get", f"/v1/wallets/{neighbour.id}", status=404)
    mine = make_wallet()
    data = call(other_tenant_client, "get", f"/v1/wallets/{mine.id}", status=404)
    assert_error(data, "not_found", 404, message="Wallet not found")


def test_unsupported_method_is_405_in_the_error_shape(api_client, wallet):
    data = call(api_client, "delete", f"/v1/wallets/{wallet.id}", status=405)
    assert data["http_status_code"] == 405


# ---- PUT /v1/wallets/{id}


def test_put_updates_settings_as_the_sdk_sends_them(api_client, wallet):
    body = {"config": {"allowed_price_types": ["USAGE"]}, "description": "x", "metadata": {"a": "b"}, "name": "New"}
    data = call(api_client, "put", f"/v1/wallets/{wallet.id}", body)
    assert (data["name"], data["description"], data["metadata"], data["config"]) == (
        "New",
        "x",
        {"a": "b"},
        {"allowed_price_types": ["USAGE"]},
    )
    # metadata replaces; empty name/description leave them unchanged
    data = call(api_client, "put", f"/v1/wallets/{wallet.id}", {"metadata": {"c": "d"}, "name": "", "description": ""})
    assert (data["name"], data["description"], data["metadata"]) == ("New", "x", {"c": "d"})
    stored = Wallet.objects.get(pk=wallet.pk)
    assert stored.metadata == {"c": "d"} and stored.name == "New"


def test_put_merges_auto_topup_member_by_member(api_client, wallet):
    url = f"/v1/wallets/{wallet.id}"
    body = {
        "auto_topup": {
            "enabled": True,
            "threshold": 5,
            "amount": "10",
            "invoicing": False,
            "cooldown": {"value": 1, "unit": "day"},
        }
    }
    assert call(api_client, "put", url, body)["auto_topup"] == {
        "enabled": True,
        "threshold": "5",
        "amount": "10",
        "invoicing": False,
        "cooldown": {"value": 1, "unit": "day"},
    }
    # only the members sent change
    data = call(api_client, "put", url, {"auto_topup": {"amount": "20"}})
    assert data["auto_topup"]["threshold"] == "5" and data["auto_topup"]["amount"] == "20"
    assert data["auto_topup"]["cooldown"] == {"value": 1, "unit": "day"}
    # upstream scenario 42: cooldown value 0 clears it; a later {enabled: true} keeps it cleared
    assert (
        call(api_client, "put", url, {"auto_topup": {"cooldown": {"value": 0, "unit": "second"}}})["auto_topup"]["cooldown"]
        is None
    )
    data = call(api_client, "put", url, {"auto_topup": {"enabled": True}})
    assert data["auto_topup"]["cooldown"] is None and data["auto_topup_trigger"] == "balance_below_threshold"
    assert data["auto_topup_min_balance"] == "5" and data["auto_topup_amount"] == "20"


def test_put_refuses_enabling_auto_topup_without_threshold(api_client, wallet):
    data = call(api_client, "put", f"/v1/wallets/{wallet.id}", {"auto_topup": {"enabled": True}}, status=400)
    assert_error(data, "validation_error", 400, field="auto_topup")
    assert Wallet.objects.get(pk=wallet.pk).auto_topup_enabled is False


def test_put_replaces_and_validates_alert_settings(api_client, wallet, credit):
    credit(100)
    url = f"/v1/wallets/{wallet.id}"
    body = {"alert_settings": {"alert_enabled": True, "critical": {"threshold": "200", "condition": "below"}}}
    data = call(api_client, "put", url, body)
    assert data["alert_state"] == "in_alarm" and data["alert_config"] == {"threshold": {"type": "amount", "value": "200"}}
    # warning above critical for "below" is fine; warning without critical is not (validated, unlike upstream)
    bad = {"alert_settings": {"alert_enabled": True, "warning": {"threshold": "10"}}}
    assert_error(call(api_client, "put", url, bad, status=400), "validation_error", 400)
    data = call(api_client, "put", url, {"alert_settings": {"alert_enabled": False}})
    assert data["alert_state"] == "ok" and data["alert_enabled"] is False and data["alert_config"] is None


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": 1}, "name"),
        ({"metadata": "x"}, "metadata"),
        ({"config": {"allowed_price_types": "ALL"}}, "config.allowed_price_types"),
        ({"auto_topup": {"threshold": "abc"}}, "auto_topup.threshold"),
        ({"auto_topup": {"cooldown": {"value": -1}}}, "auto_topup.cooldown.value"),
        ({"alert_settings": {"critical": {"threshold": True}}}, "alert_settings.critical.threshold"),
    ],
)
def test_bad_put_is_a_400_and_changes_nothing(api_client, wallet, body, field):
    before = Wallet.objects.values().get(pk=wallet.pk)
    data = call(api_client, "put", f"/v1/wallets/{wallet.id}", body, status=400)
    assert_error(data, "validation_error", 400, field=field)
    assert Wallet.objects.values().get(pk=wallet.pk) == before


def test_put_on_unknown_wallet_is_404_and_read_only_is_403(api_client, read_only_client, wallet):
    call(api_client, "put", "/v1/wallets/wallet_nope", {"name": "x"}, status=404)
    assert_error(call(read_only_client, "put", f"/v1/wallets/{wallet.id}", {"name": "x"}, status=403), "permission_denied", 403)
    assert Wallet.objects.get(pk=wallet.pk).name != "x"


# ---- POST /v1/wallets/{id}/debit


def test_manual_debit_may_overdraw(api_client, wallet, credit):
    # upstream scenario 21: credit 100, manual debit 150 → credit_balance −50
    credit(100)
    body = {
        "credits": "150",
        "transaction_reason": "MANUAL_BALANCE_DEBIT",
        "idempotency_key": "test_manual_debit_negative",
        "description": "fix",
        "metadata": {"t": "1"},
    }
    data = call(api_client, "post", f"/v1/wallets/{wallet.id}/debit", body)
    assert data["credit_balance"] == "-50" and data["balance"] == "-50"
    assert_decimals_are_strings(data)
    debit = WalletTransaction.objects.get(wallet=wallet, type="debit")
    assert debit.metadata["t"] == "1" and debit.description == "fix"
    # replaying the key does not debit twice (upstream scenario 22)
    again = call(api_client, "post", f"/v1/wallets/{wallet.id}/debit", body)
    assert again["credit_balance"] == "-50"
    assert WalletTransaction.objects.filter(wallet=wallet, type="debit").count() == 1


def test_debit_key_reuse_with_other_credits_is_409(api_client, wallet, credit):
    credit(200)
    url = f"/v1/wallets/{wallet.id}/debit"
    call(api_client, "post", url, {"credits": "50", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "d"})
    data = call(
        api_client,
        "post",
        url,
        {"credits": "60", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "d"},
        status=409,
    )
    assert_error(data, "already_exists", 409)
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == Decimal("150")


def test_debit_takes_the_key_from_the_header(api_client, wallet, credit):
    credit(10)
    body = {"credits": "1", "transaction_reason": "MANUAL_BALANCE_DEBIT"}
    call(api_client, "post", f"/v1/wallets/{wallet.id}/debit", body, headers={"Idempotency-Key": "hdr"})
    assert WalletTransaction.objects.get(type="debit").idempotency_key == "hdr"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"credits": "5", "transaction_reason": "MANUAL_BALANCE_DEBIT"}, "idempotency_key"),
        ({"credits": "5", "transaction_reason": "INVOICE_PAYMENT", "idempotency_key": "k"}, "transaction_reason"),
        ({"credits": "5", "idempotency_key": "k"}, "transaction_reason"),
        ({"credits": "0", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "k"}, "credits"),
        ({"credits": 5.5, "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "k"}, None),
        ({"transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "k"}, "credits"),
    ],
)
def test_bad_debit_is_a_400(api_client, wallet, credit, body, field):
    credit(10)
    if body.get("credits") == 5.5:
        # a JSON number is exact here: 5.5 credits
        assert call(api_client, "post", f"/v1/wallets/{wallet.id}/debit", body)["credit_balance"] == "4.5"
        return
    data = call(api_client, "post", f"/v1/wallets/{wallet.id}/debit", body, status=400)
    assert_error(data, "validation_error", 400, field=field)
    assert not WalletTransaction.objects.filter(type="debit").exists()


def test_debit_on_frozen_wallet_is_invalid_operation(api_client, wallet, credit):
    credit(10)
    services.wallet_freeze(wallet, reason="hold")
    body = {"credits": "1", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "k"}
    data = call(api_client, "post", f"/v1/wallets/{wallet.id}/debit", body, status=400)
    assert_error(data, "invalid_operation", 400, message="Wallet is frozen")


# ---- POST /v1/wallets/{id}/terminate


def test_terminate_forfeits_credits_and_closes(api_client, wallet, credit):
    # upstream scenario 23
    credit(1000)
    response = api_client.post(f"/v1/wallets/{wallet.id}/terminate")  # no body, as the SDK sends it
    assert response.status_code == 200
    data = response.json()
    assert data["message"] == "wallet terminated successfully"
    assert (data["wallet_status"], data["balance"], data["credit_balance"]) == ("closed", "0", "0")
    assert data["credits_available_breakdown"] == {"purchased": "0", "free": "0"}
    debit = WalletTransaction.objects.get(wallet=wallet, type="debit")
    assert (debit.transaction_reason, debit.credit_amount, debit.credits_available) == ("WALLET_TERMINATION", 1000, 0)
    # scenario 24: again → 400 invalid_operation
    data = call(api_client, "post", f"/v1/wallets/{wallet.id}/terminate", status=400)
    assert_error(data, "invalid_operation", 400, message="already terminated")
    assert WalletTransaction.objects.filter(wallet=wallet).count() == 2


def test_terminate_schema_and_access(api_client, read_only_client, wallet):
    call(read_only_client, "post", f"/v1/wallets/{wallet.id}/terminate", status=403)
    call(api_client, "post", "/v1/wallets/wallet_nope/terminate", status=404)
    assert call(api_client, "post", f"/v1/wallets/{wallet.id}/terminate")["wallet_status"] == "closed"


# ---- POST /v1/wallets/{id}/freeze and /unfreeze


def test_freeze_and_unfreeze_record_who_and_why(api_client, wallet, api_key):
    until = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = call(api_client, "post", f"/v1/wallets/{wallet.id}/freeze", {"reason": "chargeback", "until": until})
    assert data["wallet_status"] == "frozen"
    change = WalletStatusChange.objects.get(wallet=wallet)
    assert (change.action, change.reason, change.created_by) == ("freeze", "chargeback", api_key.api_key.id)
    # a second freeze is refused
    assert_error(
        call(api_client, "post", f"/v1/wallets/{wallet.id}/freeze", {"reason": "again"}, status=400), "invalid_operation", 400
    )
    data = call(api_client, "post", f"/v1/wallets/{wallet.id}/unfreeze", {"reason": "resolved"})
    assert data["wallet_status"] == "active"
    assert_error(
        call(api_client, "post", f"/v1/wallets/{wallet.id}/unfreeze", {"reason": "x"}, status=400), "invalid_operation", 400
    )


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("freeze", {}, "reason"),
        ("freeze", {"reason": "  "}, "reason"),
        ("freeze", {"reason": 5}, "reason"),
        ("freeze", {"reason": "x", "until": "2020-01-01T00:00:00Z"}, "until"),
        ("freeze", {"reason": "x", "until": "tomorrow"}, "until"),
        ("unfreeze", {}, "reason"),
    ],
)
def test_bad_freeze_is_a_400(api_client, wallet, path, body, field):
    data = call(api_client, "post", f"/v1/wallets/{wallet.id}/{path}", body, status=400)
    assert_error(data, "validation_error", 400, field=field)
    assert Wallet.objects.get(pk=wallet.pk).wallet_status == "active"


def test_freeze_of_closed_wallet_is_refused_and_read_only_is_403(api_client, read_only_client, wallet):
    call(read_only_client, "post", f"/v1/wallets/{wallet.id}/freeze", {"reason": "x"}, status=403)
    services.wallet_terminate(wallet)
    assert_error(
        call(api_client, "post", f"/v1/wallets/{wallet.id}/freeze", {"reason": "x"}, status=400), "invalid_operation", 400
    )
