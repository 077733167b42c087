"""Voids racing each other and debits on one wallet, from real threads on their own connections.

Under the wallet lock a lot is voided once, whatever the number of racing voids (each with its
own key), and every debit that won a race before the void is paid from the lot, never twice. The
negative control turns the lock off (the test-only LEDGER_UNSAFE_SKIP_WALLET_LOCK): the racers
then read the same remainder and collide on the (wallet, sequence) constraint, so the race this
test rules out is real.
"""

from collections import Counter
from decimal import Decimal

import pytest
from django.db import IntegrityError

from core.exceptions import InvalidOperation
from tests.wallets.services.concurrently import run_together
from wallets import services
from wallets.ledger import integrity
from wallets.models import CreditAllocation, WalletTransaction

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
VOIDERS, DEBITERS, ROUNDS = 6, 6, 4


def _race(wallet, lot, round_: int) -> Counter:
    """VOIDERS voids of ``lot`` and DEBITERS debits of 5 credits, released together."""

    def act(i):
        if i < VOIDERS:
            return services.credit_void(
                environment_id=wallet.environment_id, transaction_id=lot.pk, reason="race", idempotency_key=f"v-{round_}-{i}"
            )
        return services.wallet_debit(wallet, credits=D("5"), idempotency_key=f"d-{round_}-{i}", reason="INVOICE_PAYMENT")

    _, errors = run_together(VOIDERS + DEBITERS, act)
    outcome = Counter()
    for i, error in enumerate(errors):
        kind = "void" if i < VOIDERS else "debit"
        if error is None:
            outcome[f"{kind} ok"] += 1
        elif isinstance(error, InvalidOperation):
            outcome[f"{kind} refused"] += 1
        elif isinstance(error, IntegrityError):
            outcome[f"{kind} refused by the database"] += 1
        else:
            outcome[f"{kind} error {type(error).__name__}"] += 1
    return outcome


def test_racing_voids_void_a_lot_once_and_debits_are_paid_once(wallet, credit, capsys):
    totals = Counter()
    for round_ in range(ROUNDS):
        lot = credit("100")
        outcome = _race(wallet, lot, round_)
        totals += outcome
        assert outcome["void ok"] == 1, outcome
        assert outcome["void refused"] == VOIDERS - 1, outcome
        voided = WalletTransaction.objects.get(parent_transaction=lot, transaction_reason="CREDIT_VOID")
        spent = sum(CreditAllocation.objects.filter(credit=lot).exclude(debit=voided).values_list("credits", flat=True), D(0))
        # What the debits took before the void, plus what the void took, is the whole lot.
        assert spent == 5 * outcome["debit ok"] and spent + voided.credit_amount == D("100"), outcome
        wallet.refresh_from_db()
        assert wallet.credit_balance == 0
    assert integrity.check_all() == []
    with capsys.disabled():
        print(f"\n[voids] {ROUNDS} rounds of {VOIDERS} voids and {DEBITERS} debits racing: {dict(totals)}")


def test_negative_control_without_the_lock_the_racers_collide(wallet, credit, settings, capsys):
    settings.LEDGER_UNSAFE_SKIP_WALLET_LOCK = True
    totals = Counter()
    for round_ in range(ROUNDS):
        totals += _race(wallet, credit("100"), round_)
    with capsys.disabled():
        print(f"\n[voids] control, lock off: {dict(totals)}")
    assert totals["void refused by the database"] + totals["debit refused by the database"] > 0, totals
    assert integrity.check_all() == [], "the unique sequence turned every lost update into a refused write"
