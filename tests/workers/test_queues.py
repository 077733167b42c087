"""Ledger jobs and webhook delivery on separate queues: a stuck webhook endpoint cannot delay credit expiry.

Real worker processes on the real Redis, as docker-compose.yml runs them (one worker per queue),
and an endpoint that takes each delivery and answers only when the test lets it. The negative
control is ./run's shape at its smallest: one worker process consuming both queues, which the
stuck delivery holds, so the expiry waits for it.
"""

import pytest

from tests.workers.receiver import WebhookReceiver
from tests.workers.worker_process import WorkerProcess, lots_expiring_now, wait_for
from wallets.models import WalletTransaction
from wallets.tasks import credits_expire_sweep_task
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def stuck_endpoint(environment, monkeypatch):
    # The workers wait up to a minute for the endpoint, so only the test ends the hold.
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "60")
    with WebhookReceiver() as receiver:
        WebhookEndpoint.objects.create(environment=environment, url=receiver.url)
        receiver.hold()
        yield receiver


def _expired(lot_ids) -> bool:
    return WalletTransaction.objects.filter(transaction_reason="CREDIT_EXPIRED", idempotency_key__in=lot_ids).exists()


def _delivery_stuck_then_expiry_sent(stuck_endpoint, make_wallet, make_customer) -> list[str]:
    """A due lot whose top-up's webhook is being delivered to the stuck endpoint, then the expiry sweep queued."""
    lot_ids = lots_expiring_now(make_wallet, make_customer, wallets=1, lots_per_wallet=1)
    wait_for(lambda: stuck_endpoint.requests, timeout=30, what="the webhook worker to reach the stuck endpoint")
    credits_expire_sweep_task.delay()
    return lot_ids


def test_a_stuck_webhook_endpoint_does_not_delay_expiry_on_the_ledger_queue(
    queue, settings, tmp_path, stuck_endpoint, make_wallet, make_customer
):
    # given one worker per queue, as compose runs them
    ledger = WorkerProcess(tmp_path / "ledger.log", queues=(settings.CELERY_TASK_DEFAULT_QUEUE,))
    webhooks = WorkerProcess(tmp_path / "webhooks.log", queues=(settings.CELERY_WEBHOOK_QUEUE,))
    ledger.launch(), webhooks.launch()
    try:
        ledger.wait_ready(), webhooks.wait_ready()
        # when a delivery hangs on the endpoint and the expiry sweep is queued behind it
        lot_ids = _delivery_stuck_then_expiry_sent(stuck_endpoint, make_wallet, make_customer)
        # then the lot expires while the delivery is still hanging
        wait_for(lambda: _expired(lot_ids), timeout=60, what="the expiry sweep to run")
        assert not stuck_endpoint.released.is_set()
        assert not WebhookDelivery.objects.filter(status="succeeded").exists()
    finally:
        stuck_endpoint.release()
        ledger.stop(), webhooks.stop()


def test_negative_control_one_worker_on_both_queues_makes_expiry_wait_for_the_stuck_delivery(
    queue, tmp_path, stuck_endpoint, make_wallet, make_customer
):
    # given one worker process consuming both queues
    worker = WorkerProcess(tmp_path / "worker.log", concurrency=1).start()
    try:
        # when a delivery hangs on the endpoint and the expiry sweep is queued behind it
        lot_ids = _delivery_stuck_then_expiry_sent(stuck_endpoint, make_wallet, make_customer)
        # then nothing expires while the delivery hangs (the worker's only process is inside it) ...
        with pytest.raises(AssertionError, match="timed out"):
            wait_for(lambda: _expired(lot_ids), timeout=3, what="an expiry behind the stuck delivery")
        # ... and the expiry runs once the endpoint answers
        stuck_endpoint.release()
        wait_for(lambda: _expired(lot_ids), timeout=60, what="the expiry sweep to run")
    finally:
        stuck_endpoint.release()
        worker.stop()
