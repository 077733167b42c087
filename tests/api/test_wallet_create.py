"""POST /v1/wallets: seed 004, upstream §2.1 and the SDK's create_wallet body."""

from datetime import UTC, datetime, timedelta

import pytest

from tenancy.services import environment_get_or_create
from tests.api.test_wallet_contract import assert_decimals_are_strings, assert_error, call
from wallets.models import Wallet, WalletTransaction

pytestmark = pytest.mark.django_db

URL = "/v1/wallets"


def test_seed_004_example_creates_a_wallet(api_client, customer, api_key):
    # given seed 004's body (numbers where the seed shows numbers)
    body = (
        '{"auto_topup_amount": 123, "auto_topup_min_balance": 123, "auto_topup_trigger": "disabled",'
        ' "config": {"allowed_price_types": ["ALL"]}, "conversion_rate": 123, "currency": "USD",'
        f' "customer_id": "{customer.id}", "description": "promo", "initial_credits_to_load": 123,'
        ' "initial_credits_to_load_expiry_date": 20360101, "metadata": {"k": "v"}, "name": "Promo credits",'
        ' "wallet_type": "PROMOTIONAL"}'
    )
    # when
    data = call(api_client, "post", URL, body)
    # then: 200 with every field the seed shows, decimals as strings
    assert data["id"].startswith("wallet_")
    assert data["customer_id"] == customer.id
    assert data["currency"] == "usd"
    assert data["wallet_type"] == "PROMOTIONAL"
    assert data["wallet_status"] == "active"
    assert data["name"] == "Promo credits"
    assert data["description"] == "promo"
    assert data["metadata"] == {"k": "v"}
    assert data["config"] == {"allowed_price_types": ["ALL"]}
    assert data["conversion_rate"] == "123"
    assert data["topup_conversion_rate"] == "123"
    assert data["credit_balance"] == "123"
    assert data["balance"] == "15129"
    assert data["auto_topup_trigger"] == "disabled"
    assert data["auto_topup_min_balance"] == "123"
    assert data["auto_topup_amount"] == "123"
    assert data["auto_topup"] == {"enabled": False, "threshold": "123", "amount": "123", "invoicing": False, "cooldown": None}
    assert data["credits_available_breakdown"] == {"purchased": "0", "free": "123"}
    assert data["status"] == "published"
    assert data["created_by"] == api_key.api_key.id
    assert data["tenant_id"] == customer.tenant_id
    assert data["environment_id"] == customer.environment_id
    assert data["created_at"].endswith("Z")
    assert_decimals_are_strings(data)
    grant = WalletTransaction.objects.get(wallet_id=data["id"])
    assert grant.transaction_reason == "FREE_CREDIT_GRANT"
    assert grant.expiry_date == datetime(2036, 1, 1, tzinfo=UTC)


def test_sdk_full_body_is_accepted(api_client, customer):
    # given exactly what flexprice 2.1.43 sends for a fully specified create_wallet
    body = (
        '{"currency":"USD","alert_settings":{"alert_enabled":true,"critical":{"condition":"below","threshold":"5"}},'
        '"auto_topup":{"amount":10.5,"enabled":true,"invoicing":false,"threshold":2.0},"conversion_rate":"1",'
        f'"customer_id":"{customer.id}","description":"d","initial_credits_expiry_date_utc":"2030-01-01T00:00:00Z",'
        '"initial_credits_to_load":"10","initial_credits_to_load_expiry_date":20300101,"metadata":{"a":"b"},'
        '"topup_conversion_rate":"1","wallet_type":"PRE_PAID"}'
    )
    data = call(api_client, "post", URL, body)
    assert data["auto_topup"] == {"enabled": True, "threshold": "2", "amount": "10.5", "invoicing": False, "cooldown": None}
    assert data["auto_topup_trigger"] == "balance_below_threshold"
    assert data["alert_settings"] == {
        "alert_enabled": True,
        "critical": {"threshold": "5", "condition": "below"},
        "warning": None,
        "info": None,
    }
    assert data["alert_config"] == {"threshold": {"type": "amount", "value": "5"}}
    assert data["alert_enabled"] is True
    assert data["alert_state"] == "ok"  # 10 credits are above the critical 5
    assert data["credit_balance"] == "10"
    assert data["name"] == "Prepaid Wallet - USD"


def test_minimal_sdk_body_defaults(api_client, customer):
    body = {"currency": "USD", "conversion_rate": "1", "customer_id": customer.id, "initial_credits_to_load": "0"}
    data = call(api_client, "post", URL, body)
    assert data["wallet_type"] == "PRE_PAID"
    assert data["credit_balance"] == "0" and data["balance"] == "0"
    assert data["config"] == {"allowed_price_types": ["ALL"]}
    assert data["alert_settings"] is None and data["alert_config"] is None and data["alert_enabled"] is False
    assert data["auto_topup_min_balance"] is None and data["auto_topup_amount"] is None
    assert not WalletTransaction.objects.filter(wallet_id=data["id"]).exists()


