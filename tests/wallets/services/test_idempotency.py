"""Idempotency keys (contract §4): a replay returns the original and writes nothing; a changed body
is a conflict; concurrent duplicates produce exactly one effect.

The threaded tests use real threads, each on its own PostgreSQL connection (closed when the
thread ends), released together by a barrier.
"""

from decimal import Decimal

import pytest

from core.exceptions import AlreadyExists, ValidationFailed
from tests.wallets.services.concurrently import run_together
from wallets import services
from wallets.ledger import integrity
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db

D = Decimal


def top_up(wallet, credits, key, **fields):
    fields.setdefault("reason", "FREE_CREDIT_GRANT")
    return services.wallet_top_up(wallet, credits=D(credits), idempotency_key=key, **fields)


def test_top_up_replay_returns_the_original_as_it_was(wallet, snapshot):
    original = top_up(wallet, "100", "k1", priority=1, metadata={"a": "b"})
    top_up(wallet, "50", "k2")
    before = snapshot()
    replay = top_up(wallet, "100.000", "k1", priority=1, metadata={"a": "b"})
    assert replay.replayed and not original.replayed
    assert replay.transaction.pk == original.transaction.pk
    assert (replay.wallet.credit_balance, replay.wallet.balance) == (D("100"), D("100")), "balances as of the original"
    assert snapshot() == before


def test_debit_replay_returns_the_original_without_consuming_again(wallet, credit, snapshot):
    credit(100)
    original = services.wallet_debit(wallet, credits=D("30"), idempotency_key="d1", reason="INVOICE_PAYMENT")
    before = snapshot()
    replay = services.wallet_debit(wallet, credits=D("30"), idempotency_key="d1", reason="INVOICE_PAYMENT")
    assert replay.replayed and replay.transaction.pk == original.transaction.pk
    assert replay.wallet.credit_balance == D("70")
    assert snapshot() == before


@pytest.mark.parametrize(
    "change",
    [
        {"credits": D("101")},
        {"priority": 2},
        {"metadata": {"a": "c"}},
        {"description": "other"},
        {"reason": "PURCHASED_CREDIT_DIRECT"},
    ],
    ids=["credits", "priority", "metadata", "description", "reason"],
)
def test_changed_top_up_body_conflicts(wallet, snapshot, change):
    body = {"credits": D("100"), "reason": "FREE_CREDIT_GRANT", "priority": 1, "metadata": {"a": "b"}, "description": ""}
    services.wallet_top_up(wallet, idempotency_key="k1", **body)
    before = snapshot()
    with pytest.raises(AlreadyExists):
        services.wallet_top_up(wallet, idempotency_key="k1", **{**body, **change})
    assert snapshot() == before


def test_key_of_a_top_up_cannot_be_reused_for_a_debit(wallet, snapshot):
    top_up(wallet, "100", "k1")
    before = snapshot()
    with pytest.raises(AlreadyExists):
        services.wallet_debit(wallet, credits=D("100"), idempotency_key="k1")
    assert snapshot() == before


def test_same_key_on_another_wallet_conflicts(wallet, make_wallet):
    top_up(wallet, "100", "k1")
    with pytest.raises(AlreadyExists):
        top_up(make_wallet(currency="eur"), "100", "k1")


def test_keys_are_scoped_to_the_environment(wallet, other_environment, make_customer, make_wallet):
    foreign = make_wallet(make_customer(env=other_environment))
    first, second = top_up(wallet, "1", "shared"), top_up(foreign, "1", "shared")
    assert not first.replayed and not second.replayed
    assert WalletTransaction.objects.filter(idempotency_key="shared").count() == 2


@pytest.mark.parametrize(
    "key", ["x" * 256, "   ", "tab\there", 42, "wallet_01J0000000000000000000000A", "wtxn_01J0000000000000000000000A"]
)
def test_malformed_or_reserved_keys_are_refused(wallet, snapshot, key):
    before = snapshot()
    with pytest.raises(ValidationFailed) as raised:
        top_up(wallet, "1", key)
    assert raised.value.field == "idempotency_key"
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_with_one_key_make_one_row(wallet):
    results, errors = run_together(20, lambda i: top_up(wallet, "10", "burst"))
    assert errors == [None] * 20
    assert WalletTransaction.objects.filter(idempotency_key="burst").count() == 1
    assert len({result.transaction.pk for result in results}) == 1
    assert sum(not result.replayed for result in results) == 1
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("10")
    assert integrity.check_wallet(wallet) == []


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_with_one_debit_key_consume_once(wallet, credit):
    credit(100)
    _results, errors = run_together(
        20, lambda i: services.wallet_debit(wallet, credits=D("30"), idempotency_key="burst", reason="INVOICE_PAYMENT")
    )
    assert errors == [None] * 20
    assert WalletTransaction.objects.filter(type="debit").count() == 1
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("70")


@pytest.mark.django_db(transaction=True)
def test_one_key_on_two_wallets_at_once_makes_one_row(wallet, make_wallet):
    """Two wallets do not share a lock; the unique index decides, and the loser answers 409."""
    other = make_wallet(currency="eur")
    for round_ in range(5):
        key = f"race-{round_}"
        _results, errors = run_together(2, lambda i, key=key: top_up((wallet, other)[i], "10", key))
        assert WalletTransaction.objects.filter(idempotency_key=key).count() == 1
        assert sorted(type(error).__name__ for error in errors) == ["AlreadyExists", "NoneType"]
    assert integrity.check_all() == []
