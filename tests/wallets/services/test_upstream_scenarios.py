"""Upstream acceptance scenarios §8.1–8.4 (cases 1–24), at the service layer, numbered as upstream.

Where the contract (or the service boundary) decides differently from upstream, the test's
docstring says so. Unless noted, rates are 1, so balance = credit_balance.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection

from core import inputs
from core.exceptions import AlreadyExists, InvalidOperation, ValidationFailed
from customers.models import Customer
from customers.services import customer_create, customer_delete
from wallets import services
from wallets.ledger import integrity, postings
from wallets.models import CreditAllocation, Wallet, WalletTransaction

pytestmark = pytest.mark.django_db

D = Decimal


def lots(wallet) -> list[Decimal]:
    """credits_available of the wallet's credit rows, in the order they were written."""
    return list(wallet.transactions.filter(type="credit").order_by("sequence").values_list("credits_available", flat=True))


def top_up(wallet, credits, **fields):
    fields.setdefault("reason", "FREE_CREDIT_GRANT")
    return services.wallet_top_up(wallet, credits=D(credits), **fields)


def debit(wallet, credits, key, reason="INVOICE_PAYMENT", **fields):
    return services.wallet_debit(wallet, credits=D(credits), idempotency_key=key, reason=reason, **fields)


def utc(year, month, day) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


# --- §8.1 create wallet ---------------------------------------------------------------------------


def test_01_create_wallet_echoes_customer_currency_metadata(customer):
    """Adjusted: upstream creates a wallet for an unknown "customer-2" id without checking it. Our
    services take a Customer object, so an unknown customer cannot reach them (the API answers 404,
    contract and upstream §9.5); the scenario runs with an existing customer."""
    wallet = services.wallet_create(customer, currency="usd", metadata={"key": "value"})
    wallet.refresh_from_db()
    assert (wallet.customer_id, wallet.currency, wallet.metadata) == (customer.id, "usd", {"key": "value"})
    assert (wallet.balance, wallet.credit_balance, wallet.wallet_status) == (0, 0, "active")


def test_02_create_wallet_for_customer_found_by_external_id(environment, make_customer):
    """The external id resolves to the internal customer; the wallet carries the internal id."""
    make_customer(external_id="cust-ext-2")
    customer = Customer.objects.get(environment=environment, external_id="cust-ext-2")
    wallet = services.wallet_create(customer, currency="usd")
    assert wallet.customer_id == customer.id != "cust-ext-2"


def test_03_customer_is_required():
    """Adjusted: "customer_id or external_customer_id is required" is a wire check (API tests). At the
    service boundary the customer is a required argument, so the call cannot even be made."""
    with pytest.raises(TypeError):
        services.wallet_create(currency="usd")


def test_04_deleted_customer_is_refused(customer, snapshot):
    """Adjusted: "_customer2" is an id-format check of the API layer. The service-level equivalent
    of an invalid customer is a deleted one: refused, naming customer_id, nothing written."""
    customer_delete(customer)
    customer.refresh_from_db()
    before = snapshot()
    with pytest.raises(ValidationFailed) as raised:
        services.wallet_create(customer, currency="usd")
    assert raised.value.field == "customer_id"
    assert snapshot() == before


def test_05_external_id_with_percent_sign_is_invalid(environment):
    """A "customer%2" external id is refused when the customer is made, so no lookup can resolve it."""
    with pytest.raises(ValidationFailed) as raised:
        customer_create(environment=environment, external_id="customer%2")
    assert raised.value.field == "external_id"


def test_06_second_open_prepaid_wallet_conflicts_but_postpaid_is_allowed(customer):
    services.wallet_create(customer, currency="usd")
    with pytest.raises(AlreadyExists):
        services.wallet_create(customer, currency="USD")
    postpaid = services.wallet_create(customer, currency="usd", wallet_type="POST_PAID")
    assert postpaid.wallet_type == "POST_PAID"
    assert Wallet.objects.filter(customer=customer).count() == 2


# --- §8.2 top-up and conversion rates ----------------------------------------------------------------


def test_07_top_up_with_priority_and_key(make_wallet):
    wallet = make_wallet(initial_credits=D("1000"))
    result = top_up(wallet, "500", idempotency_key="test_topup_1", priority=2)
    assert (result.wallet.balance, result.wallet.credit_balance) == (D("1500"), D("1500"))
    row = result.transaction
    assert (row.priority, row.idempotency_key, row.transaction_reason) == (2, "test_topup_1", "FREE_CREDIT_GRANT")


