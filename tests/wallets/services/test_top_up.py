"""wallet_top_up: amount → credits at the top-up rate, exact rounding, and the balance ceiling."""

from decimal import Decimal

import pytest

from core.exceptions import ValidationFailed
from wallets import services
from wallets.ledger import money

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.mark.parametrize(
    "topup_rate, amount, credits",
    [
        ("3", "1", "0.333333333"),
        ("3", "2", "0.666666667"),
        # Exact ties round half away from zero; half-even would give 0 (refused) and 0 here.
        ("2", "0.000000001", "0.000000001"),
        ("8", "0.000000004", "0.000000001"),
        ("8", "0.000000012", "0.000000002"),
        ("0.00001", "1", "100000"),
        ("99999.99999", "99999999999.999999999", "1000000.0001"),
        ("7", "99999999999.999999999", "14285714285.714285714"),
    ],
)
def test_amount_becomes_credits_at_the_topup_rate(make_wallet, topup_rate, amount, credits):
    wallet = make_wallet(topup_conversion_rate=D(topup_rate))
    result = services.wallet_top_up(wallet, amount=D(amount), reason="PURCHASED_CREDIT_DIRECT")
    assert result.transaction.credit_amount == D(credits)
    assert result.transaction.amount == D(amount), "the row keeps the currency amount the customer paid"
    assert result.wallet.credit_balance == D(credits)


def test_amount_too_small_for_one_billionth_credit_is_refused(make_wallet, snapshot):
    wallet = make_wallet(topup_conversion_rate=D("3"))
    before = snapshot()
    with pytest.raises(ValidationFailed) as raised:
        services.wallet_top_up(wallet, amount=D("0.000000001"), reason="PURCHASED_CREDIT_DIRECT")
    assert raised.value.field == "amount"
    assert snapshot() == before


def test_credits_win_over_amount(make_wallet):
    wallet = make_wallet(topup_conversion_rate=D("2"))
    row = services.wallet_top_up(wallet, credits=D("4"), amount=D("100"), reason="FREE_CREDIT_GRANT").transaction
    assert (row.credit_amount, row.amount) == (D("4"), D("8"))


def test_balance_is_rounded_half_away_from_zero(make_wallet):
    wallet = make_wallet(conversion_rate=D("1.5"))
    result = services.wallet_top_up(wallet, credits=D("0.000000001"), reason="FREE_CREDIT_GRANT")
    assert result.wallet.balance == D("0.000000002")
    negative = services.wallet_debit(wallet, credits=D("0.000000002"), idempotency_key="m", reason="MANUAL_BALANCE_DEBIT")
    assert negative.wallet.balance == D("-0.000000002")


def test_top_up_to_the_ceiling_then_past_it(wallet, snapshot):
    services.wallet_top_up(wallet, credits=money.MAX_CREDITS, reason="FREE_CREDIT_GRANT")
    before = snapshot()
    with pytest.raises(ValidationFailed, match="largest balance") as raised:
        services.wallet_top_up(wallet, credits=D("0.000000001"), reason="FREE_CREDIT_GRANT")
    assert raised.value.field == "credits"
    assert snapshot() == before


def test_balance_value_overflow_is_refused(make_wallet, snapshot):
    """At rate 2 the credits still fit but their currency value would not: refused, nothing written."""
    wallet = make_wallet(conversion_rate=D("2"))
    services.wallet_top_up(wallet, credits=D("49999999999"), reason="FREE_CREDIT_GRANT")
    before = snapshot()
    with pytest.raises(ValidationFailed):
        services.wallet_top_up(wallet, credits=D("1"), reason="FREE_CREDIT_GRANT")
    assert snapshot() == before


def test_overdraft_past_the_floor_is_refused(wallet, snapshot):
    services.wallet_debit(wallet, credits=money.MAX_CREDITS, idempotency_key="m1", reason="MANUAL_BALANCE_DEBIT")
    before = snapshot()
    with pytest.raises(ValidationFailed, match="largest balance"):
        services.wallet_debit(wallet, credits=D("1"), idempotency_key="m2", reason="MANUAL_BALANCE_DEBIT")
    assert snapshot() == before


def test_top_up_records_its_parameters(wallet):
    row = services.wallet_top_up(
        wallet,
        credits=D("5"),
        reason="SUBSCRIPTION_CREDIT_GRANT",
        priority=0,
        description="monthly",
        metadata={"plan": "pro"},
        idempotency_key="k1",
        actor="key_1",
    ).transaction
    row.refresh_from_db()
    assert (row.priority, row.description, row.metadata, row.created_by) == (0, "monthly", {"plan": "pro"}, "key_1")
    assert (row.reference_type, row.reference_id, row.sequence) == ("EXTERNAL", "k1", 1)


def test_key_less_top_ups_get_distinct_random_keys(wallet):
    first = services.wallet_top_up(wallet, credits=D("1"), reason="FREE_CREDIT_GRANT").transaction
    second = services.wallet_top_up(wallet, credits=D("1"), reason="FREE_CREDIT_GRANT").transaction
    assert first.idempotency_key != second.idempotency_key
    assert first.idempotency_key.startswith("wallet_top_up_") and len(first.idempotency_key) == len("wallet_top_up_") + 32
