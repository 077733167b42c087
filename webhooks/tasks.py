"""Celery entry points for webhooks. Each loads by id and calls one service."""

from celery import shared_task
from celery.utils.log import get_task_logger

logger = get_task_logger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def webhook_deliver_task(delivery_id: int) -> None:
    from webhooks import services

    services.webhook_deliver(delivery_id)


@shared_task(acks_late=True, ignore_result=True, expires=300)
def webhooks_deliver_due_task() -> int:
    """Beat entry point: attempt every due delivery (queued ones the broker lost, and retries)."""
    from webhooks import services

    delivered = 0
    for delivery_id in services.due_delivery_ids():
        if services.webhook_deliver(delivery_id) is not None:
            delivered += 1
    if delivered:
        logger.info("attempted %s due webhook deliveries", delivered)
    return delivered