@pytest.mark.parametrize(
    "rate, credits, balance",
    [
        ("1", "100", "100"),
        ("2", "100", "200"),
        ("0.5", "100", "50"),
        ("1.12346", "100", "112.346"),
        ("0.0001", "10000", "1"),
        ("10000", "0.0001", "1"),
    ],
)
def test_08_rate_table(make_wallet, rate, credits, balance):
    """Upstream's 1.123456 row is run with the rate the numeric(10,5) column stores, 1.12346;
    the six-place rate itself is refused (test_08_rate_with_six_places_is_refused)."""
    wallet = make_wallet(conversion_rate=D(rate))
    result = top_up(wallet, credits)
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.credit_balance) == (D(balance), D(credits))
    assert result.wallet.balance == D(balance)
    assert wallet.conversion_rate == D(rate)


def test_08_rate_with_six_places_is_refused(customer):
    """Adjusted: upstream stores 1.123456 as 1.12346 silently; the contract refuses input with more
    places than the column holds (400), never rounding it."""
    with pytest.raises(ValidationFailed) as raised:
        services.wallet_create(customer, currency="usd", conversion_rate=D("1.123456"))
    assert raised.value.field == "conversion_rate"
    assert not Wallet.objects.exists()


def test_09_credit_at_rate_two(make_wallet):
    wallet = make_wallet(conversion_rate=D("2"))
    result = top_up(wallet, "50")
    assert (result.wallet.credit_balance, result.wallet.balance) == (D("50"), D("100"))
    assert (result.transaction.amount, result.transaction.credits_available) == (D("100"), D("50"))


def test_10_debit_at_rate_two(make_wallet):
    wallet = make_wallet(conversion_rate=D("2"))
    top_up(wallet, "100")
    result = debit(wallet, "50", "d10")
    assert (result.wallet.credit_balance, result.wallet.balance) == (D("50"), D("100"))
    assert (result.transaction.amount, result.transaction.credits_available) == (D("100"), 0)


def test_11_overdebit_and_zero_credit_are_refused(make_wallet, snapshot):
    """Adjusted only in detail: the zero credit names its field (credits_to_add)."""
    wallet = make_wallet(conversion_rate=D("2"))
    top_up(wallet, "100")
    before = snapshot()
    with pytest.raises(InvalidOperation, match="Insufficient balance"):
        debit(wallet, "150", "d11")
    with pytest.raises(ValidationFailed) as raised:
        top_up(wallet, "0")
    assert raised.value.field == "credits_to_add"
    assert snapshot() == before


def test_12_integer_expiry_date(wallet):
    expiry = inputs.date_from_yyyymmdd(20360101, field="expiry_date")
    row = top_up(wallet, "10", expiry_date=expiry).transaction
    row.refresh_from_db()
    assert row.expiry_date == utc(2036, 1, 1)


def test_13_past_expiry_is_refused(wallet, snapshot):
    before = snapshot()
    with pytest.raises(ValidationFailed, match="Expiry date must be in the future") as raised:
        top_up(wallet, "10", expiry_date=inputs.date_from_yyyymmdd(20230101, field="expiry_date"))
    assert raised.value.field == "expiry_date_utc"
    assert snapshot() == before


