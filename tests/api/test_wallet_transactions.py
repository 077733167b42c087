"""A wallet's ledger: GET /v1/wallets/{id}/transactions (upstream §2.13) and
POST /v1/wallets/transactions/search (seed 002, upstream §2.14)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from customers.models import Customer
from tests.api.test_wallet_contract import assert_decimals_are_strings, assert_error, call
from wallets import selectors, services
from wallets.models import Wallet, WalletTransaction

pytestmark = pytest.mark.django_db

SEARCH = "/v1/wallets/transactions/search"
IN_A_YEAR = (datetime.now(UTC) + timedelta(days=365)).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def ledger(make_customer, make_wallet, api_key):
    """Two customers' wallets; rows oldest first: a.grant, a.purchase, a.debit, b.grant."""
    a = make_wallet(owner=make_customer(external_id="alice"))
    b = make_wallet(owner=make_customer(external_id="bob"), currency="eur")
    actor = api_key.api_key.id
    rows = {
        "a.grant": services.wallet_top_up(
            a,
            credits=Decimal("100"),
            reason="FREE_CREDIT_GRANT",
            expiry_date=IN_A_YEAR,
            priority=1,
            idempotency_key="grant-a",
            description="Welcome credits",
            actor=actor,
        ).transaction,
        "a.purchase": services.wallet_top_up(
            a, credits=Decimal("250.5"), reason="PURCHASED_CREDIT_DIRECT", idempotency_key="buy-a", actor=actor
        ).transaction,
    }
    rows["a.debit"] = services.wallet_debit(
        a, credits=Decimal("30"), idempotency_key="use-a", reason="INVOICE_PAYMENT"
    ).transaction
    rows["b.grant"] = services.wallet_top_up(
        b, credits=Decimal("7"), reason="FREE_CREDIT_GRANT", idempotency_key="grant-b"
    ).transaction
    return a, b, rows


def ids(data) -> list[str]:
    return [item["id"] for item in data["items"]]


# ---- GET /v1/wallets/{id}/transactions


def test_wallet_transactions_newest_first_with_every_field(api_client, ledger):
    a, _, rows = ledger
    data = call(api_client, "get", f"/v1/wallets/{a.id}/transactions")
    assert ids(data) == [rows["a.debit"].id, rows["a.purchase"].id, rows["a.grant"].id]
    assert data["pagination"] == {"total": 3, "limit": 50, "offset": 50}
    debit = data["items"][0]
    assert debit["type"] == "debit" and debit["transaction_reason"] == "INVOICE_PAYMENT"
    assert debit["credit_amount"] == "30" and debit["credits_available"] == "0"
    assert debit["credit_balance_before"] == "350.5" and debit["credit_balance_after"] == "320.5"
    assert debit["conversion_rate"] == "1" and debit["topup_conversion_rate"] is None
    assert debit["metadata"]["consumed_credit_tx_ids"] == rows["a.grant"].id
    grant = data["items"][2]
    assert grant["expiry_date"] == iso(IN_A_YEAR) and grant["priority"] == 1
    assert grant["credits_available"] == "70"
    assert "customer" not in grant and "wallet" not in grant
    assert_decimals_are_strings(data)


def test_wallet_transactions_sdk_query(api_client, ledger):
    # the SDK's get_wallet_transactions query; its `id` is ignored because the path names the wallet
    a, b, rows = ledger
    query = (
        f"credits_available_gt=0.5&expand=customer&id={b.id}&limit=5&offset=0&order=desc"
        "&start_time=2025-01-01T00%3A00%3A00Z&transaction_reason=PURCHASED_CREDIT_DIRECT&type=credit"
    )
    data = call(api_client, "get", f"/v1/wallets/{a.id}/transactions?{query}")
    assert ids(data) == [rows["a.purchase"].id]
    assert data["items"][0]["customer"]["external_id"] == "alice"
    assert data["pagination"] == {"total": 1, "limit": 5, "offset": 5}


