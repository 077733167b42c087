"""The hold expiry sweep in a real worker process: due holds expire once, their credits go back; others stay."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.workers.worker_process import wait_for
from wallets.models import Wallet, WalletHold
from wallets.services import holds
from wallets.tasks import holds_expire_sweep_task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
D = Decimal


def test_worker_expires_due_holds(worker, queue, wallet, credit):
    credit("100")
    due = [holds.hold_place(wallet, credits=D("10"), idempotency_key=f"due-{i}").hold for i in range(3)]
    kept = holds.hold_place(wallet, credits=D("5"), idempotency_key="kept", expires_in_seconds=3600).hold
    # Placed with the shortest lifetime the service allows, then moved into the past: no sleeping.
    WalletHold.objects.filter(pk__in=[hold.pk for hold in due]).update(expires_at=timezone.now() - timedelta(seconds=1))
    worker.start()
    holds_expire_sweep_task.delay()
    wait_for(
        lambda: WalletHold.objects.filter(hold_status="expired").count() == len(due), timeout=30, what="the due holds to expire"
    )
    holds_expire_sweep_task.delay()  # a second run finds nothing more to do
    wait_for(lambda: Wallet.objects.get(pk=wallet.pk).held_credits == D("5"), timeout=30, what="the held credits to drop")
    kept.refresh_from_db()
    assert kept.hold_status == "held"
    assert set(WalletHold.objects.filter(hold_status="expired").values_list("id", flat=True)) == {hold.id for hold in due}
    wallet.refresh_from_db()
    assert (wallet.credit_balance, wallet.held_credits) == (D("100"), D("5"))
