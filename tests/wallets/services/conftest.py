"""Fixtures for the service tests: an adjustable clock and a ledger snapshot.

Every test ends with wallets.ledger.integrity checking the whole ledger it wrote (tests/conftest.py),
so each scenario doubles as a check that the write path kept its invariants; a test that
corrupts the ledger on purpose asks for ``ledger_may_drift``.
"""

from datetime import datetime

import pytest
from django.utils import timezone

from wallets.models import CreditAllocation, Wallet, WalletStatusChange, WalletTransaction


class Clock:
    """``timezone.now()`` as the services see it; starts at the real time and moves only when told."""

    def __init__(self, start: datetime):
        self.now = start

    def set(self, when: datetime) -> None:
        self.now = when

    def advance(self, delta) -> datetime:
        self.now += delta
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """Injected time: services read ``django.utils.timezone.now``, so expiry can be tested without sleeping."""
    fixed = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", lambda: fixed.now)
    return fixed


@pytest.fixture
def snapshot():
    """Everything a rejected call must leave untouched: row counts and every wallet's balances."""

    def take():
        return {
            "wallets": list(
                Wallet.objects.order_by("pk").values_list("pk", "credit_balance", "balance", "wallet_status", "transaction_count")
            ),
            "transactions": WalletTransaction.objects.count(),
            "lots": list(WalletTransaction.objects.order_by("pk").values_list("pk", "credits_available")),
            "allocations": CreditAllocation.objects.count(),
            "status_changes": WalletStatusChange.objects.count(),
        }

    return take