def test_14_balance_without_credit_rows_cannot_be_spent(wallet, ledger_may_drift):
    """Adjusted: our write path cannot produce a balance without rows, so the wallet is forged with
    raw SQL (keeping balance = credit_balance × rate, which the database checks). The debit still
    needs backing lots, and the integrity checker flags the forged wallet."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE wallets_wallet SET credit_balance = 1000, balance = 1000 WHERE id = %s", [wallet.id])
    with pytest.raises(InvalidOperation, match="Insufficient balance"):
        debit(wallet, "50", "d14")
    assert not wallet.transactions.exists()
    assert {"I1", "I2"} <= {problem.invariant for problem in integrity.check_wallet(wallet)}


def test_15_amount_converted_at_topup_rate(make_wallet):
    wallet = make_wallet(conversion_rate=D("1"), topup_conversion_rate=D("2"))
    result = services.wallet_top_up(wallet, amount=D("10"), reason="PURCHASED_CREDIT_DIRECT")
    assert (result.transaction.credit_amount, result.transaction.amount) == (D("5"), D("10"))
    assert (result.wallet.credit_balance, result.wallet.balance) == (D("5"), D("5"))


# --- §8.3 debit consumption order -----------------------------------------------------------------


def test_16_soonest_expiry_first(wallet):
    top_up(wallet, "50")
    top_up(wallet, "30", expiry_date=utc(2036, 1, 1))
    top_up(wallet, "20", expiry_date=utc(2036, 2, 1))
    top_up(wallet, "100", expiry_date=utc(2036, 3, 1))
    result = debit(wallet, "70", "d16")
    assert result.wallet.balance == D("130")
    assert wallet.transactions.count() == 5
    assert (result.transaction.credit_amount, result.transaction.credits_available) == (D("70"), 0)
    assert lots(wallet) == [D("50"), 0, 0, D("80")]


def test_17_priority_before_expiry_before_none(wallet):
    top_up(wallet, "50")
    top_up(wallet, "30", priority=3)
    top_up(wallet, "40", priority=1)
    top_up(wallet, "20", priority=2)
    top_up(wallet, "60", priority=1, expiry_date=utc(2036, 3, 1))
    result = debit(wallet, "90", "d17")
    assert result.wallet.balance == D("110")
    assert lots(wallet) == [D("50"), D("30"), D("10"), D("20"), 0]


def test_18_larger_grant_first(wallet):
    top_up(wallet, "50")
    top_up(wallet, "30")
    top_up(wallet, "20")
    result = debit(wallet, "70", "d18")
    assert result.wallet.balance == D("30")
    assert lots(wallet) == [0, D("10"), D("20")]


def test_19_debit_everything(wallet):
    top_up(wallet, "100")
    result = debit(wallet, "100", "d19")
    assert result.wallet.balance == 0
    assert wallet.transactions.count() == 2
    assert lots(wallet) == [0]
    assert not postings.open_lots(wallet, now=result.transaction.created_at).exists()


def test_20_priority_one_then_two_and_consumed_ids(wallet):
    first = top_up(wallet, "100", priority=1).transaction
    second = top_up(wallet, "100", priority=2).transaction
    result = debit(wallet, "150", "d20")
    assert result.wallet.balance == D("50")
    assert lots(wallet) == [0, D("50")]
    assert result.transaction.metadata["consumed_credit_tx_ids"] == f"{first.id},{second.id}"


def test_21_manual_debit_overdraws_and_the_next_top_up_repays(wallet):
    """Extended per the contract: the later top-up first repays the deficit."""
    top_up(wallet, "100")
    with pytest.raises(InvalidOperation, match="Insufficient balance"):
        debit(wallet, "150", "d21-regular")
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("100")
    manual = debit(wallet, "150", "test_manual_debit_negative", reason="MANUAL_BALANCE_DEBIT")
    assert (manual.wallet.credit_balance, manual.wallet.balance) == (D("-50"), D("-50"))
    repayment = top_up(wallet, "100")
    assert repayment.wallet.credit_balance == D("50")
    assert repayment.transaction.credits_available == D("50")
    assert CreditAllocation.objects.get(credit=repayment.transaction).credits == D("50")


def test_22_repeated_debit_replays_and_a_changed_body_conflicts(wallet):
    """Adjusted: upstream expects 409 for any repeat. The contract replays the same key with the same
    body (200, the original row, no second consumption) and answers 409 only for a changed body."""
    top_up(wallet, "200")
    first = debit(wallet, "50", "d22")
    again = debit(wallet, "50", "d22")
    assert again.replayed and again.transaction.pk == first.transaction.pk
    assert again.wallet.credit_balance == D("150")
    with pytest.raises(AlreadyExists):
        debit(wallet, "60", "d22")
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("150")
    assert wallet.transactions.filter(type="debit").count() == 1


# --- §8.4 termination -----------------------------------------------------------------------------


def test_23_terminate_forfeits_everything(wallet):
    top_up(wallet, "1000")
    result = services.wallet_terminate(wallet)
    wallet.refresh_from_db()
    assert (wallet.wallet_status, wallet.balance, wallet.credit_balance) == ("closed", 0, 0)
    rows = list(
        wallet.transactions.order_by("sequence").values_list("type", "transaction_reason", "credit_amount", "credits_available")
    )
    assert rows == [("credit", "FREE_CREDIT_GRANT", D("1000"), 0), ("debit", "WALLET_TERMINATION", D("1000"), 0)]
    assert result.transaction.idempotency_key == wallet.id
    assert not postings.open_lots(wallet, now=result.transaction.created_at).exists()


def test_24_terminate_again_is_invalid(wallet, snapshot):
    top_up(wallet, "1000")
    services.wallet_terminate(wallet)
    before = snapshot()
    with pytest.raises(InvalidOperation, match="Wallet is already terminated"):
        services.wallet_terminate(wallet)
    assert snapshot() == before
    assert WalletTransaction.objects.filter(transaction_reason="WALLET_TERMINATION").count() == 1
