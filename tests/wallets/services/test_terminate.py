"""Termination (contract §4): forfeit what is left, close the wallet, keep an overdraft on the books."""

from datetime import timedelta
from decimal import Decimal

import pytest

from core.exceptions import InvalidOperation
from wallets import services
from wallets.models import CreditAllocation, WalletStatusChange

pytestmark = pytest.mark.django_db

D = Decimal


def test_terminate_forfeits_every_lot_and_records_why(wallet, credit):
    big, small = credit(30), credit(20)
    result = services.wallet_terminate(wallet, reason="customer left", actor="key_1")
    row = result.transaction
    assert (row.transaction_reason, row.credit_amount, row.idempotency_key) == ("WALLET_TERMINATION", D("50"), wallet.id)
    assert dict(CreditAllocation.objects.filter(debit=row).values_list("credit_id", "credits")) == {
        big.id: D("30"),
        small.id: D("20"),
    }
    assert (result.wallet.wallet_status, result.wallet.credit_balance, result.wallet.balance) == ("closed", 0, 0)
    change = WalletStatusChange.objects.get(wallet=wallet)
    assert (change.action, change.reason, change.created_by) == ("terminate", "customer left", "key_1")


def test_terminate_keeps_a_negative_balance(wallet, credit):
    credit(10)
    services.wallet_debit(wallet, credits=D("60"), idempotency_key="m1", reason="MANUAL_BALANCE_DEBIT")
    result = services.wallet_terminate(wallet)
    assert result.transaction is None
    wallet.refresh_from_db()
    assert (wallet.wallet_status, wallet.credit_balance, wallet.balance) == ("closed", D("-50"), D("-50"))


def test_terminate_an_empty_wallet_writes_no_row(wallet):
    result = services.wallet_terminate(wallet)
    assert result.transaction is None
    assert result.wallet.wallet_status == "closed"
    assert not wallet.transactions.exists()


def test_expired_lots_expire_before_the_termination_debit(wallet, credit, clock):
    lot = credit(50, expiry_date=clock.now + timedelta(hours=1))
    credit(30)
    clock.set(lot.expiry_date + timedelta(seconds=1))
    services.wallet_terminate(wallet)
    rows = list(wallet.transactions.order_by("sequence").values_list("transaction_reason", "credit_amount"))
    assert rows[-2:] == [("CREDIT_EXPIRED", D("50")), ("WALLET_TERMINATION", D("30"))]


def test_a_frozen_wallet_can_be_terminated(wallet, credit):
    """Freezing blocks spending, not closing: support may close a frozen account."""
    credit(5)
    services.wallet_freeze(wallet, reason="fraud")
    assert services.wallet_terminate(wallet).wallet.wallet_status == "closed"


def test_closed_wallet_refuses_top_up_and_debit(wallet, credit, snapshot):
    credit(5)
    services.wallet_terminate(wallet)
    before = snapshot()
    with pytest.raises(InvalidOperation, match="Wallet is not active"):
        services.wallet_top_up(wallet, credits=D("1"), reason="FREE_CREDIT_GRANT")
    with pytest.raises(InvalidOperation, match="Wallet is not active"):
        services.wallet_debit(wallet, credits=D("1"), idempotency_key="x", reason="MANUAL_BALANCE_DEBIT")
    assert snapshot() == before
