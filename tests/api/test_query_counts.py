"""The SQL statements each hot request runs, pinned: a new query on these paths fails here first.

Each test names the statements in order (verb and table), so a failure shows what was added or
dropped. In tests every atomic block is a SAVEPOINT inside the test's transaction; in production
the same block is BEGIN ... COMMIT (or ROLLBACK), and a posting's writes share one round trip
(core.rawsql.pipeline); the statements are the same. The API key is read from the database on a
key's first request only (tenancy.key_cache); the warm-up request of ``warm`` does that, so the
hot requests below show none. The rate limiter's one Redis call is not SQL and is not listed, and
the connection health check sends nothing (core/db/postgresql). benchmarks/RESULTS.md records
what each statement removed here was worth.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from tenancy.services import api_key_create, api_key_revoke
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

AUTH = "SELECT tenancy_apikey"


def statements(send) -> tuple[object, list[str]]:
    """Make the request; return its response and its statements as "VERB table" strings."""
    with CaptureQueriesContext(connection) as queries:
        response = send()
    return response, [_kind(query["sql"]) for query in queries.captured_queries]


def _kind(sql: str) -> str:
    words = sql.split()
    if words[0] in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return words[0]
    top = _outside_parentheses(sql)
    table = re.search(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', top)
    lock = " FOR UPDATE" if "FOR UPDATE" in top else ""
    return f"{words[0]} {table.group(1) if table else '?'}{lock}"


def _outside_parentheses(sql: str) -> str:
    """``sql`` without what sits inside parentheses (subqueries, column lists)."""
    kept, depth = [], 0
    for char in sql:
        depth += char == "("
        if depth == 0:
            kept.append(char)
        depth -= char == ")"
    return "".join(kept)


@pytest.fixture
def warm(api_client, wallet, credit):
    """A wallet with one lot, and a key already marked used (its once-a-minute stamp is not in the count)."""
    credit(100)
    assert api_client.get(f"/v1/wallets/{wallet.id}").status_code == 200
    return wallet


def test_top_up(api_client, warm):
    body = {"credits_to_add": "10", "transaction_reason": "FREE_CREDIT_GRANT", "idempotency_key": "q1"}
    response, sql = statements(lambda: api_client.post(f"/v1/wallets/{warm.id}/top-up", body, format="json"))
    assert response.status_code == 200
    assert sql == [
        "SAVEPOINT",  # BEGIN
        # the lock, scoped to the key's environment, is the only read of the wallet; with it,
        # whether the environment has webhook endpoints and what lots past their expiry hold
        # (the breakdown needs no query after)
        "SELECT wallets_wallet FOR UPDATE",
        "INSERT wallets_wallettransaction",  # the ledger row; its unique key is the idempotency check
        "UPDATE wallets_wallet",  # balances
        "RELEASE",  # COMMIT
    ]


def test_top_up_replay_reads_the_first_row_after_the_refused_insert(api_client, warm):
    body = {"credits_to_add": "10", "transaction_reason": "FREE_CREDIT_GRANT", "idempotency_key": "q2"}
    api_client.post(f"/v1/wallets/{warm.id}/top-up", body, format="json")
    response, sql = statements(lambda: api_client.post(f"/v1/wallets/{warm.id}/top-up", body, format="json"))
    assert response.status_code == 200
    assert sql[1:] == [
        "SELECT wallets_wallet FOR UPDATE",
        "INSERT wallets_wallettransaction",  # refused by the unique index: the transaction rolls back
        "ROLLBACK",
        "RELEASE",  # (in tests only: the savepoint's end)
        "SELECT wallets_wallettransaction",  # the first row with this key
        "SELECT wallets_wallet",  # its wallet, for the balances as they stood
        "SELECT wallets_wallettransaction",
    ]


def test_debit(api_client, warm):
    body = {"credits": "1", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "q3"}
    response, sql = statements(lambda: api_client.post(f"/v1/wallets/{warm.id}/debit", body, format="json"))
    assert response.status_code == 200
    assert sql == [
        "SAVEPOINT",
        "SELECT wallets_wallet FOR UPDATE",  # the only read of the wallet; also says no lot is past its expiry
        "SELECT wallets_wallettransaction",  # the first page of open lots, sent with the lock
        "INSERT wallets_wallettransaction",
        "UPDATE wallets_wallettransaction",  # what the lots have left
        "INSERT wallets_creditallocation",
        "UPDATE wallets_wallet",
        "RELEASE",
    ]


def test_debit_expires_lots_past_their_expiry_first(api_client, warm, credit, monkeypatch):
    later = timezone.now() + timedelta(hours=2)
    credit(5, expiry_date=later - timedelta(hours=1))
    monkeypatch.setattr(timezone, "now", lambda: later)
    body = {"credits": "1", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "q5"}
    response, sql = statements(lambda: api_client.post(f"/v1/wallets/{warm.id}/debit", body, format="json"))
    assert response.status_code == 200
    lock = sql.index("SELECT wallets_wallet FOR UPDATE")  # (two hours on, the key's last-use stamp comes first)
    assert sql[lock : lock + 6] == [
        "SELECT wallets_wallet FOR UPDATE",  # 5 credits are in a lot past its expiry
        "SELECT wallets_wallettransaction",  # (the first page of open lots, read with the lock)
        "SELECT wallets_wallettransaction",  # so the lots past their expiry are read
        "INSERT wallets_wallettransaction",  # and expired (one CREDIT_EXPIRED row each)
        "UPDATE wallets_wallettransaction",
        "INSERT wallets_creditallocation",
    ]


def test_top_up_with_a_webhook_endpoint_records_its_event(api_client, warm, environment):
    WebhookEndpoint.objects.create(environment=environment, url="https://example.com/hook")
    body = {"credits_to_add": "10", "transaction_reason": "FREE_CREDIT_GRANT", "idempotency_key": "q4"}
    response, sql = statements(lambda: api_client.post(f"/v1/wallets/{warm.id}/top-up", body, format="json"))
    assert response.status_code == 200
    assert sql[2:6] == [
        "INSERT wallets_wallettransaction",
        "UPDATE wallets_wallet",
        "SELECT webhooks_webhookendpoint",
        "INSERT webhooks_webhookevent",
    ]
    assert sql[6] == "INSERT webhooks_webhookdelivery"


def test_get_wallet(api_client, warm):
    response, sql = statements(lambda: api_client.get(f"/v1/wallets/{warm.id}"))
    assert response.status_code == 200
    assert sql == ["SELECT wallets_wallet"]  # the wallet with what its breakdown needs


def test_customer_wallets_by_lookup_key(api_client, warm, customer, make_wallet):
    make_wallet(currency="eur")
    response, sql = statements(lambda: api_client.get(f"/v1/customers/wallets?lookup_key={customer.external_id}"))
    assert response.status_code == 200 and len(response.json()) == 2
    assert sql == ["SELECT customers_customer"]  # the customer and its active wallets, joined


def test_transaction_search(api_client, warm, credit):
    for amount in range(1, 6):
        credit(amount)
    response, sql = statements(
        lambda: api_client.post("/v1/wallets/transactions/search", {"id": warm.id, "limit": 50}, format="json")
    )
    assert response.status_code == 200 and response.json()["pagination"]["total"] == 6
    assert sql == ["SELECT wallets_wallettransaction", "SELECT wallets_wallettransaction"]  # the page, the count


def test_a_key_is_read_on_its_first_request_and_again_after_any_change_to_it(api_client, api_key, warm):
    # warm's request read the key; a new key is read on its own first request
    other = api_key_create(environment=api_key.api_key.environment, name="second")
    response, sql = statements(lambda: APIClient(HTTP_X_API_KEY=other.raw_key).get(f"/v1/wallets/{warm.id}"))
    assert response.status_code == 200 and sql[0] == AUTH
    response, sql = statements(lambda: api_client.get(f"/v1/wallets/{warm.id}"))
    assert response.status_code == 200 and AUTH not in sql

    api_key_revoke(api_key.api_key)
    response, sql = statements(lambda: api_client.get(f"/v1/wallets/{warm.id}"))
    assert response.status_code == 401 and sql == [AUTH]


def test_transaction_page_reads_the_debits_breakdowns_in_one_query(api_client, warm, credit):
    # given a page of credits and debits, one of them drawn from several lots
    for amount in range(1, 6):
        credit(amount)
    for number in range(3):
        body = {"credits": "40", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": f"page-{number}"}
        assert api_client.post(f"/v1/wallets/{warm.id}/debit", body, format="json").status_code == 200
    response, sql = statements(
        lambda: api_client.post("/v1/wallets/transactions/search", {"id": warm.id, "limit": 50}, format="json")
    )
    items = response.json()["items"]
    assert response.status_code == 200 and len(items) == 9
    assert all(("consumption_breakdown" in item) == (item["type"] == "debit") for item in items)
    assert sql == [
        "SELECT wallets_wallettransaction",  # the page
        "SELECT wallets_creditallocation",  # every debit's lots, for the whole page (none on a page of credits)
        "SELECT wallets_wallettransaction",  # the count
    ]


def test_debit_preview(api_client, warm):
    body = {"credits": "1"}
    response, sql = statements(lambda: api_client.post(f"/v1/wallets/{warm.id}/debit/preview", body, format="json"))
    assert response.status_code == 200 and response.json()["would_succeed"] is True
    # In production these run in their own transaction, opened with SET TRANSACTION ISOLATION LEVEL
    # REPEATABLE READ, READ ONLY (core.db.snapshots); in tests they join the test's transaction.
    assert sql == [
        "SELECT wallets_wallet",  # the wallet, and what lots past their expiry hold (none: no query for them)
        "SELECT wallets_wallettransaction",  # the first page of open lots, in consumption order
    ]
