"""Celery entry points for wallets. Each task calls one service; the services hold the rules.

All tasks are safe to run twice: the sweeps read what is still due, and every ledger write
they make carries a deterministic idempotency key. Task names are their import paths
(wallets.tasks.<function>): the beat schedules stored in the database refer to them.
"""

from celery import shared_task
from celery.utils.log import get_task_logger
from django.db import OperationalError, transaction

from wallets.ledger.hooks import Posted
from wallets.models import WalletTransaction
from wallets.services import automation, holds, reminders

logger = get_task_logger(__name__)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, ignore_result=True)
def wallet_auto_top_up_task(wallet_id: str, trigger_id: str) -> None:
    automation.wallet_auto_top_up(wallet_id, trigger_id=trigger_id)


@shared_task(ignore_result=True, expires=240)
def auto_top_up_sweep_task() -> int:
    return automation.auto_top_up_sweep()


@shared_task(ignore_result=True, expires=600)
def credits_expire_sweep_task() -> int:
    result = automation.credits_expire_sweep()
    logger.info(
        "credit expiry sweep: %s credits expired in %s wallets (%s batches, longest lock %.1f ms)",
        result.credits_expired,
        result.wallets,
        result.batches,
        result.longest_lock_ms,
    )
    return result.credits_expired


@shared_task(ignore_result=True, expires=50)
def wallets_unfreeze_due_task() -> int:
    return automation.wallets_unfreeze_due()


@shared_task(ignore_result=True, expires=50)
def holds_expire_sweep_task() -> int:
    """Release the holds past their expiry (status expired); wallets.services.holds."""
    expired = holds.holds_expire_sweep()
    if expired:
        logger.info("hold expiry sweep: %s holds expired", expired)
    return expired


@shared_task(ignore_result=True, expires=600)
def credit_expiry_reminders_task() -> int:
    """Announce wallet.credits.expiring for the lots due a reminder; wallets.services.reminders."""
    result = reminders.credit_expiry_reminders_sweep()
    if result.reminded or result.skipped:
        logger.info(
            "expiry reminder sweep: %s lots reminded, %s already reminded by another sweep (%s batches)",
            result.reminded,
            result.skipped,
            result.batches,
        )
    return result.reminded


def queue_auto_top_up(posted: Posted) -> None:
    """A listener of wallets.ledger.hooks: a debit that leaves its wallet due an auto top-up
    queues one evaluation once its transaction commits (never if it rolls back)."""
    last = posted.rows[-1]
    if not (posted.balance_moved and last.type == WalletTransaction.Type.DEBIT and automation.auto_top_up_due(posted.wallet)):
        return
    wallet_id, trigger_id = posted.wallet.id, last.id

    def enqueue():
        try:
            wallet_auto_top_up_task.delay(wallet_id, trigger_id)
        except Exception:  # the broker is down: the periodic sweep will find this wallet
            logger.warning("could not queue auto top-up of %s; the sweep will pick it up", wallet_id, exc_info=True)

    transaction.on_commit(enqueue)