def test_seed_001_alert_config_means_a_critical_threshold(api_client, customer):
    body = {
        "customer_id": customer.id,
        "currency": "eur",
        "alert_config": {"threshold": {"type": "amount", "value": 123}},
        "alert_enabled": True,
    }
    data = call(api_client, "post", URL, body)
    assert data["alert_settings"]["critical"] == {"threshold": "123", "condition": "below"}
    assert data["alert_settings"]["alert_enabled"] is True
    assert data["alert_config"] == {"threshold": {"type": "amount", "value": "123"}}
    assert data["alert_state"] == "in_alarm"  # an empty wallet is below 123


def test_flat_trigger_enables_auto_topup(api_client, customer):
    body = {
        "customer_id": customer.id,
        "currency": "usd",
        "auto_topup_trigger": "balance_below_threshold",
        "auto_topup_min_balance": "10",
        "auto_topup_amount": "50",
    }
    data = call(api_client, "post", URL, body)
    assert data["auto_topup"] == {"enabled": True, "threshold": "10", "amount": "50", "invoicing": False, "cooldown": None}


def test_nested_cooldown_is_stored(api_client, customer):
    body = {
        "customer_id": customer.id,
        "currency": "usd",
        "auto_topup": {
            "enabled": True,
            "threshold": 5,
            "amount": 10,
            "invoicing": False,
            "cooldown": {"value": 3, "unit": "HOUR"},
        },
    }
    data = call(api_client, "post", URL, body)
    assert data["auto_topup"]["cooldown"] == {"value": 3, "unit": "hour"}


def test_external_customer_id_resolves_to_the_customer(api_client, customer):
    data = call(api_client, "post", URL, {"external_customer_id": customer.external_id, "currency": "usd"})
    assert data["customer_id"] == customer.id


def test_customer_id_wins_over_external_customer_id(api_client, customer, make_customer):
    other = make_customer()
    data = call(
        api_client, "post", URL, {"customer_id": customer.id, "external_customer_id": other.external_id, "currency": "usd"}
    )
    assert data["customer_id"] == customer.id


def test_zero_conversion_rate_means_one(api_client, customer):
    data = call(api_client, "post", URL, {"customer_id": customer.id, "currency": "usd", "conversion_rate": "0"})
    assert data["conversion_rate"] == "1" and data["topup_conversion_rate"] == "1"


def test_second_open_wallet_of_same_currency_and_type_is_409(api_client, customer, wallet):
    before = Wallet.objects.count()
    data = call(api_client, "post", URL, {"customer_id": customer.id, "currency": "USD"}, status=409)
    assert_error(data, "already_exists", 409)
    assert data["details"]["wallet_id"] == wallet.id
    assert Wallet.objects.count() == before
    # a different type in the same currency is allowed (upstream scenario 6)
    call(api_client, "post", URL, {"customer_id": customer.id, "currency": "USD", "wallet_type": "POST_PAID"})


