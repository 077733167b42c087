"""The credit expiry sweep: each expired lot expires exactly once, frozen wallets included."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from wallets import services
from wallets.models import WalletTransaction
from wallets.services import automation

pytestmark = pytest.mark.django_db
D = Decimal


def _lot(wallet, credits, expires_in):
    row = services.wallet_top_up(
        wallet, reason="FREE_CREDIT_GRANT", credits=D(credits), expiry_date=timezone.now() + expires_in
    ).transaction
    return row


def test_sweep_expires_due_lots_once(wallet, make_wallet, make_customer):
    a = _lot(wallet, "10", timedelta(seconds=5))
    _lot(wallet, "7", timedelta(days=30))
    other = make_wallet(owner=make_customer())
    b = _lot(other, "3", timedelta(seconds=5))
    later = timezone.now() + timedelta(minutes=1)

    first = automation.credits_expire_sweep(now=later)
    second = automation.credits_expire_sweep(now=later)

    assert (first.credits_expired, first.wallets) == (2, 2)
    assert second.credits_expired == 0
    expired = WalletTransaction.objects.filter(transaction_reason="CREDIT_EXPIRED")
    assert sorted(expired.values_list("idempotency_key", flat=True)) == sorted([a.id, b.id])
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("7")


def test_grace_period_delays_expiry(wallet, settings):
    settings.CREDIT_EXPIRY_GRACE_SECONDS = 3600
    _lot(wallet, "10", timedelta(seconds=5))
    assert automation.credits_expire_sweep(now=timezone.now() + timedelta(minutes=30)).credits_expired == 0
    assert automation.credits_expire_sweep(now=timezone.now() + timedelta(hours=2)).credits_expired == 1


def test_frozen_wallet_still_has_credits_expire(wallet):
    _lot(wallet, "10", timedelta(seconds=5))
    services.wallet_freeze(wallet, reason="dispute")
    assert automation.credits_expire_sweep(now=timezone.now() + timedelta(minutes=1)).credits_expired == 1


def test_partly_consumed_lot_expires_only_its_remainder(wallet):
    lot = _lot(wallet, "10", timedelta(seconds=5))
    services.wallet_debit(wallet, credits=D("4"), idempotency_key="d", reason="INVOICE_PAYMENT")
    automation.credits_expire_sweep(now=timezone.now() + timedelta(minutes=1))
    expiry = WalletTransaction.objects.get(idempotency_key=lot.id)
    assert expiry.credit_amount == D("6")
    wallet.refresh_from_db()
    assert wallet.credit_balance == 0


def test_sweep_batches_and_bounds_lock_time(make_wallet, make_customer):
    wallets = [make_wallet(owner=make_customer()) for _ in range(5)]
    for w in wallets:
        for _ in range(3):
            _lot(w, "1", timedelta(seconds=5))
    result = automation.credits_expire_sweep(now=timezone.now() + timedelta(minutes=1), batch_size=2)
    assert result.credits_expired == 15
    assert result.batches == 3
    assert result.longest_lock_ms > 0


def test_due_lots_are_found_through_an_index(wallet):
    # With sequential scans priced out, PostgreSQL still seq-scans if no index serves the
    # predicate: so this fails if the partial lot indexes are dropped or stop matching.
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT DISTINCT wallet_id FROM wallets_wallettransaction WHERE type = 'credit' "
            "AND transaction_status = 'completed' AND credits_available > 0 AND expiry_date <= now()"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "Seq Scan" not in plan
    assert "lots_idx" in plan


def test_scheduled_unfreeze(wallet):
    services.wallet_freeze(wallet, reason="cooling off", until=timezone.now() + timedelta(minutes=5))
    assert automation.wallets_unfreeze_due() == 0
    assert automation.wallets_unfreeze_due(now=timezone.now() + timedelta(minutes=6)) == 1
    wallet.refresh_from_db()
    assert wallet.wallet_status == "active"
    assert wallet.status_changes.first().created_by == "system"
