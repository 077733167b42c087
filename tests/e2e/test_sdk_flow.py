"""End to end: the official Flexprice Python SDK (flexprice==2.1.43), unchanged, against a real
gunicorn serving this project on the test database.

The first 20 steps are the acceptance script of sdk-wire-notes.md, plus a POST_PAID wallet so every
wallet type is exercised; step 21 reads a debit's consumption_breakdown through the SDK's own model.
Each step runs even when an earlier one failed (unless it needs that step's result), and the test
fails with one PASS/FAIL line per step.
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flexprice import Flexprice
from flexprice.models import errors

from tenancy.services import api_key_create, environment_get_or_create
from tests.e2e.server import live_api  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]


class Blocked(Exception):
    pass


class Steps:
    """Runs numbered steps, remembering results and failures, so one run reports every step."""

    def __init__(self):
        self.results: dict[str, object] = {}
        self.lines: list[str] = []
        self.failed = 0

    def need(self, *names):
        missing = [name for name in names if name not in self.results]
        if missing:
            raise Blocked(f"blocked: needs {', '.join(missing)}")
        return [self.results[name] for name in names]

    def run(self, number: int, title: str, step, *, saves: str | None = None):
        try:
            result = step()
        except Blocked as exc:
            self.failed += 1
            self.lines.append(f"FAIL {number:2} {title} ({exc})")
        except Exception as exc:  # the report names every failure; the assert below fails the test
            self.failed += 1
            self.lines.append(f"FAIL {number:2} {title}: {type(exc).__name__}: {exc}")
        else:
            if saves:
                self.results[saves] = result
            self.lines.append(f"PASS {number:2} {title}")

    def report(self) -> str:
        passed = len(self.lines) - self.failed
        return "\n".join([*self.lines, f"{passed} passed, {self.failed} failed"])


def near(when: datetime | None, target: datetime, tolerance=timedelta(days=1)) -> bool:
    return when is not None and abs(when.astimezone(UTC) - target) <= tolerance


def test_the_official_sdk_drives_the_wallet_api(live_api, transactional_db):  # noqa: F811
    environment = environment_get_or_create(tenant_name="sdk", environment_name="live")
    raw_key = api_key_create(environment=environment, name="sdk-e2e").raw_key
    sdk = Flexprice(api_key_auth=raw_key, server_url=f"{live_api}/v1", timeout_ms=30000)
    steps = Steps()
    external_id = f"sdk-{uuid.uuid4().hex[:10]}"
    top_up_key = f"idem-{uuid.uuid4().hex}"
    expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)

    def create_customer():
        customer = sdk.customers.create_customer(external_id=external_id, name="SDK Customer", email="sdk@example.com")
        assert customer.id.startswith("cust_") and customer.external_id == external_id
        return customer

    steps.run(1, "create customer", create_customer, saves="customer")

    def create_prepaid():
        (customer,) = steps.need("customer")
        wallet = sdk.wallets.create_wallet(customer_id=customer.id, currency="USD", wallet_type="PRE_PAID", conversion_rate="1")
        assert wallet.id.startswith("wallet_")
        assert (wallet.customer_id, wallet.currency, wallet.wallet_type) == (customer.id, "usd", "PRE_PAID")
        assert (wallet.conversion_rate, wallet.credit_balance, wallet.balance) == ("1", "0", "0")
        assert wallet.wallet_status == "active"
        return wallet

    steps.run(2, "create a PRE_PAID USD wallet", create_prepaid, saves="prepaid")

    def get_wallet():
        (prepaid,) = steps.need("prepaid")
        wallet = sdk.wallets.get_wallet(id=prepaid.id)
        assert (wallet.id, wallet.currency, wallet.credit_balance) == (prepaid.id, "usd", "0")

    steps.run(3, "get the wallet", get_wallet)

    def top_up_500(wallet_id):
        return sdk.wallets.top_up_wallet(
            id=wallet_id,
            credits_to_add="500",
            transaction_reason="PURCHASED_CREDIT_DIRECT",
            idempotency_key=top_up_key,
            description="sdk top-up",
            metadata={"source": "e2e"},
        )

    def top_up():
        (prepaid,) = steps.need("prepaid")
        response = top_up_500(prepaid.id)
        txn = response.wallet_transaction
        assert txn.id.startswith("wtxn_") and txn.credit_amount == "500"
        assert txn.transaction_reason == "PURCHASED_CREDIT_DIRECT" and txn.expiry_date is None
        assert response.wallet.credit_balance == "500" and response.wallet.balance == "500"
        return txn

    steps.run(4, "top up 500 PURCHASED_CREDIT_DIRECT credits with an idempotency key", top_up, saves="top_up")

    def replay():
        prepaid, first = steps.need("prepaid", "top_up")
        try:
            response = top_up_500(prepaid.id)
        except errors.FlexpriceDefaultError as exc:
            assert exc.status_code == 409, exc
        else:
            assert response.wallet_transaction.id == first.id

    steps.run(5, "replay the same top-up (409 or the same transaction)", replay)

    def no_double_credit():
        (prepaid,) = steps.need("prepaid")
        assert sdk.wallets.get_wallet(id=prepaid.id).credit_balance == "500"

    steps.run(6, "no double credit (credit_balance 500)", no_double_credit)

    def create_promotional_and_postpaid():
        (customer,) = steps.need("customer")
        promo = sdk.wallets.create_wallet(customer_id=customer.id, currency="USD", wallet_type="PROMOTIONAL")
        postpaid = sdk.wallets.create_wallet(
            external_customer_id=external_id, currency="USD", wallet_type="POST_PAID", conversion_rate="2"
        )
        assert promo.wallet_type == "PROMOTIONAL" and postpaid.wallet_type == "POST_PAID"
        assert postpaid.customer_id == customer.id and postpaid.conversion_rate == "2"
        return promo

    steps.run(7, "create a PROMOTIONAL wallet (and a POST_PAID one)", create_promotional_and_postpaid, saves="promo")

    def top_up_with_expiry():
        (promo,) = steps.need("promo")
        response = sdk.wallets.top_up_wallet(
            id=promo.id,
            credits_to_add="100",
            transaction_reason="FREE_CREDIT_GRANT",
            expiry_date_utc=expiry.isoformat().replace("+00:00", "Z"),
            priority=1,
        )
        txn = response.wallet_transaction
        assert txn.credit_amount == "100" and txn.priority == 1
        assert near(txn.expiry_date, expiry), txn.expiry_date
        assert response.wallet.credit_balance == "100"

    steps.run(8, "top up 100 FREE_CREDIT_GRANT credits with expiry and priority", top_up_with_expiry)

    def wallet_types(wallets):
        return sorted(wallet.wallet_type for wallet in wallets)

    every_type = ["POST_PAID", "PRE_PAID", "PROMOTIONAL"]

    def by_id():
        (customer,) = steps.need("customer")
        wallets = sdk.wallets.get_customer_wallets(id=customer.id)
        assert wallet_types(wallets) == every_type

    steps.run(9, "list customer wallets by id", by_id)

    def by_lookup_key():
        wallets = sdk.wallets.get_customer_wallets(
            lookup_key=external_id, include_real_time_balance=True, expand="credits_available_breakdown"
        )
        assert wallet_types(wallets) == every_type
        prepaid = next(wallet for wallet in wallets if wallet.wallet_type == "PRE_PAID")
        assert prepaid.real_time_balance == "500"
        assert prepaid.credits_available_breakdown.purchased == "500"

    steps.run(10, "list customer wallets by lookup_key", by_lookup_key)

    def by_customer_path():
        (customer,) = steps.need("customer")
        assert wallet_types(sdk.wallets.get_wallets_by_customer_id(id=customer.id)) == every_type

    steps.run(11, "GET /customers/{id}/wallets", by_customer_path)

    def search_by_wallet():
        (prepaid,) = steps.need("prepaid")
        found = sdk.wallets.query_wallet_transaction(id=prepaid.id, type_="credit", transaction_reason="PURCHASED_CREDIT_DIRECT")
        assert [item.wallet_id for item in found.items] == [prepaid.id]
        assert found.pagination.total == 1

    steps.run(12, "search transactions by wallet id + type + reason", search_by_wallet)

    def search_pages():
        customer, first = steps.need("customer", "top_up")
        common = {
            "filters": [
                {"field": "customer_id", "operator": "eq", "data_type": "string", "value": {"string": customer.id}},
                {"field": "type", "operator": "eq", "data_type": "string", "value": {"string": "credit"}},
            ],
            "sort": [{"field": "created_at", "direction": "asc"}],
            "limit": 1,
        }
        page_one = sdk.wallets.query_wallet_transaction(**common, offset=0)
        page_two = sdk.wallets.query_wallet_transaction(**common, offset=1)
        assert page_one.pagination.total == page_two.pagination.total == 2
        assert (page_one.pagination.limit, page_one.pagination.offset) == (1, 1)
        assert [item.id for item in page_one.items] == [first.id]
        assert [item.transaction_reason for item in page_two.items] == ["FREE_CREDIT_GRANT"]

    steps.run(13, "search with filters, sort, limit 1 and offsets 0 and 1", search_pages)

    def search_expiring():
        (customer,) = steps.need("customer")
        found = sdk.wallets.query_wallet_transaction(
            filters=[{"field": "customer_id", "operator": "eq", "data_type": "string", "value": {"string": customer.id}}],
            expiry_date_after=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            credits_available_gt=50,
            expand="wallet,customer",
        )
        assert [item.credit_amount for item in found.items] == ["100"]
        assert found.items[0].customer.id == customer.id and found.items[0].wallet.wallet_type == "PROMOTIONAL"

    steps.run(14, "search with expiry_date_after + credits_available_gt", search_expiring)

    def wallet_transactions():
        prepaid, first = steps.need("prepaid", "top_up")
        page = sdk.wallets.get_wallet_transactions(id_path_parameter=prepaid.id, limit=10, offset=0, order="desc")
        assert [item.id for item in page.items] == [first.id]
        assert page.items[0].credit_balance_after == "500"

    steps.run(15, "GET /wallets/{id}/transactions", wallet_transactions)

    def balance_of(name, expected):
        def check():
            (wallet,) = steps.need(name)
            balance = sdk.wallets.get_wallet_balance(id=wallet.id, expand="credits_available_breakdown")
            assert (balance.real_time_balance, balance.real_time_credit_balance) == (expected, expected)
            assert (balance.balance, balance.credit_balance) == (expected, expected)
            assert balance.is_cached_fallback is False

        return check

    steps.run(16, "real-time balance 500 (prepaid)", balance_of("prepaid", "500"))
    steps.run(17, "real-time balance 100 (promotional)", balance_of("promo", "100"))

    def unknown_wallet():
        try:
            sdk.wallets.get_wallet(id="wallet_00000000000000000000000000")
        except errors.ErrorResponse as exc:
            assert exc.status_code == 404
            assert exc.data.code == "not_found" and exc.data.message and str(exc) == exc.data.message
        else:
            raise AssertionError("an unknown wallet was found")

    steps.run(18, "an unknown wallet is a 404 ErrorResponse with a message", unknown_wallet)

    def invalid_key():
        intruder = Flexprice(api_key_auth="sk_not_a_key", server_url=f"{live_api}/v1", timeout_ms=30000)
        try:
            intruder.customers.get_customer_by_external_id(external_id=external_id)
        except errors.FlexpriceDefaultError as exc:
            assert exc.status_code == 401 and '"Unauthorized"' in exc.body
        else:
            raise AssertionError("an invalid key was let in")

    steps.run(19, "an invalid key is refused with 401", invalid_key)

    def terminate():
        (promo,) = steps.need("promo")
        sdk.wallets.terminate_wallet(id=promo.id)
        wallet = sdk.wallets.get_wallet(id=promo.id)
        assert (wallet.wallet_status, wallet.credit_balance, wallet.balance) == ("closed", "0", "0")
        assert wallet_types(sdk.wallets.get_customer_wallets(id=wallet.customer_id)) == ["POST_PAID", "PRE_PAID"]

    steps.run(20, "terminate the promotional wallet: closed, balance 0", terminate)

    def consumption_breakdown():
        (promo,) = steps.need("promo")
        page = sdk.wallets.get_wallet_transactions(id_path_parameter=promo.id, limit=10, offset=0, order="desc")
        debit, grant = page.items
        assert (debit.type, debit.transaction_reason, grant.type) == ("debit", "WALLET_TERMINATION", "credit")
        # parsed by the SDK into its WalletTxConsumption model: the termination took the 100-credit grant
        assert [type(item).__name__ for item in debit.consumption_breakdown] == ["WalletTxConsumption"]
        assert [(item.credit_transaction_id, item.credits) for item in debit.consumption_breakdown] == [(grant.id, "100")]
        assert grant.consumption_breakdown is None  # credits omit the field

    steps.run(21, "a debit's consumption_breakdown names the lot it took", consumption_breakdown)

    print(steps.report())
    assert steps.failed == 0, steps.report()
