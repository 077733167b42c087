"""Write-side operations on wallets: the only code that changes a balance or a wallet's status.

Each service validates its arguments before touching the database, then runs in one
transaction under the wallet's row lock (wallets.ledger.lock_wallet).
"""

from wallets.ledger import PURCHASED_REASONS
from wallets.services.credits import TOP_UP_REASONS, wallet_top_up
from wallets.services.debits import DEBIT_REASONS, expire_due_lots, wallet_credit_expire, wallet_debit
from wallets.services.lifecycle import (
    AutoTopUp,
    current_auto_topup,
    wallet_create,
    wallet_freeze,
    wallet_terminate,
    wallet_unfreeze,
    wallet_update,
)

__all__ = [
    "AutoTopUp",
    "DEBIT_REASONS",
    "PURCHASED_REASONS",
    "TOP_UP_REASONS",
    "current_auto_topup",
    "expire_due_lots",
    "wallet_create",
    "wallet_credit_expire",
    "wallet_debit",
    "wallet_freeze",
    "wallet_terminate",
    "wallet_top_up",
    "wallet_unfreeze",
    "wallet_update",
]
