"""Auto top-up rules shared by the ledger and the auto top-up service.

A wallet is due an automatic top-up when it is active, has auto top-up enabled and its credit
balance is at or under the threshold. The ledger queues an evaluation after every debit that
leaves a wallet due; the periodic sweep finds any it missed (a lost message, a Redis restart).
"""

import logging

from django.db import transaction

from wallets.models import Wallet

logger = logging.getLogger(__name__)


def is_due(wallet: Wallet) -> bool:
    return (
        wallet.wallet_status == Wallet.Status.ACTIVE
        and wallet.auto_topup_enabled
        and wallet.auto_topup_threshold is not None
        and wallet.credit_balance <= wallet.auto_topup_threshold
    )


def queue_after_commit(wallet: Wallet, *, trigger_id: str) -> None:
    """Queue an evaluation once the current transaction commits (never if it rolls back)."""
    wallet_id = wallet.id

    def enqueue():
        from wallets.tasks import wallet_auto_top_up_task

        try:
            wallet_auto_top_up_task.delay(wallet_id, trigger_id)
        except Exception:  # the broker is down: the periodic sweep will find this wallet
            logger.warning("could not queue auto top-up of %s; the sweep will pick it up", wallet_id, exc_info=True)

    transaction.on_commit(enqueue)