def test_wallet_transactions_pages_never_overlap(api_client, ledger):
    a, _, rows = ledger
    first = call(api_client, "get", f"/v1/wallets/{a.id}/transactions?limit=2&order=asc")
    second = call(api_client, "get", f"/v1/wallets/{a.id}/transactions?limit=2&offset={first['pagination']['offset']}&order=asc")
    assert ids(first) + ids(second) == [rows["a.grant"].id, rows["a.purchase"].id, rows["a.debit"].id]
    assert second["pagination"] == {"total": 3, "limit": 2, "offset": 4}


@pytest.mark.parametrize(
    "query, expected",
    [
        ("type=debit", ["a.debit"]),
        ("transaction_status=completed&order=asc", ["a.grant", "a.purchase", "a.debit"]),
        ("transaction_status=pending", []),
        ("priority=1", ["a.grant"]),
        ("reference_type=EXTERNAL&reference_id=buy-a", ["a.purchase"]),
        ("credits_available_gt=70", ["a.purchase"]),
        ("credits_available_gt=69.999999999&order=asc", ["a.grant", "a.purchase"]),
        (f"expiry_date_before={iso(IN_A_YEAR)}", ["a.grant"]),
        (f"expiry_date_after={iso(IN_A_YEAR + timedelta(seconds=1))}", []),
        ("end_time=2000-01-01T00:00:00Z", []),
        ("created_by=nobody", []),
        ("status=published&order=asc", ["a.grant", "a.purchase", "a.debit"]),
        ("status=archived", []),
    ],
)
def test_wallet_transaction_filters(api_client, ledger, query, expected):
    a, _, rows = ledger
    data = call(api_client, "get", f"/v1/wallets/{a.id}/transactions?{query}")
    assert ids(data) == [rows[name].id for name in expected]


def test_wallet_transactions_filter_by_creator(api_client, ledger, api_key):
    a, _, rows = ledger
    data = call(api_client, "get", f"/v1/wallets/{a.id}/transactions?created_by={api_key.api_key.id}&order=asc")
    assert ids(data) == [rows["a.grant"].id, rows["a.purchase"].id]


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=0.5", "limit"),
        ("limit=2000", "limit"),
        ("offset=-1", "offset"),
        ("order=sideways", "order"),
        ("type=refund", "type"),
        ("transaction_status=done", "transaction_status"),
        ("transaction_reason=BONUS", "transaction_reason"),
        ("reference_type=EXTERNAL", "reference_type"),
        ("reference_id=buy-a", "reference_type"),
        ("start_time=yesterday", "start_time"),
        ("start_time=2030-01-02T00:00:00Z&end_time=2030-01-01T00:00:00Z", "end_time"),
        ("expiry_date_before=2030-01-01T00:00:00Z&expiry_date_after=2030-02-01T00:00:00Z", "expiry_date_before"),
        ("credits_available_gt=lots", "credits_available_gt"),
        ("priority=-2", "priority"),
        ("priority=%D9%A1", "priority"),
        ("expand=invoice", "expand"),
        ("created_by=%00", "created_by"),
    ],
)
def test_bad_wallet_transaction_query_is_a_400(api_client, ledger, query, field):
    a, _, _ = ledger
    data = call(api_client, "get", f"/v1/wallets/{a.id}/transactions?{query}", status=400)
    assert_error(data, "validation_error", 400, field=field)


def test_unknown_or_foreign_wallet_transactions_are_404(api_client, other_tenant_client, ledger):
    a, _, _ = ledger
    call(api_client, "get", "/v1/wallets/wallet_nope/transactions", status=404)
    call(other_tenant_client, "get", f"/v1/wallets/{a.id}/transactions", status=404)


# ---- POST /v1/wallets/transactions/search


def test_empty_search_lists_the_environment_newest_first(api_client, ledger):
    _, _, rows = ledger
    data = call(api_client, "post", SEARCH, {})
    assert ids(data) == [rows[name].id for name in ("b.grant", "a.debit", "a.purchase", "a.grant")]
    assert data["pagination"] == {"total": 4, "limit": 50, "offset": 50}


