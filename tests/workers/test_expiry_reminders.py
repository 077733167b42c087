"""Expiry reminders in a real worker process, delivered to a real receiver: each due lot's
``wallet.credits.expiring`` arrives once, signed; lots outside the window get nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.workers.receiver import WebhookReceiver, signed_with
from tests.workers.worker_process import wait_for
from wallets.models import CreditExpiryReminder
from wallets.services import events
from wallets.tasks import credit_expiry_reminders_task
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
D = Decimal


def _sweeps_done(worker) -> int:
    lines = worker.log_path.read_text().splitlines()
    return sum("credit_expiry_reminders_task[" in line and " succeeded " in line for line in lines)


def test_the_worker_reminds_due_lots_once_and_the_receiver_gets_each_event(worker, queue, environment, wallet, credit):
    soon = timezone.now() + timedelta(days=3)
    due = [credit("10", expiry_date=soon), credit("2.5", expiry_date=soon + timedelta(hours=1))]
    credit("7", expiry_date=timezone.now() + timedelta(days=30))  # outside the default 7 days
    credit("1")  # never expires
    with WebhookReceiver() as receiver:
        endpoint = WebhookEndpoint.objects.create(
            environment=environment, url=receiver.url, event_types=[events.CREDITS_EXPIRING]
        )
        worker.start()
        credit_expiry_reminders_task.delay()
        wait_for(lambda: len(receiver.requests) >= len(due), timeout=30, what="the reminders to arrive")
        credit_expiry_reminders_task.delay()  # a second run finds nothing more to announce
        wait_for(
            lambda: WebhookDelivery.objects.filter(status="succeeded").count() == len(due),
            timeout=30,
            what="the deliveries to be recorded",
        )
        wait_for(lambda: _sweeps_done(worker) == 2, timeout=30, what="the second sweep to finish")

    assert len(receiver.requests) == len(due)
    by_lot = {}
    for request in receiver.requests:
        assert signed_with(endpoint.secret, request)
    for message in receiver.events():
        assert message["type"] == events.CREDITS_EXPIRING
        by_lot[message["data"]["credits_expiring"]["lot_id"]] = message["data"]["credits_expiring"]
    assert set(by_lot) == {lot.pk for lot in due}
    assert {lot_id: payload["credits"] for lot_id, payload in by_lot.items()} == {due[0].pk: "10", due[1].pk: "2.5"}
    assert [by_lot[lot.pk]["days_left"] for lot in due] == [3, 4]  # rounded up: the second is 3 days and an hour away
    assert {payload["wallet_id"] for payload in by_lot.values()} == {wallet.pk}
    assert set(CreditExpiryReminder.objects.values_list("lot_id", flat=True)) == {lot.pk for lot in due}
