"""A wallet history that exercises every bookkeeping path, for tests that audit or corrupt a ledger."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from wallets import services
from wallets.models import Wallet, WalletTransaction


@dataclass
class BusyLedger:
    wallet: Wallet
    first_lot: WalletTransaction  # 100, priority 1: consumed whole by the invoice payment
    expiring_lot: WalletTransaction  # 50, expiring: 20 consumed, 30 expired
    plain_lot: WalletTransaction  # 30: consumed by the overdrawing manual debit
    payment: WalletTransaction  # INVOICE_PAYMENT 120 over two lots
    expiry: WalletTransaction  # CREDIT_EXPIRED 30
    overdraft: WalletTransaction  # MANUAL_BALANCE_DEBIT 50: 30 from a lot, 20 overdrawn
    partial_repayment: WalletTransaction  # 15: repays 15 of the 20, holds nothing
    repayment: WalletTransaction  # 25: repays the last 5, holds 20


def build_busy_ledger(wallet: Wallet) -> BusyLedger:
    """Consumption across lots, an expiry, an overdraft and its repayment in two steps; ends at 20 credits."""

    def top_up(credits, **fields):
        return services.wallet_top_up(wallet, credits=Decimal(credits), reason="FREE_CREDIT_GRANT", **fields).transaction

    def debit(credits, key, reason):
        return services.wallet_debit(wallet, credits=Decimal(credits), idempotency_key=key, reason=reason).transaction

    first_lot = top_up("100", priority=1)
    expiring_lot = top_up("50", expiry_date=timezone.now() + timedelta(days=30))
    plain_lot = top_up("30")
    payment = debit("120", "busy-payment", "INVOICE_PAYMENT")
    expiry = services.wallet_credit_expire(expiring_lot, now=expiring_lot.expiry_date)
    overdraft = debit("50", "busy-overdraft", "MANUAL_BALANCE_DEBIT")
    partial_repayment = top_up("15")
    repayment = top_up("25")
    wallet.refresh_from_db()
    return BusyLedger(wallet, first_lot, expiring_lot, plain_lot, payment, expiry, overdraft, partial_repayment, repayment)