@pytest.mark.parametrize(
    "body, field",
    [
        ({"currency": "usd"}, "customer_id"),
        ({"customer_id": "_cust", "currency": "usd"}, "customer_id"),
        ({"customer_id": "cust_", "currency": "usd"}, "customer_id"),
        ({"customer_id": "cu%st", "currency": "usd"}, "customer_id"),
        ({"customer_id": "cu st", "currency": "usd"}, "customer_id"),
        ({"external_customer_id": "ext%1", "currency": "usd"}, "external_customer_id"),
        ({"external_customer_id": "ext 1", "currency": "usd"}, "external_customer_id"),
    ],
)
def test_customer_reference_format_is_checked(api_client, body, field):
    data = call(api_client, "post", URL, body, status=400)
    assert_error(data, "validation_error", 400, field=field)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"currency": None}, "currency"),
        ({"currency": "US"}, "currency"),
        ({"currency": "U1D"}, "currency"),
        ({"currency": 840}, "currency"),
        ({"wallet_type": "GIFT"}, "wallet_type"),
        ({"conversion_rate": "-1"}, "conversion_rate"),
        ({"conversion_rate": "1.123456"}, "conversion_rate"),
        ({"conversion_rate": "abc"}, "conversion_rate"),
        ({"conversion_rate": True}, "conversion_rate"),
        ({"topup_conversion_rate": "0"}, "topup_conversion_rate"),
        ({"initial_credits_to_load": "0.0000000001"}, "initial_credits_to_load"),
        ({"initial_credits_to_load": "1", "initial_credits_to_load_expiry_date": 20200101}, None),
        (
            {"initial_credits_to_load": "1", "initial_credits_to_load_expiry_date": 20361341},
            "initial_credits_to_load_expiry_date",
        ),
        ({"initial_credits_to_load": "1", "initial_credits_expiry_date_utc": "yesterday"}, "initial_credits_expiry_date_utc"),
        ({"metadata": {"n": 1}}, "metadata"),
        ({"metadata": ["a"]}, "metadata"),
        ({"name": 5}, "name"),
        ({"config": {"allowed_price_types": ["SOME"]}}, "config.allowed_price_types.0"),
        ({"auto_topup": {"enabled": True, "amount": "5"}}, "auto_topup"),
        ({"auto_topup": {"enabled": "yes"}}, "auto_topup.enabled"),
        (
            {"auto_topup": {"enabled": True, "threshold": 1, "amount": 5, "cooldown": {"value": 0, "unit": "day"}}},
            "auto_topup.cooldown.value",
        ),
        ({"auto_topup": {"cooldown": {"value": 1, "unit": "week"}}}, "auto_topup.cooldown.unit"),
        ({"auto_topup": {"enabled": True}, "auto_topup_trigger": "disabled"}, "auto_topup"),
        ({"auto_topup_trigger": "sometimes"}, "auto_topup_trigger"),
        ({"alert_settings": {"alert_enabled": True}}, "alert_settings"),
        ({"alert_settings": {"critical": {"threshold": "5", "condition": "sideways"}}}, "alert_settings.critical.condition"),
        ({"alert_settings": {"critical": {"threshold": "5"}, "warning": {"threshold": "1"}}}, "alert_settings"),
        ({"alert_config": {"threshold": {"type": "percent", "value": 5}}}, "alert_config.threshold.type"),
        ({"alert_config": {"threshold": {"type": "amount", "value": 5}}, "alert_settings": {}}, "alert_config"),
        ({"alert_enabled": "true "}, "alert_enabled"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(api_client, customer, changes, field):
    body = {"customer_id": customer.id, "currency": "usd", **changes}
    data = call(api_client, "post", URL, body, status=400)
    assert_error(data, "validation_error", 400, field=field)
    assert not Wallet.objects.exists()


def test_past_expiry_is_refused_with_the_upstream_message(api_client, customer):
    past = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "customer_id": customer.id,
        "currency": "usd",
        "initial_credits_to_load": "5",
        "initial_credits_expiry_date_utc": past,
    }
    data = call(api_client, "post", URL, body, status=400)
    assert_error(data, "validation_error", 400, message="Expiry date must be in the future")


def test_utc_expiry_wins_over_the_integer_form(api_client, customer):
    body = {
        "customer_id": customer.id,
        "currency": "usd",
        "initial_credits_to_load": "5",
        "initial_credits_to_load_expiry_date": 20200101,  # in the past, but not used
        "initial_credits_expiry_date_utc": "2031-06-01T12:00:00+02:00",
    }
    data = call(api_client, "post", URL, body)
    grant = WalletTransaction.objects.get(wallet_id=data["id"])
    assert grant.expiry_date == datetime(2031, 6, 1, 10, tzinfo=UTC)


def test_unknown_customer_is_404(api_client):
    data = call(api_client, "post", URL, {"customer_id": "cust_unknown", "currency": "usd"}, status=404)
    assert_error(data, "not_found", 404, message="cust_unknown")
    data = call(api_client, "post", URL, {"external_customer_id": "nobody", "currency": "usd"}, status=404)
    assert_error(data, "not_found", 404)


def test_other_environments_customer_is_404(api_client, make_customer, other_environment):
    stranger = make_customer(env=other_environment)
    same_tenant_test_env = environment_get_or_create(tenant_name="acme", environment_name="test")
    neighbour = make_customer(env=same_tenant_test_env)
    for customer in (stranger, neighbour):
        call(api_client, "post", URL, {"customer_id": customer.id, "currency": "usd"}, status=404)
    assert not Wallet.objects.exists()


def test_price_unit_is_404_as_no_price_units_exist(api_client, customer):
    data = call(api_client, "post", URL, {"customer_id": customer.id, "currency": "usd", "price_unit": "credits"}, status=404)
    assert_error(data, "not_found", 404, message="Price unit with code credits was not found")


def test_read_only_key_is_403_and_no_key_is_401(read_only_client, anonymous_client, customer):
    body = {"customer_id": customer.id, "currency": "usd"}
    data = call(read_only_client, "post", URL, body, status=403)
    assert_error(data, "permission_denied", 403)
    assert call(anonymous_client, "post", URL, body, status=401) == {"error": "Unauthorized"}
    assert not Wallet.objects.exists()


@pytest.mark.parametrize(
    "raw", ['{"currency": "usd",', "[]", '"usd"', '{"currency": "usd", "currency": "eur"}', '{"currency": NaN}']
)
def test_malformed_json_is_a_400(api_client, raw):
    data = call(api_client, "post", URL, raw, status=400)
    assert_error(data, "validation_error", 400)
