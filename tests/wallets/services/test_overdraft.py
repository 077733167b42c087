"""MANUAL_BALANCE_DEBIT overdrafts and their repayment (contract §4, upstream §5.5).

A manual debit takes what the lots hold and lets the balance go negative by the rest; a later
credit first repays the deficit, so its lot holds max(0, credit_balance_after), and the
repayment is recorded as allocations to the overdrawn debits, oldest first.
"""

from decimal import Decimal

import pytest

from core.exceptions import InvalidOperation
from wallets import services
from wallets.models import CreditAllocation

pytestmark = pytest.mark.django_db

D = Decimal


def manual(wallet, credits, key):
    return services.wallet_debit(wallet, credits=D(credits), idempotency_key=key, reason="MANUAL_BALANCE_DEBIT")


def cover(debit) -> dict:
    return dict(CreditAllocation.objects.filter(debit=debit).values_list("credit_id", "credits"))


def test_manual_debit_consumes_the_lots_then_overdraws(wallet, credit):
    big, small = credit(30), credit(20)
    result = manual(wallet, "70", "m1")
    assert result.wallet.credit_balance == D("-20")
    assert cover(result.transaction) == {big.id: D("30"), small.id: D("20")}
    assert result.transaction.metadata["consumed_credit_tx_ids"] == f"{big.id},{small.id}"
    assert (result.transaction.credit_balance_before, result.transaction.credit_balance_after) == (D("50"), D("-20"))


def test_manual_debit_on_an_empty_wallet_consumes_nothing(wallet):
    result = manual(wallet, "5", "m1")
    assert result.wallet.credit_balance == D("-5")
    assert result.transaction.metadata["consumed_credit_tx_ids"] == ""
    assert cover(result.transaction) == {}


def test_partial_repayment_holds_nothing_and_the_rest_lands_later(wallet, credit):
    credit(100)
    overdraft = manual(wallet, "150", "m1").transaction
    partial = credit(30)
    assert (partial.credit_balance_after, partial.credits_available) == (D("-20"), 0)
    rest = credit(40)
    assert (rest.credit_balance_after, rest.credits_available) == (D("20"), D("20"))
    assert cover(overdraft) == {overdraft.metadata["consumed_credit_tx_ids"]: D("100"), partial.id: D("30"), rest.id: D("20")}


def test_repayment_covers_the_oldest_overdraft_first(wallet, credit):
    first = manual(wallet, "30", "m1").transaction
    second = manual(wallet, "20", "m2").transaction
    repayment = credit(40)
    assert repayment.credit_balance_after == D("-10")
    assert (cover(first), cover(second)) == ({repayment.id: D("30")}, {repayment.id: D("10")})


def test_regular_debit_is_refused_while_overdrawn(wallet, credit, snapshot):
    manual(wallet, "10", "m1")
    before = snapshot()
    with pytest.raises(InvalidOperation, match="Insufficient balance"):
        services.wallet_debit(wallet, credits=D("1"), idempotency_key="p1", reason="INVOICE_PAYMENT")
    assert snapshot() == before


def test_repaid_credit_is_spendable_only_for_its_surplus(wallet, credit):
    manual(wallet, "10", "m1")
    credit(15)
    with pytest.raises(InvalidOperation, match="Insufficient balance"):
        services.wallet_debit(wallet, credits=D("6"), idempotency_key="p1", reason="INVOICE_PAYMENT")
    result = services.wallet_debit(wallet, credits=D("5"), idempotency_key="p2", reason="INVOICE_PAYMENT")
    assert result.wallet.credit_balance == 0


def test_overdraft_value_follows_the_conversion_rate(make_wallet):
    wallet = make_wallet(conversion_rate=D("2.5"))
    result = manual(wallet, "3", "m1")
    assert (result.wallet.credit_balance, result.wallet.balance, result.transaction.amount) == (D("-3"), D("-7.5"), D("7.5"))