def test_search_by_wallet_id_type_and_reason(api_client, ledger):
    # SDK acceptance step 12: `id` is the WALLET id
    a, _, rows = ledger
    body = {"id": a.id, "type": "credit", "transaction_reason": "PURCHASED_CREDIT_DIRECT"}
    assert ids(call(api_client, "post", SEARCH, body)) == [rows["a.purchase"].id]


def test_search_with_filters_sort_limit_and_offset(api_client, ledger):
    # SDK acceptance step 13: two credits of one wallet, ascending, one per page
    a, _, rows = ledger
    body = {
        "filters": [
            {"field": "wallet_id", "operator": "eq", "data_type": "string", "value": {"string": a.id}},
            {"field": "type", "operator": "eq", "data_type": "string", "value": {"string": "credit"}},
        ],
        "sort": [{"field": "created_at", "direction": "asc"}],
        "limit": 1,
        "offset": 0,
    }
    first = call(api_client, "post", SEARCH, body)
    second = call(api_client, "post", SEARCH, {**body, "offset": 1})
    assert (ids(first), ids(second)) == ([rows["a.grant"].id], [rows["a.purchase"].id])
    assert first["pagination"] == {"total": 2, "limit": 1, "offset": 1}
    assert second["pagination"] == {"total": 2, "limit": 1, "offset": 2}


def test_search_expiry_and_credits_available(api_client, ledger):
    # SDK acceptance step 14 (credits_available_gt as a JSON number, as the SDK sends it)
    _, _, rows = ledger
    body = f'{{"expiry_date_after": "{iso(IN_A_YEAR - timedelta(days=1))}", "credits_available_gt": 0.0}}'
    assert ids(call(api_client, "post", SEARCH, body)) == [rows["a.grant"].id]
    assert ids(call(api_client, "post", SEARCH, {"credits_available_gt": "70"})) == [rows["a.purchase"].id]


def test_sdk_full_search_body_is_accepted(api_client, ledger):
    a, _, _ = ledger
    body = (
        '{"created_by":"user_01","credits_available_gt":0.0,"end_time":"2030-01-01T00:00:00Z","expand":"wallet,customer",'
        '"expiry_date_after":"2024-01-01T00:00:00Z","expiry_date_before":"2031-01-01T00:00:00Z",'
        f'"filters":[{{"data_type":"string","field":"wallet_id","operator":"eq","value":{{"string":"{a.id}"}}}},'
        '{"data_type":"number","field":"credit_amount","operator":"gt","value":{"number":100.0}},'
        '{"data_type":"array","field":"transaction_reason","operator":"in","value":{"array":["PURCHASED_CREDIT_DIRECT","FREE_CREDIT_GRANT"]}},'
        '{"data_type":"date","field":"created_at","operator":"after","value":{"date":"2025-01-01T00:00:00Z"}}],'
        f'"id":"{a.id}","limit":10,"offset":0,"order":"desc","priority":1,"reference_id":"idem-1","reference_type":"EXTERNAL",'
        '"sort":[{"direction":"desc","field":"created_at"}],"start_time":"2025-01-01T00:00:00Z","status":"published",'
        '"transaction_reason":"PURCHASED_CREDIT_DIRECT","transaction_status":"completed","type":"credit"}'
    )
    data = call(api_client, "post", SEARCH, body)
    assert data == {"items": [], "pagination": {"total": 0, "limit": 10, "offset": 10}}


