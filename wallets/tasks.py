"""Celery entry points for wallets. Each task calls one service; the services hold the rules.

All tasks are safe to run twice: the sweeps read what is still due, and every ledger write
they make carries a deterministic idempotency key.
"""

from celery import shared_task
from celery.utils.log import get_task_logger
from django.db import OperationalError

logger = get_task_logger(__name__)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, ignore_result=True)
def wallet_auto_top_up_task(wallet_id: str, trigger_id: str) -> None:
    from wallets.services import automation

    automation.wallet_auto_top_up(wallet_id, trigger_id=trigger_id)


@shared_task(ignore_result=True, expires=240)
def auto_top_up_sweep_task() -> int:
    from wallets.services import automation

    return automation.auto_top_up_sweep()


@shared_task(ignore_result=True, expires=600)
def credits_expire_sweep_task() -> int:
    from wallets.services import automation

    result = automation.credits_expire_sweep()
    logger.info(
        "credit expiry sweep: %s credits expired in %s wallets (%s batches, longest lock %.1f ms)",
        result.credits_expired, result.wallets, result.batches, result.longest_lock_ms,
    )
    return result.credits_expired


@shared_task(ignore_result=True, expires=50)
def wallets_unfreeze_due_task() -> int:
    from wallets.services import automation

    return automation.wallets_unfreeze_due()
