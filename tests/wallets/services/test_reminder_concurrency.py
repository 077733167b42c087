"""Two expiry reminder sweeps racing over 1,200 due lots, from real threads on their own connections.

Each lot is announced exactly once: the reminder's primary key is the lot, a sweep inserts with ON
CONFLICT DO NOTHING and announces only what it inserted, so the sweep that reads a lot the other
has just reminded waits for the other's commit and then skips it. The negative control announces
every lot read as due (the test-only REMINDERS_UNSAFE_SKIP_ONCE_GUARD): the two sweeps then send
lots twice, so the race this test rules out is real.
"""

import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from tests.wallets.services.concurrently import run_together
from wallets import services
from wallets.models import CreditExpiryReminder
from wallets.services import events
from wallets.services.reminders import credit_expiry_reminders_sweep
from webhooks.models import WebhookEndpoint, WebhookEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WALLETS, LOTS_PER_WALLET, SWEEPS, BATCH = 60, 20, 2, 200


@pytest.fixture
def due_lots(environment, make_wallet, make_customer) -> list[str]:
    """1,200 lots expiring within the next three days, spread over 60 wallets, and an endpoint that wants the event."""
    WebhookEndpoint.objects.create(environment=environment, url="http://127.0.0.1:9/hooks")
    soon = timezone.now() + timedelta(days=1)
    ids = []
    for w in range(WALLETS):
        wallet = make_wallet(owner=make_customer())
        for i in range(LOTS_PER_WALLET):
            expiry = soon + timedelta(minutes=w * LOTS_PER_WALLET + i)
            ids.append(
                services.wallet_top_up(
                    wallet, reason="FREE_CREDIT_GRANT", credits=Decimal("1.5"), expiry_date=expiry
                ).transaction.id
            )
    return ids


@pytest.fixture(autouse=True)
def _empty_queue():
    """The events queue a delivery task per event; nobody consumes them here."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    yield
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_WEBHOOK_QUEUE)


def _race() -> tuple[list, Counter]:
    """SWEEPS sweeps released together; their results, and how many events each lot got."""
    results, errors = run_together(SWEEPS, lambda _: credit_expiry_reminders_sweep(batch_size=BATCH))
    assert errors == [None] * SWEEPS, errors
    announced = Counter(
        payload["credits_expiring"]["lot_id"]
        for payload in WebhookEvent.objects.filter(event_type=events.CREDITS_EXPIRING).values_list("payload", flat=True)
    )
    return results, announced


def test_racing_sweeps_announce_each_lot_exactly_once(due_lots, capsys):
    results, announced = _race()

    assert set(announced) == set(due_lots)
    assert set(announced.values()) == {1}
    assert CreditExpiryReminder.objects.count() == len(due_lots)
    assert sum(result.reminded for result in results) == len(due_lots)
    with capsys.disabled():
        print(f"\n[reminders] {SWEEPS} sweeps over {len(due_lots)} lots: {results}")


def test_negative_control_announcing_what_was_read_sends_lots_twice(due_lots, settings, capsys):
    settings.REMINDERS_UNSAFE_SKIP_ONCE_GUARD = True
    results, announced = _race()

    twice = sum(1 for count in announced.values() if count > 1)
    with capsys.disabled():
        print(f"\n[reminders] control, once-guard off: {twice} of {len(due_lots)} lots announced twice; {results}")
    assert twice > 0
    # The primary key still kept one reminder row per lot: only the events went out twice.
    assert CreditExpiryReminder.objects.count() == len(due_lots)


def test_one_sweep_over_the_lots_and_a_second_with_nothing_left_to_send(due_lots, capsys):
    """The figure README and RELIABILITY quote: one sweep of 1,200 due lots (default batch size), then the
    steady state, a sweep that reads the same window and finds every lot reminded."""
    started = time.perf_counter()
    first = credit_expiry_reminders_sweep()
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    second = credit_expiry_reminders_sweep()
    second_seconds = time.perf_counter() - started

    assert (first.reminded, second.reminded) == (len(due_lots), 0)
    assert WebhookEvent.objects.filter(event_type=events.CREDITS_EXPIRING).count() == len(due_lots)
    with capsys.disabled():
        print(
            f"\n[reminders] one sweep, {len(due_lots)} due lots: {first_seconds * 1000:.0f} ms in {first.batches} batches"
            f" (events and deliveries included); again with all reminded: {second_seconds * 1000:.1f} ms"
        )
