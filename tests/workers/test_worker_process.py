"""Integration with a real worker process on the real Redis, and its faults.

Each test runs a `celery worker` subprocess on this run's queue against the test database
(transaction=True, so the worker sees committed rows).
"""

from decimal import Decimal

import pytest
from django.conf import settings

from tests.workers.receiver import WebhookReceiver, signed_with
from tests.workers.worker_process import lots_expiring_now, wait_for
from wallets import services
from wallets.models import Wallet, WalletTransaction
from wallets.services import automation
from wallets.tasks import auto_top_up_sweep_task, credits_expire_sweep_task
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.tasks import webhooks_deliver_due_task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
D = Decimal


def _expired_count(**filters):
    return WalletTransaction.objects.filter(transaction_reason="CREDIT_EXPIRED", **filters).count()


def test_worker_runs_the_expiry_sweep(worker, queue, make_wallet, make_customer):
    lots = lots_expiring_now(make_wallet, make_customer, wallets=3, lots_per_wallet=2)
    worker.start()
    credits_expire_sweep_task.delay()
    wait_for(lambda: _expired_count() == len(lots), timeout=30, what="the sweep to expire every lot")
    assert set(
        WalletTransaction.objects.filter(transaction_reason="CREDIT_EXPIRED").values_list("idempotency_key", flat=True)
    ) == set(lots)


def test_debit_over_the_api_triggers_an_auto_top_up_in_the_worker(worker, queue, api_client, make_wallet):
    wallet = make_wallet(auto_topup=services.AutoTopUp(enabled=True, threshold=D("50"), amount=D("100")), initial_credits=D("60"))
    worker.start()
    response = api_client.post(
        f"/v1/wallets/{wallet.id}/debit",
        {"credits": "20", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "api-debit-1"},
        format="json",
    )
    assert response.status_code == 200, response.content
    wait_for(lambda: Wallet.objects.get(pk=wallet.pk).credit_balance == D("140"), timeout=30, what="the auto top-up")
    top_up = WalletTransaction.objects.get(wallet=wallet, metadata__auto_topup="true")
    assert top_up.transaction_reason == "PURCHASED_CREDIT_DIRECT"


def test_worker_delivers_a_signed_webhook(worker, queue, environment, wallet):
    worker.start()
    with WebhookReceiver() as receiver:
        endpoint = WebhookEndpoint.objects.create(
            environment=environment, url=receiver.url, event_types=["wallet.transaction.created"]
        )
        services.wallet_top_up(wallet, reason="FREE_CREDIT_GRANT", credits=D("7"))
        wait_for(lambda: receiver.requests, timeout=30, what="the webhook")
    assert signed_with(endpoint.secret, receiver.requests[0])
    assert receiver.events()[0]["data"]["transaction"]["credit_amount"] == "7"
    wait_for(lambda: WebhookDelivery.objects.get().status == "succeeded", timeout=10, what="the delivery to be recorded")


def test_sigkill_mid_expiry_sweep_then_restart_expires_each_credit_once(worker, queue, make_wallet, make_customer):
    lots = lots_expiring_now(make_wallet, make_customer, wallets=100, lots_per_wallet=20)  # 2,000 credits
    worker.start()
    credits_expire_sweep_task.delay()
    wait_for(lambda: _expired_count() >= len(lots) * 0.3, timeout=60, interval=0.01, what="30% of the sweep")
    worker.kill()
    done_at_kill = _expired_count()
    print(f"\nSIGKILL after {done_at_kill}/{len(lots)} credits expired")
    assert done_at_kill < len(lots), "the sweep finished before the kill; make it bigger"

    # The next beat tick runs the sweep again on a fresh worker.
    worker.start()
    credits_expire_sweep_task.delay()
    wait_for(lambda: _expired_count() == len(lots), timeout=120, what="the restarted sweep")
    keys = list(WalletTransaction.objects.filter(transaction_reason="CREDIT_EXPIRED").values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) == len(lots)
    assert set(keys) == set(lots)
    assert not WalletTransaction.objects.filter(id__in=lots, credits_available__gt=0).exists()
    print(f"after restart: {len(keys)}/{len(lots)} credits expired exactly once")


def test_redis_losing_every_queued_task_is_recovered_by_the_sweeps(worker, queue, environment, make_wallet, make_customer):
    with WebhookReceiver() as receiver:
        WebhookEndpoint.objects.create(environment=environment, url=receiver.url, event_types=["wallet.transaction.created"])
        low = [
            make_wallet(
                owner=make_customer(),
                auto_topup=services.AutoTopUp(enabled=True, threshold=D("50"), amount=D("100")),
                initial_credits=D("60"),
            )
            for _ in range(3)
        ]
        for number, wallet in enumerate(low):  # each debit queues an auto top-up and a webhook
            services.wallet_debit(wallet, credits=D("20"), idempotency_key=f"d{number}", reason="INVOICE_PAYMENT")
        queued = queue.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
        assert queued > 0
        queue.delete(settings.CELERY_TASK_DEFAULT_QUEUE)  # Redis loses everything it held
        print(f"\n{queued} queued tasks dropped")

        worker.start()
        auto_top_up_sweep_task.delay()
        wait_for(
            lambda: all(Wallet.objects.get(pk=w.pk).credit_balance == D("140") for w in low),
            timeout=30,
            what="the auto top-up sweep",
        )
        webhooks_deliver_due_task.delay()
        wait_for(lambda: not WebhookDelivery.objects.exclude(status="succeeded").exists(), timeout=30, what="the webhook sweep")
    delivered_ids = {event["id"] for event in receiver.events()}
    assert len(delivered_ids) == WebhookDelivery.objects.count()
    assert WalletTransaction.objects.filter(metadata__auto_topup="true").count() == len(low)
    assert automation.auto_top_up_sweep() == 0