@pytest.mark.parametrize(
    "condition, expected",
    [
        ({"field": "customer_id", "operator": "eq", "value": {"string": "CUSTOMER_B"}}, ["b.grant"]),
        ({"field": "description", "operator": "contains", "value": {"string": "WELCOME"}}, ["a.grant"]),
        (
            {"field": "description", "operator": "not_contains", "value": {"string": "welcome"}},
            ["b.grant", "a.debit", "a.purchase"],
        ),
        ({"field": "idempotency_key", "operator": "contains", "value": {"string": "%"}}, []),
        ({"field": "credit_amount", "operator": "gt", "value": {"number": 100}}, ["a.purchase"]),
        ({"field": "credit_amount", "operator": "lt", "value": {"number": "30"}}, ["b.grant"]),
        # gte is a no-op upstream (a quirk); here it means ≥
        ({"field": "credit_amount", "operator": "gte", "value": {"number": 100}}, ["a.purchase", "a.grant"]),
        ({"field": "credit_amount", "operator": "eq", "value": {"number": 250.5}}, ["a.purchase"]),
        ({"field": "priority", "operator": "eq", "value": {"number": 1}}, ["a.grant"]),
        ({"field": "priority", "operator": "gte", "value": {"number": 0}}, ["a.grant"]),
        ({"field": "transaction_reason", "operator": "in", "value": {"array": ["INVOICE_PAYMENT", "NOPE"]}}, ["a.debit"]),
        ({"field": "currency", "operator": "not_in", "value": {"array": ["usd"]}}, ["b.grant"]),
        ({"field": "expiry_date", "operator": "before", "value": {"date": iso(IN_A_YEAR + timedelta(days=1))}}, ["a.grant"]),
        ({"field": "expiry_date", "operator": "after", "value": {"date": iso(IN_A_YEAR)}}, []),
        (
            {"field": "created_at", "operator": "after", "value": {"date": "2000-01-01T00:00:00Z"}},
            ["b.grant", "a.debit", "a.purchase", "a.grant"],
        ),
        ({"field": "created_at", "operator": "gte", "value": {"date": "2999-01-01T00:00:00Z"}}, []),
    ],
)
def test_filter_dsl_operators(api_client, ledger, condition, expected):
    _, b, rows = ledger
    if condition["value"].get("string") == "CUSTOMER_B":
        condition = {**condition, "value": {"string": b.customer_id}}
    data = call(api_client, "post", SEARCH, {"filters": [condition]})
    assert ids(data) == [rows[name].id for name in expected]


def test_sort_dsl_runs_before_the_created_at_tiebreak(api_client, ledger):
    _, _, rows = ledger
    body = {"sort": [{"field": "credit_amount", "direction": "desc"}]}
    assert ids(call(api_client, "post", SEARCH, body)) == [rows[n].id for n in ("a.purchase", "a.grant", "a.debit", "b.grant")]
    body = {"sort": [{"field": "priority"}], "order": "asc"}  # direction defaults to asc; nulls last
    assert ids(call(api_client, "post", SEARCH, body))[0] == rows["a.grant"].id


