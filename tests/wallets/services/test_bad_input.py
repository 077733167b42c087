"""Bad input at the service boundary: a ValidationFailed naming the field, and nothing written.

Services are the last line before the database, so they refuse what the API's parsers would
already have refused too (NaN, floats, booleans...): an admin action, a task or a shell calls
them directly.
"""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.exceptions import ValidationFailed
from wallets import services

pytestmark = pytest.mark.django_db

D = Decimal

# Refused wherever a quantity of credits or currency is expected (numeric(20,9), strictly positive).
BAD_QUANTITIES = {
    "negative": D("-1"),
    "nan": D("NaN"),
    "snan": D("sNaN"),
    "infinity": D("Infinity"),
    "minus_infinity": D("-Infinity"),
    "ten_places": D("0.0000000001"),
    "twelve_digits": D("100000000000"),
    "twelve_digits_exponent": D("1E+11"),
    # 30 significant digits: a 28-digit context would round it to 1 and accept it.
    "thirty_digits": D("1.00000000000000000000000000001"),
    "huge_exponent": D("1E+1000000"),
    "float": 1.5,
    "bool": True,
    "str": "5",
    "list": [D("1")],
}
# Refused wherever a conversion rate is expected (numeric(10,5), strictly positive).
BAD_RATES = {
    "negative": D("-2"),
    "nan": D("NaN"),
    "snan": D("sNaN"),
    "infinity": D("Infinity"),
    "six_places": D("1.000001"),
    "six_digits": D("100000"),
    "float": 2.0,
    "bool": True,
    "str": "2",
}


@pytest.fixture
def funded(wallet, credit):
    credit(100)
    return wallet


def assert_refused(snapshot, field, call):
    before = snapshot()
    with pytest.raises(ValidationFailed) as raised:
        call()
    assert raised.value.field == field, raised.value.message
    assert raised.value.details.get("field") == field
    assert snapshot() == before


@pytest.mark.parametrize("value", BAD_QUANTITIES.values(), ids=BAD_QUANTITIES.keys())
def test_top_up_credits(funded, snapshot, value):
    assert_refused(snapshot, "credits_to_add", lambda: services.wallet_top_up(funded, credits=value, reason="FREE_CREDIT_GRANT"))


@pytest.mark.parametrize("value", BAD_QUANTITIES.values(), ids=BAD_QUANTITIES.keys())
def test_top_up_amount(funded, snapshot, value):
    assert_refused(snapshot, "amount", lambda: services.wallet_top_up(funded, amount=value, reason="PURCHASED_CREDIT_DIRECT"))


@pytest.mark.parametrize("value", [None, D("0"), D("-0"), D("0E-9")], ids=["none", "zero", "minus_zero", "zero_places"])
def test_top_up_without_a_positive_quantity(funded, snapshot, value):
    assert_refused(
        snapshot,
        "credits_to_add",
        lambda: services.wallet_top_up(funded, credits=value, amount=value, reason="FREE_CREDIT_GRANT"),
    )


@pytest.mark.parametrize("value", [*BAD_QUANTITIES.values(), D("0")], ids=[*BAD_QUANTITIES.keys(), "zero"])
def test_debit_credits(funded, snapshot, value):
    assert_refused(
        snapshot,
        "credits",
        lambda: services.wallet_debit(funded, credits=value, idempotency_key="k", reason="MANUAL_BALANCE_DEBIT"),
    )


@pytest.mark.parametrize("value", BAD_QUANTITIES.values(), ids=BAD_QUANTITIES.keys())
def test_create_initial_credits(customer, snapshot, value):
    assert_refused(
        snapshot, "initial_credits_to_load", lambda: services.wallet_create(customer, currency="usd", initial_credits=value)
    )


@pytest.mark.parametrize("value", BAD_RATES.values(), ids=BAD_RATES.keys())
@pytest.mark.parametrize("field", ["conversion_rate", "topup_conversion_rate"])
def test_create_rates(customer, snapshot, field, value):
    assert_refused(snapshot, field, lambda: services.wallet_create(customer, currency="usd", **{field: value}))


def test_create_zero_topup_rate(customer, snapshot):
    """A zero conversion_rate means "default" (as upstream); a zero top-up rate would divide by zero."""
    assert_refused(
        snapshot, "topup_conversion_rate", lambda: services.wallet_create(customer, currency="usd", topup_conversion_rate=D("0"))
    )


