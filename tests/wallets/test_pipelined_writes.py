"""Top-ups and debits as production runs them: outermost transactions, writes pipelined (core.rawsql).

In the other tests every service runs inside the test's transaction (its blocks are
savepoints), where nothing is pipelined; here each service opens a real transaction, so a
posting's writes travel in one round trip and an error from the database (a key already used)
reaches the service only when they are synced. The idempotency rules must hold all the same,
and a refused write must leave the connection usable and nothing written.
"""

from decimal import Decimal

import pytest
from django.db import connection

from core.exceptions import AlreadyExists, InvalidOperation
from wallets import services
from wallets.models import Wallet, WalletTransaction

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def test_a_top_up_writes_its_row_and_balance_in_one_pipelined_transaction(wallet):
    result = services.wallet_top_up(wallet, credits=D("10"), reason="FREE_CREDIT_GRANT", idempotency_key="p1")
    assert not connection.in_atomic_block
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == D("10")
    assert WalletTransaction.objects.get(idempotency_key="p1").pk == result.transaction.pk


def test_a_refused_key_rolls_back_and_replays(wallet):
    first = services.wallet_top_up(wallet, credits=D("10"), reason="FREE_CREDIT_GRANT", idempotency_key="p2")
    again = services.wallet_top_up(wallet, credits=D("10"), reason="FREE_CREDIT_GRANT", idempotency_key="p2")
    assert again.replayed and again.transaction.pk == first.transaction.pk
    with pytest.raises(AlreadyExists):
        services.wallet_top_up(wallet, credits=D("11"), reason="FREE_CREDIT_GRANT", idempotency_key="p2")
    # the refused insert's transaction is gone: the connection works and nothing more was written
    assert WalletTransaction.objects.count() == 1
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == D("10")


def test_a_debit_replays_even_when_it_could_not_run_again(wallet):
    services.wallet_top_up(wallet, credits=D("5"), reason="FREE_CREDIT_GRANT", idempotency_key="p3")
    first = services.wallet_debit(wallet, credits=D("5"), idempotency_key="p4", reason="INVOICE_PAYMENT")
    again = services.wallet_debit(wallet, credits=D("5"), idempotency_key="p4", reason="INVOICE_PAYMENT")
    assert again.replayed and again.transaction.pk == first.transaction.pk
    with pytest.raises(InvalidOperation, match="Insufficient balance"):
        services.wallet_debit(wallet, credits=D("5"), idempotency_key="p5", reason="INVOICE_PAYMENT")
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == 0
    assert WalletTransaction.objects.filter(type="debit").count() == 1


def test_a_key_used_on_another_wallet_conflicts_when_the_pipeline_is_synced(wallet, make_wallet):
    other = make_wallet(currency="eur")
    services.wallet_top_up(wallet, credits=D("10"), reason="FREE_CREDIT_GRANT", idempotency_key="p6")
    with pytest.raises(AlreadyExists):
        services.wallet_top_up(other, credits=D("10"), reason="FREE_CREDIT_GRANT", idempotency_key="p6")
    assert Wallet.objects.get(pk=other.pk).credit_balance == 0
    assert not WalletTransaction.objects.filter(wallet=other).exists()
