"""Opposite transfers at once (A→B and B→A) never deadlock: both wallets are locked in id order.

Real threads, each on its own PostgreSQL connection, released together. Every lock is followed
by a short pause, so each transfer holds its first wallet while the opposite transfer asks for
its own first wallet: with locks taken in request order that is a textbook deadlock, which
PostgreSQL detects and breaks by failing one transaction. The negative control takes the locks
in request order (wallets.services.transfers.lock_order monkeypatched) and must see that error;
the real order must finish every transfer, conserve the credits and leave a clean ledger.
"""

import time
from decimal import Decimal

import psycopg
import pytest

from tests.wallets.services.concurrently import run_together
from wallets import services
from wallets.ledger import integrity, postings
from wallets.models import Wallet, WalletTransfer
from wallets.services import transfers as transfer_service

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
THREADS = 4  # two each way
TRANSFERS_PER_THREAD = 8
PAUSE = 0.02  # seconds after every wallet lock


@pytest.fixture
def pair(make_wallet):
    first, second = make_wallet(), make_wallet(wallet_type="PROMOTIONAL")
    for wallet in (first, second):
        services.wallet_top_up(wallet, credits=D(500), reason="FREE_CREDIT_GRANT")
    return first, second


@pytest.fixture
def slow_locks(monkeypatch):
    """Hold each wallet lock a moment before going on, so opposite transfers overlap for sure."""
    lock_wallet = postings.lock_wallet

    def locked_then_pause(*args, **kwargs):
        wallet = lock_wallet(*args, **kwargs)
        time.sleep(PAUSE)
        return wallet

    monkeypatch.setattr(postings, "lock_wallet", locked_then_pause)


def opposite_transfers(pair):
    first, second = pair

    def action(i):
        source, destination = (first, second) if i % 2 == 0 else (second, first)
        for n in range(TRANSFERS_PER_THREAD):
            services.wallet_transfer(source, destination, credits=D("1.5"), idempotency_key=f"t{i}-{n}")
        return TRANSFERS_PER_THREAD

    return run_together(THREADS, action)


def total(pair) -> Decimal:
    return sum(Wallet.objects.filter(pk__in=[w.pk for w in pair]).values_list("credit_balance", flat=True), D(0))


def test_opposite_transfers_all_complete_and_conserve_credits(pair, slow_locks, capsys):
    started = time.monotonic()
    results, errors = opposite_transfers(pair)
    elapsed = time.monotonic() - started
    assert errors == [None] * THREADS, errors
    assert sum(results) == WalletTransfer.objects.count() == THREADS * TRANSFERS_PER_THREAD
    assert total(pair) == D(1000)
    # Two threads each way, moving the same amounts: each wallet ends where it started.
    assert [Wallet.objects.get(pk=w.pk).credit_balance for w in pair] == [D(500), D(500)]
    assert integrity.check_all() == []
    with capsys.disabled():
        print(f"\n[transfers] {THREADS * TRANSFERS_PER_THREAD} opposite transfers in {elapsed:.2f}s, no deadlock")


def test_negative_control_locking_in_request_order_deadlocks(pair, slow_locks, monkeypatch, capsys):
    monkeypatch.setattr(transfer_service, "lock_order", lambda from_id, to_id: (from_id, to_id))
    _, errors = opposite_transfers(pair)
    deadlocks = [error for error in errors if error is not None and isinstance(error.__cause__, psycopg.errors.DeadlockDetected)]
    assert deadlocks, errors
    with capsys.disabled():
        print(f"\n[transfers] control, locks in request order: {len(deadlocks)} of {THREADS} threads stopped by a deadlock")
    # What did complete still adds up: a deadlock rolls its transaction back whole.
    assert total(pair) == D(1000)
