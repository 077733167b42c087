"""Wallet lists and balances: GET /v1/wallets, POST /v1/wallets/search, the customer wallet routes
(seed 001, upstream scenarios 25-26) and the real-time balance (contract §6, scenario 33)."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.api.test_wallet_contract import assert_decimals_are_strings, assert_error, call
from wallets import services
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def grant(wallet, credits, reason="FREE_CREDIT_GRANT", **fields):
    return services.wallet_top_up(wallet, credits=Decimal(str(credits)), reason=reason, **fields)


@pytest.fixture
def three_wallets(make_customer, make_wallet):
    """Oldest first: usd (active), eur (frozen), gbp (closed), each for its own customer."""
    wallets = []
    for currency in ("usd", "eur", "gbp"):
        wallets.append(make_wallet(owner=make_customer(), currency=currency))
    services.wallet_freeze(wallets[1], reason="hold")
    services.wallet_terminate(wallets[2])
    return wallets


# ---- GET /v1/wallets and POST /v1/wallets/search


def test_list_is_newest_first_with_real_pagination(api_client, three_wallets):
    data = call(api_client, "get", "/v1/wallets?limit=2")
    assert [item["id"] for item in data["items"]] == [three_wallets[2].id, three_wallets[1].id]
    assert data["pagination"] == {"total": 3, "limit": 2, "offset": 2}  # offset = next page's offset
    data = call(api_client, "get", "/v1/wallets?limit=2&offset=2")
    assert [item["id"] for item in data["items"]] == [three_wallets[0].id]
    assert data["pagination"] == {"total": 3, "limit": 2, "offset": 4}
    data = call(api_client, "get", "/v1/wallets")
    assert data["pagination"] == {"total": 3, "limit": 50, "offset": 50}


def test_list_filters_by_ids_and_status(api_client, three_wallets):
    usd, eur, gbp = three_wallets
    data = call(api_client, "get", f"/v1/wallets?wallet_ids={usd.id}&wallet_ids={gbp.id}")
    assert {item["id"] for item in data["items"]} == {usd.id, gbp.id}
    data = call(api_client, "get", "/v1/wallets?status=frozen&expand=credits_available_breakdown")
    assert [item["id"] for item in data["items"]] == [eur.id]
    assert data["pagination"]["total"] == 1


def test_list_filters_by_wallet_type(api_client, customer, make_wallet):
    prepaid = make_wallet()
    promo = make_wallet(wallet_type="PROMOTIONAL")
    assert ids_of(call(api_client, "get", "/v1/wallets?wallet_type=PROMOTIONAL")) == [promo.id]
    assert ids_of(call(api_client, "post", "/v1/wallets/search", {"wallet_type": "PRE_PAID"})) == [prepaid.id]
    assert_error(call(api_client, "post", "/v1/wallets/search", {"wallet_type": "GIFT"}, status=400), "validation_error", 400)


def ids_of(data) -> list[str]:
    return [item["id"] for item in data["items"]]


def test_search_with_empty_body_lists_everything(api_client, three_wallets):
    data = call(api_client, "post", "/v1/wallets/search", {})
    assert data["pagination"] == {"total": 3, "limit": 50, "offset": 50}
    data = call(api_client, "post", "/v1/wallets/search", "")
    assert data["pagination"]["total"] == 3


def test_search_takes_the_sdk_body(api_client, three_wallets):
    usd = three_wallets[0]
    body = {
        "alert_enabled": False,
        "expand": "credits_available_breakdown",
        "limit": 5,
        "offset": 0,
        "order": "desc",
        "sort": "created_at",
        "status": "active",
        "wallet_ids": [usd.id],
    }
    data = call(api_client, "post", "/v1/wallets/search", body)
    assert [item["id"] for item in data["items"]] == [usd.id]
    assert_decimals_are_strings(data)


def test_search_sorts_and_filters_on_alert_enabled(api_client, make_customer, make_wallet):
    low = make_wallet(owner=make_customer())
    high = make_wallet(owner=make_customer(), alert_settings={"alert_enabled": True, "critical": {"threshold": "1"}})
    grant(low, 5)
    grant(high, 50)
    data = call(api_client, "post", "/v1/wallets/search", {"sort": "credit_balance", "order": "asc"})
    assert [item["id"] for item in data["items"]] == [low.id, high.id]
    data = call(api_client, "post", "/v1/wallets/search", {"alert_enabled": True})
    assert [item["id"] for item in data["items"]] == [high.id]
    data = call(api_client, "get", "/v1/wallets?alert_enabled=false")
    assert [item["id"] for item in data["items"]] == [low.id]


def test_search_is_allowed_for_read_only_keys_but_create_is_not(read_only_client, three_wallets):
    assert call(read_only_client, "post", "/v1/wallets/search", {})["pagination"]["total"] == 3
    assert call(read_only_client, "get", "/v1/wallets")["pagination"]["total"] == 3


def test_lists_never_show_other_tenants_wallets(other_tenant_client, three_wallets):
    assert call(other_tenant_client, "post", "/v1/wallets/search", {}) == {
        "items": [],
        "pagination": {"total": 0, "limit": 50, "offset": 50},
    }
    assert call(other_tenant_client, "get", f"/v1/wallets?wallet_ids={three_wallets[0].id}")["items"] == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"limit": 1001}, "limit"),
        ({"limit": -1}, "limit"),
        ({"limit": "5"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 10**12}, "offset"),
        ({"status": "deleted"}, "status"),
        ({"sort": "customer_id"}, "sort"),
        ({"order": "up"}, "order"),
        ({"expand": "customer"}, "expand"),
        ({"wallet_ids": "wallet_1"}, "wallet_ids"),
        ({"wallet_ids": [1]}, "wallet_ids"),
        ({"alert_enabled": "true"}, "alert_enabled"),
    ],
)
def test_bad_search_is_a_400(api_client, body, field):
    data = call(api_client, "post", "/v1/wallets/search", body, status=400)
    assert_error(data, "validation_error", 400)
    assert data["details"]["field"].startswith(field)


@pytest.mark.parametrize(
    "query", ["limit=abc", "limit=1001", "offset=-5", "alert_enabled=yes", "status=open", "expand=wallet", "limit=%D9%A1"]
)
def test_bad_list_query_is_a_400(api_client, query):
    assert_error(call(api_client, "get", f"/v1/wallets?{query}", status=400), "validation_error", 400)


def test_list_renders_a_page_in_a_constant_number_of_queries(
    api_client, make_customer, make_wallet, django_assert_max_num_queries
):
    for _ in range(12):
        grant(make_wallet(owner=make_customer()), 3)
    # auth + throttle bookkeeping, the page, the count and one grouped breakdown
    with django_assert_max_num_queries(6):
        data = call(api_client, "get", "/v1/wallets?limit=1000")
    assert len(data["items"]) == 12
    assert all(item["credits_available_breakdown"] == {"purchased": "0", "free": "3"} for item in data["items"])


# ---- GET /v1/customers/wallets and /v1/customers/{id}/wallets


def test_customer_wallets_by_id_and_lookup_key(api_client, customer, make_wallet):
    # upstream scenario 26: two active wallets (usd, EUR) → 2 entries; frozen/closed are hidden
    usd = make_wallet(currency="usd")
    eur = make_wallet(currency="EUR")
    hidden = services.wallet_freeze(make_wallet(currency="gbp"), reason="x")
    by_id = call(api_client, "get", f"/v1/customers/wallets?from_cache=false&id={customer.id}&include_real_time_balance=false")
    assert [item["id"] for item in by_id] == [usd.id, eur.id]
    assert all(item["is_cached_fallback"] is False for item in by_id)
    assert "real_time_balance" not in by_id[0]
    by_key = call(api_client, "get", f"/v1/customers/wallets?lookup_key={customer.external_id}")
    assert [item["id"] for item in by_key] == [usd.id, eur.id]
    assert hidden.id not in {item["id"] for item in by_key}
    assert_decimals_are_strings(by_key)


def test_customer_wallets_with_real_time_balance(api_client, customer, wallet, credit):
    credit(40)
    query = (
        f"expand=credits_available_breakdown&from_cache=false&include_real_time_balance=true&lookup_key={customer.external_id}"
    )
    [item] = call(api_client, "get", f"/v1/customers/wallets?{query}")
    assert item["real_time_balance"] == "40" and item["real_time_credit_balance"] == "40"
    assert item["current_period_usage"] == "0" and item["is_cached_fallback"] is False
    assert item["credits_available_breakdown"] == {"purchased": "0", "free": "40"}


def test_customer_without_wallets_gets_an_empty_array(api_client, customer):
    assert call(api_client, "get", f"/v1/customers/wallets?id={customer.id}") == []
    assert call(api_client, "get", f"/v1/customers/{customer.id}/wallets") == []


@pytest.mark.parametrize(
    "query, status, message",
    [
        ("", 400, "Please provide either id or lookup_key"),
        ("id=&lookup_key=", 400, "Please provide either id or lookup_key"),
        ("id=cust_1&lookup_key=ext", 400, "but not both"),
        ("id=cust_unknown", 404, "Customer with ID cust_unknown was not found"),
        ("lookup_key=nobody", 404, "Customer with lookup key nobody was not found"),
        ("lookup_key=%00", 400, None),
        ("id=cust_1&include_real_time_balance=maybe", 400, None),
        ("id=cust_1&expand=wallet", 400, "not allowed to be expanded"),
    ],
)
def test_customer_wallets_errors(api_client, customer, query, status, message):
    # upstream scenario 25
    data = call(api_client, "get", f"/v1/customers/wallets?{query}", status=status)
    assert_error(data, "validation_error" if status == 400 else "not_found", status, message=message)


def test_customer_wallets_of_another_tenant_are_404(other_tenant_client, customer, wallet):
    call(other_tenant_client, "get", f"/v1/customers/wallets?id={customer.id}", status=404)
    call(other_tenant_client, "get", f"/v1/customers/wallets?lookup_key={customer.external_id}", status=404)
    call(other_tenant_client, "get", f"/v1/customers/{customer.id}/wallets", status=404)


def test_wallets_by_customer_id(api_client, customer, make_wallet):
    active = make_wallet(currency="usd")
    services.wallet_terminate(make_wallet(currency="eur"))
    data = call(api_client, "get", f"/v1/customers/{customer.id}/wallets?expand=credits_available_breakdown")
    assert [item["id"] for item in data] == [active.id]
    assert "is_cached_fallback" not in data[0]
    call(api_client, "get", "/v1/customers/cust_nope/wallets", status=404)
    call(api_client, "get", "/v1/customers/%00/wallets", status=404)


# ---- GET /v1/wallets/{id}/balance/real-time(-cached)


@pytest.mark.parametrize("path", ["real-time", "real-time-cached"])
def test_real_time_balance_of_an_active_wallet(api_client, make_wallet, path):
    wallet = make_wallet(conversion_rate=Decimal("2"))
    grant(wallet, 100)
    data = call(
        api_client,
        "get",
        f"/v1/wallets/{wallet.id}/balance/{path}?expand=credits_available_breakdown",
        headers={"x-max-live": "60"},
    )
    assert (data["balance"], data["credit_balance"]) == ("200", "100")
    assert (data["real_time_balance"], data["real_time_credit_balance"]) == ("200", "100")
    assert data["current_period_usage"] == "0" and data["unpaid_invoices_amount"] == "0"
    assert data["is_cached_fallback"] is False
    assert data["balance_updated_at"] == data["updated_at"]
    assert_decimals_are_strings(data)


def test_real_time_balance_of_frozen_and_closed_wallets_is_zero(api_client, make_wallet):
    frozen, closed = make_wallet(currency="usd"), make_wallet(currency="eur")
    grant(frozen, 10)
    grant(closed, 10)
    services.wallet_freeze(frozen, reason="x")
    services.wallet_terminate(closed)
    for wallet in (frozen, closed):
        data = call(api_client, "get", f"/v1/wallets/{wallet.id}/balance/real-time")
        assert (data["real_time_balance"], data["real_time_credit_balance"]) == ("0", "0")
    assert call(api_client, "get", f"/v1/wallets/{frozen.id}/balance/real-time")["credit_balance"] == "10"


def test_breakdown_splits_spendable_purchased_and_free(api_client, wallet, credit):
    # upstream scenario 33 (with a direct purchase) plus the credits a debit could not spend
    credit(50, reason="PURCHASED_CREDIT_DIRECT")
    credit(100, reason="FREE_CREDIT_GRANT")
    credit(7, reason="CREDIT_NOTE")
    credit(3, reason="SUBSCRIPTION_CREDIT_GRANT", expiry_date=timezone.now() + timedelta(hours=1))
    call(
        api_client,
        "post",
        f"/v1/wallets/{wallet.id}/top-up",
        {"credits_to_add": "9", "transaction_reason": "PURCHASED_CREDIT_INVOICED"},
    )
    services.wallet_debit(wallet, credits=Decimal("20"), idempotency_key="spend", reason="INVOICE_PAYMENT")
    # the expiring lot is consumed first (soonest expiry), then the larger grants: 3 + 17 from the 100
    data = call(api_client, "get", f"/v1/wallets/{wallet.id}/balance/real-time")
    assert data["credits_available_breakdown"] == {"purchased": "50", "free": "90"}


def test_breakdown_ignores_expired_lots(api_client, wallet, credit):
    credit(5, expiry_date=timezone.now() + timedelta(seconds=0.3))
    time.sleep(0.35)
    data = call(api_client, "get", f"/v1/wallets/{wallet.id}/balance/real-time")
    assert data["credits_available_breakdown"] == {"purchased": "0", "free": "0"}
    assert data["credit_balance"] == "5"  # the sweep has not run yet


def test_balance_errors(api_client, other_tenant_client, wallet):
    call(api_client, "get", "/v1/wallets/wallet_nope/balance/real-time", status=404)
    call(other_tenant_client, "get", f"/v1/wallets/{wallet.id}/balance/real-time", status=404)
    assert_error(
        call(api_client, "get", f"/v1/wallets/{wallet.id}/balance/real-time?expand=customer", status=400), "validation_error", 400
    )
    assert_error(
        call(api_client, "get", f"/v1/wallets/{wallet.id}/balance/real-time?from_cache=1", status=400), "validation_error", 400
    )
    assert Wallet.objects.count() == 1