@pytest.mark.parametrize("value", [-1, 2**31, True, 1.0, "1"], ids=["minus_one", "two_pow_31", "bool", "float", "str"])
def test_priority(funded, snapshot, value):
    assert_refused(
        snapshot, "priority", lambda: services.wallet_top_up(funded, credits=D("1"), reason="FREE_CREDIT_GRANT", priority=value)
    )


def test_priority_bounds_are_inclusive(funded):
    for value in (0, 2**31 - 1):
        assert (
            services.wallet_top_up(funded, credits=D("1"), reason="FREE_CREDIT_GRANT", priority=value).transaction.priority
            == value
        )


@pytest.mark.parametrize(
    "value",
    [
        timezone.now() - timedelta(seconds=1),
        datetime(2099, 1, 1),
        "2099-01-01T00:00:00Z",
        20990101,
    ],
    ids=["past", "naive", "str", "yyyymmdd_int"],
)
def test_expiry(funded, snapshot, value):
    assert_refused(
        snapshot,
        "expiry_date_utc",
        lambda: services.wallet_top_up(funded, credits=D("1"), reason="FREE_CREDIT_GRANT", expiry_date=value),
    )


@pytest.mark.parametrize(
    "metadata, field",
    [
        ({"a": 1}, "metadata.a"),
        ({"a": None}, "metadata.a"),
        ({"a": {"b": "c"}}, "metadata.a"),
        ({"a": "nul\x00"}, "metadata.a"),
        ({"nul\x00": "a"}, "metadata key"),
        ({"": "a"}, "metadata key"),
        ({1: "a"}, "metadata key"),
        (["a"], "metadata"),
        ("a=b", "metadata"),
        ({f"k{i}": "v" for i in range(51)}, "metadata"),
    ],
    ids=["int", "null", "object", "nul_value", "nul_key", "empty_key", "int_key", "list", "str", "too_many"],
)
def test_metadata(funded, snapshot, metadata, field):
    assert_refused(
        snapshot, field, lambda: services.wallet_top_up(funded, credits=D("1"), reason="FREE_CREDIT_GRANT", metadata=metadata)
    )
    assert_refused(snapshot, field, lambda: services.wallet_debit(funded, credits=D("1"), idempotency_key="k", metadata=metadata))
    assert_refused(snapshot, field, lambda: services.wallet_create(funded.customer, currency="eur", metadata=metadata))


@pytest.mark.parametrize("value", ["nul\x00", "x" * 5001, 5], ids=["nul", "too_long", "int"])
def test_description(funded, snapshot, value):
    assert_refused(
        snapshot,
        "description",
        lambda: services.wallet_top_up(funded, credits=D("1"), reason="FREE_CREDIT_GRANT", description=value),
    )
    assert_refused(
        snapshot, "description", lambda: services.wallet_debit(funded, credits=D("1"), idempotency_key="k", description=value)
    )


@pytest.mark.parametrize(
    "reason", ["BOGUS", "", None, "free_credit_grant", "CREDIT_EXPIRED", "WALLET_TERMINATION", "MANUAL_BALANCE_DEBIT"]
)
def test_top_up_reason(funded, snapshot, reason):
    assert_refused(snapshot, "transaction_reason", lambda: services.wallet_top_up(funded, credits=D("1"), reason=reason))


@pytest.mark.parametrize("reason", ["BOGUS", None, "FREE_CREDIT_GRANT", "CREDIT_EXPIRED", "WALLET_TERMINATION"])
def test_debit_reason(funded, snapshot, reason):
    assert_refused(
        snapshot, "transaction_reason", lambda: services.wallet_debit(funded, credits=D("1"), idempotency_key="k", reason=reason)
    )


@pytest.mark.parametrize("key", [None, ""], ids=["none", "empty"])
def test_debit_needs_a_key(funded, snapshot, key):
    assert_refused(snapshot, "idempotency_key", lambda: services.wallet_debit(funded, credits=D("1"), idempotency_key=key))


@pytest.mark.parametrize(
    "currency", ["US", "usdd", "u$d", "üsd", "", None, 840], ids=["short", "long", "symbol", "non_ascii", "empty", "none", "int"]
)
def test_create_currency(customer, snapshot, currency):
    assert_refused(snapshot, "currency", lambda: services.wallet_create(customer, currency=currency))


@pytest.mark.parametrize("wallet_type", ["prepaid", "BOGUS", None])
def test_create_wallet_type(customer, snapshot, wallet_type):
    assert_refused(snapshot, "wallet_type", lambda: services.wallet_create(customer, currency="usd", wallet_type=wallet_type))
