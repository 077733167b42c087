"""Credit expiry: ``wallet_credit_expire``, ``expire_due_lots`` and the half-open validity of a lot.

A lot expiring at T is spendable before T and not at T. Expiry writes one CREDIT_EXPIRED debit
per lot (idempotency key = the lot's id), so it happens once however often it runs. The clock
fixture injects time; nothing sleeps.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from core.exceptions import InvalidOperation
from tests.wallets.services.concurrently import run_together
from wallets import services
from wallets.ledger import integrity, postings
from wallets.models import CreditAllocation, WalletTransaction

pytestmark = pytest.mark.django_db

D = Decimal
EXPIRED = WalletTransaction.Reason.CREDIT_EXPIRED


def expiring(credit, amount, clock, hours=1):
    return credit(amount, expiry_date=clock.now + timedelta(hours=hours))


def test_expire_twice_writes_one_row(wallet, credit, clock):
    lot = expiring(credit, "50", clock)
    services.wallet_debit(wallet, credits=D("20"), idempotency_key="d1", reason="INVOICE_PAYMENT")
    row = services.wallet_credit_expire(lot, now=lot.expiry_date)
    assert services.wallet_credit_expire(lot, now=lot.expiry_date + timedelta(days=1)) is None
    assert WalletTransaction.objects.filter(transaction_reason=EXPIRED).count() == 1
    assert (row.credit_amount, row.idempotency_key, row.reference_id) == (D("30"), lot.id, lot.id)
    assert row.metadata["expired_transaction_id"] == lot.id
    assert row.metadata["consumed_credit_tx_ids"] == lot.id
    assert CreditAllocation.objects.get(debit=row).credits == D("30")
    lot.refresh_from_db()
    assert lot.credits_available == 0
    wallet.refresh_from_db()
    assert wallet.credit_balance == 0


def test_expire_before_due_does_nothing(wallet, credit, clock, snapshot):
    lot = expiring(credit, "50", clock)
    before = snapshot()
    assert services.wallet_credit_expire(lot, now=lot.expiry_date - timedelta(microseconds=1)) is None
    assert snapshot() == before


def test_only_a_credit_with_an_expiry_can_expire(wallet, credit):
    lot = credit(5)
    debit = services.wallet_debit(wallet, credits=D("1"), idempotency_key="d1").transaction
    for row in (lot, debit):
        with pytest.raises(InvalidOperation, match="Only a credit with an expiry date can expire"):
            services.wallet_credit_expire(row)


def test_lot_expiring_at_t_is_not_spendable_at_t(wallet, credit, clock, snapshot):
    lot = expiring(credit, "50", clock)
    clock.set(lot.expiry_date)
    before = snapshot()
    with pytest.raises(InvalidOperation, match="Insufficient balance"):
        services.wallet_debit(wallet, credits=D("1"), idempotency_key="at-t", reason="INVOICE_PAYMENT")
    assert snapshot() == before, "the refused debit's expiry of the lot must roll back with it"
    assert not postings.open_lots(wallet, now=clock.now).exists()
    clock.set(lot.expiry_date - timedelta(microseconds=1))
    result = services.wallet_debit(wallet, credits=D("1"), idempotency_key="before-t", reason="INVOICE_PAYMENT")
    assert result.transaction.metadata["consumed_credit_tx_ids"] == lot.id


def test_debit_expires_due_lots_before_a_manual_overdraft(wallet, credit, clock):
    """Without expiring first, the manual debit would leave 50 credits parked in a dead lot while the
    balance looked positive; with it, the balance is the honest −10."""
    lot = expiring(credit, "50", clock)
    plain = credit(30)
    clock.set(lot.expiry_date + timedelta(seconds=1))
    result = services.wallet_debit(wallet, credits=D("40"), idempotency_key="m1", reason="MANUAL_BALANCE_DEBIT")
    rows = list(wallet.transactions.order_by("sequence").values_list("transaction_reason", "credit_amount"))
    assert rows[-2:] == [(EXPIRED, D("50")), ("MANUAL_BALANCE_DEBIT", D("40"))]
    assert result.wallet.credit_balance == D("-10")
    assert result.transaction.metadata["consumed_credit_tx_ids"] == plain.id


def test_expire_due_lots_respects_its_limit(wallet, credit, clock):
    lots = [expiring(credit, "5", clock, hours=hours) for hours in (1, 2, 3)]
    with transaction.atomic():
        locked = postings.lock_wallet(wallet.pk)
        expired = services.expire_due_lots(locked, now=lots[-1].expiry_date, limit=2)
    assert [row.reference_id for row in expired] == [lots[0].id, lots[1].id]
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("5")


def test_frozen_wallet_still_has_credits_expire(wallet, credit, clock):
    lot = expiring(credit, "50", clock)
    services.wallet_freeze(wallet, reason="fraud check")
    assert services.wallet_credit_expire(lot, now=lot.expiry_date) is not None
    wallet.refresh_from_db()
    assert (wallet.wallet_status, wallet.credit_balance) == ("frozen", 0)


@pytest.mark.django_db(transaction=True)
def test_two_workers_expiring_one_lot_write_one_row(wallet, credit):
    """Two sweeps at once: one expires the lot, the other finds nothing left (same lock, same key)."""
    lot = credit(50, expiry_date=timezone.now() + timedelta(hours=1))
    results, errors = run_together(4, lambda i: services.wallet_credit_expire(lot, now=lot.expiry_date))
    assert errors == [None] * 4
    assert sum(result is not None for result in results) == 1
    assert WalletTransaction.objects.filter(transaction_reason=EXPIRED).count() == 1
    assert integrity.check_wallet(wallet) == []
