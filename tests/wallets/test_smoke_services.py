from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db


def test_top_up_then_debit_moves_balance_and_writes_two_rows(wallet, credit):
    from wallets import services

    credit(100)
    result = services.wallet_debit(wallet, credits=Decimal("30"), idempotency_key="d1", reason="INVOICE_PAYMENT")
    assert result.wallet.credit_balance == Decimal("70")
    assert wallet.transactions.count() == 2
