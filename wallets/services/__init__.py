"""Write-side operations on wallets: the only code that changes a balance or a wallet's status.

Each service validates its arguments before touching the database, then runs in one
transaction under the wallet's row lock (wallets.ledger.postings.lock_wallet). This is the
domain layer (ARCHITECTURE.md): it stands on the ledger core and is called by the adapters
(API, admin, tasks, commands), never the other way round. Besides the services exported here:
alerts.py (alert settings and states), events.py (webhook payloads), after_posting.py (what
follows every posting), automation.py (auto top-ups and the sweeps), holds.py (credits reserved,
then captured or released), voids.py (voiding or refunding what a credit lot has left),
previews.py (what a debit would take, answered without writing) and reminders.py (announcing,
once per lot, credits about to expire).
"""

from wallets.ledger.postings import PURCHASED_REASONS
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
from wallets.services.transfers import TransferResult, wallet_transfer
from wallets.services.voids import credit_refund, credit_void

__all__ = [
    "DEBIT_REASONS",
    "PURCHASED_REASONS",
    "TOP_UP_REASONS",
    "AutoTopUp",
    "TransferResult",
    "credit_refund",
    "credit_void",
    "current_auto_topup",
    "expire_due_lots",
    "wallet_create",
    "wallet_credit_expire",
    "wallet_debit",
    "wallet_freeze",
    "wallet_terminate",
    "wallet_top_up",
    "wallet_transfer",
    "wallet_unfreeze",
    "wallet_update",
]