@pytest.mark.parametrize(
    "body, field",
    [
        ({"filters": [{"field": "tenant_id", "operator": "eq", "value": {"string": "x"}}]}, "filters.0.field"),
        ({"filters": [{"field": "nope", "operator": "eq", "value": {"string": "x"}}]}, "filters.0.field"),
        ({"filters": [{"field": "credit_amount", "operator": "contains", "value": {"string": "1"}}]}, "filters[0].operator"),
        ({"filters": [{"field": "credit_amount", "operator": "gt", "value": {"string": "1"}}]}, "filters[0].value.number"),
        ({"filters": [{"field": "wallet_id", "operator": "in", "value": {"array": []}}]}, "filters[0].value.array"),
        ({"filters": [{"field": "priority", "operator": "eq", "value": {"number": 1.5}}]}, "filters[0].value.number"),
        ({"filters": [{"field": "credit_amount", "operator": "gt", "value": {"number": "1e400"}}]}, "filters[0].value.number"),
        ({"filters": [{"field": "created_at", "operator": "before", "value": {"date": "soon"}}]}, "filters.0.value.date"),
        ({"filters": [{"field": "type", "operator": "like", "value": {"string": "x"}}]}, "filters.0.operator"),
        ({"filters": {"field": "type"}}, "filters"),
        ({"filters": [{"field": "type", "operator": "eq", "value": {}}] * 21}, "filters"),
        ({"sort": [{"field": "metadata"}]}, "sort.0.field"),
        ({"sort": [{"field": "amount", "direction": "up"}]}, "sort.0.direction"),
        ({"sort": "created_at"}, "sort"),
        ({"limit": 0.5}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": "1"}, "offset"),
        ({"id": 5}, "id"),
        ({"type": "refund"}, "type"),
        ({"transaction_status": "done"}, "transaction_status"),
        ({"reference_type": "EXTERNAL"}, "reference_type"),
        ({"reference_type": "EXTERNAL", "reference_id": ""}, "reference_type"),
        ({"start_time": "2030-01-02T00:00:00Z", "end_time": "2030-01-01T00:00:00Z"}, "end_time"),
        ({"credits_available_gt": True}, "credits_available_gt"),
        ({"priority": "1"}, "priority"),
        ({"expand": "invoice"}, "expand"),
        ({"expand": "customer,"}, None),
    ],
)
def test_bad_search_is_a_400_naming_the_field(api_client, ledger, body, field):
    if field is None:  # an empty segment is tolerated, as a trailing comma
        call(api_client, "post", SEARCH, body)
        return
    data = call(api_client, "post", SEARCH, body, status=400)
    assert_error(data, "validation_error", 400)
    # the list index is part of the path (the error handler may leave out index 0)
    assert data["details"]["field"] in (field, field.replace(".0.", ".")), data


def test_expand_customer_wallet_and_created_by_user(api_client, ledger, api_key):
    a, _, _rows = ledger
    body = {"id": a.id, "expand": "customer,wallet,created_by_user", "order": "asc"}
    data = call(api_client, "post", SEARCH, body)
    grant, _purchase, debit = data["items"]
    assert grant["customer"]["id"] == a.customer_id and grant["customer"]["external_id"] == "alice"
    assert grant["wallet"]["id"] == a.id and grant["wallet"]["credit_balance"] == "320.5"
    assert grant["wallet"]["credits_available_breakdown"] == {"purchased": "250.5", "free": "70"}
    assert grant["created_by_user"] == {"id": api_key.api_key.id, "name": "tests", "type": "api_key"}
    assert debit["created_by_user"] is None  # written without an actor
    assert_decimals_are_strings(data)


def test_query_expand_wins_over_the_body(api_client, ledger):
    a, _, _ = ledger
    data = call(api_client, "post", f"{SEARCH}?expand=wallet", {"id": a.id, "expand": "customer"})
    assert "wallet" in data["items"][0] and "customer" not in data["items"][0]
    data = call(api_client, "post", f"{SEARCH}?expand=bogus", {"id": a.id, "expand": "customer"}, status=400)
    assert_error(data, "validation_error", 400, field="expand")


def test_seed_002_shaped_body(api_client, ledger):
    # seed 002's members with meaningful values
    a, _, rows = ledger
    body = (
        '{"created_by": "", "credits_available_gt": 123, "end_time": "2099-11-07T05:31:56Z", "expand": "wallet",'
        ' "expiry_date_after": "", "expiry_date_before": "",'
        f' "filters": [{{"field": "wallet_id", "value": {{"string": "{a.id}"}}, "operator": "eq"}}],'
        f' "id": "{a.id}", "limit": 500, "offset": 0, "priority": null, "reference_id": "", "reference_type": "",'
        ' "sort": [{"field": "created_at"}], "start_time": "2023-11-07T05:31:56Z"}'
    )
    data = call(api_client, "post", SEARCH, body, status=400)
    # an empty string is not an RFC 3339 time
    assert_error(data, "validation_error", 400)
    assert data["details"]["field"] in ("expiry_date_after", "expiry_date_before")
    body = body.replace('"expiry_date_after": "", "expiry_date_before": "", ', "")
    data = call(api_client, "post", SEARCH, body)
    assert ids(data) == [rows["a.purchase"].id]
    assert data["pagination"] == {"total": 1, "limit": 500, "offset": 500}


def test_read_only_key_may_search_and_tenants_see_only_their_rows(read_only_client, other_tenant_client, ledger):
    assert call(read_only_client, "post", SEARCH, {})["pagination"]["total"] == 4
    a, _, _ = ledger
    assert call(other_tenant_client, "post", SEARCH, {"id": a.id})["pagination"]["total"] == 0
    assert call(other_tenant_client, "post", SEARCH, {})["pagination"]["total"] == 0


def test_search_page_takes_a_constant_number_of_queries(
    api_client, make_customer, make_wallet, api_key, django_assert_max_num_queries
):
    for _ in range(10):
        wallet = make_wallet(owner=make_customer())
        services.wallet_top_up(wallet, credits=Decimal("1"), reason="FREE_CREDIT_GRANT", actor=api_key.api_key.id)
    # the key lookup, the page (customer and wallet joined), the count, one breakdown, one key lookup
    with django_assert_max_num_queries(6):
        data = call(api_client, "post", SEARCH, {"expand": "customer,wallet,created_by_user", "limit": 1000})
    assert data["pagination"]["total"] == 10


@pytest.mark.usefixtures("ledger_may_drift")  # rows bulk-inserted past the ledger, for the planner
def test_search_walks_the_created_at_indexes(environment):
    # given 10,100 rows over 200 customers' wallets, inserted in bulk and analysed, so the planner
    # chooses as it would in production (on a handful of rows it sorts whatever the indexes)
    customers = Customer.objects.bulk_create(
        Customer(tenant_id=environment.tenant_id, environment=environment, external_id=f"bulk-{n}") for n in range(200)
    )
    wallets = Wallet.objects.bulk_create(
        Wallet(
            tenant_id=environment.tenant_id,
            environment=environment,
            customer=customer,
            currency="usd",
            conversion_rate=1,
            topup_conversion_rate=1,
        )
        for customer in customers
    )
    start = datetime.now(UTC) - timedelta(days=100)
    # The first wallet is busier (300 rows, three per step); every wallet's rows span the whole period.
    writers = wallets[:1] * 3 + wallets[1:]
    WalletTransaction.objects.bulk_create(
        WalletTransaction(
            tenant_id=environment.tenant_id,
            environment=environment,
            wallet=wallet,
            customer_id=wallet.customer_id,
            type="credit",
            transaction_reason="FREE_CREDIT_GRANT",
            credit_amount=1,
            amount=1,
            credit_balance_before=0,
            credit_balance_after=1,
            currency="usd",
            created_at=start + timedelta(seconds=step * len(writers) + position),
        )
        for step in range(50)
        for position, wallet in enumerate(writers)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE wallets_wallettransaction")
    one = wallets[0]
    by_customer = selectors.FilterCondition(field="customer_id", operator="eq", value={"string": one.customer_id})
    cases = [
        (selectors.TransactionQuery(wallet_id=one.id), "wtxn_wallet_created_idx"),
        (selectors.TransactionQuery(filters=[by_customer]), "wtxn_env_customer_created_idx"),
        (selectors.TransactionQuery(), "wtxn_env_created_idx"),
        # A wallet's narrowing filters: indexes that hold only the rows they can match (B4).
        (selectors.TransactionQuery(wallet_id=one.id, expiry_date_before=start), "wtxn_wallet_expiry_idx"),
        (selectors.TransactionQuery(wallet_id=one.id, credits_available_gt=Decimal(0)), "wtxn_wallet_available_idx"),
    ]
    for query, index in cases:
        # when a page of the search is planned
        plan = selectors.wallet_transaction_search(environment_id=environment.id, query=query)[:50].explain()
        # then it walks the index that already holds the rows in created_at order
        assert index in plan, plan
