"""The expiry reminder sweep (wallets.services.reminders): which lots are due, once each, and what the event says.

Every sweep here is given its ``now``: the lots are written at the real time, and the sweep is run
as if at a chosen instant relative to them, so no test sleeps.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from invoices.models import Invoice
from invoices.services import invoice_pay, invoice_void
from tenancy.services import environment_get_or_create
from wallets import services
from wallets.models import CreditExpiryReminder
from wallets.services import events, holds
from wallets.services.reminders import credit_expiry_reminders_sweep
from webhooks.models import WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db
D = Decimal
DAY = timedelta(days=1)


@pytest.fixture
def endpoint(environment):
    return WebhookEndpoint.objects.create(environment=environment, url="http://127.0.0.1:9/hooks")


@pytest.fixture
def t0():
    return timezone.now() + timedelta(minutes=1)


def reminded() -> set[str]:
    return set(CreditExpiryReminder.objects.values_list("lot_id", flat=True))


def expiring_events() -> list[dict]:
    return [
        event.payload for event in WebhookEvent.objects.filter(event_type=events.CREDITS_EXPIRING).order_by("created_at", "id")
    ]


def set_days(environment, days: int) -> None:
    tenant = environment.tenant
    tenant.credit_expiry_reminder_days = days
    tenant.save(update_fields=["credit_expiry_reminder_days"])


def test_the_window_is_now_to_n_days_ahead_edges_included_and_each_lot_is_announced_once(endpoint, wallet, credit, t0):
    on_the_edge = credit("10", expiry_date=t0 + 7 * DAY)
    just_outside = credit("11", expiry_date=t0 + 7 * DAY + timedelta(microseconds=1))
    created_inside = credit("12", expiry_date=t0 + timedelta(hours=2))
    past_due = credit("13", expiry_date=t0 - timedelta(seconds=30))  # expired, not yet swept
    credit("14")  # never expires

    result = credit_expiry_reminders_sweep(now=t0)

    assert (result.reminded, result.skipped) == (2, 0)
    assert reminded() == {on_the_edge.pk, created_inside.pk}
    assert sorted(event["credits_expiring"]["lot_id"] for event in expiring_events()) == sorted(reminded())
    assert credit_expiry_reminders_sweep(now=t0).reminded == 0  # run again: nothing more
    # A second later the last lot enters the window and is announced; the expired one never is.
    assert credit_expiry_reminders_sweep(now=t0 + timedelta(seconds=1)).reminded == 1
    assert reminded() == {on_the_edge.pk, created_inside.pk, just_outside.pk}
    assert past_due.pk not in reminded()
    assert len(expiring_events()) == 3


def test_the_event_names_the_lot_its_credits_and_the_time_left(endpoint, wallet, credit, customer, t0):
    lot = credit("25.5", expiry_date=t0 + 7 * DAY)
    later = t0 + timedelta(hours=1)  # the sweep finds it 6 days 23 hours ahead: 7 days, rounded up

    credit_expiry_reminders_sweep(now=later)

    (payload,) = expiring_events()
    reminder = CreditExpiryReminder.objects.get()
    assert payload["credits_expiring"] == {
        "lot_id": lot.pk,
        "wallet_id": wallet.pk,
        "customer_id": customer.pk,
        "currency": "usd",
        "credits": "25.5",
        "held_credits": "0",
        "expiry_date": lot.expiry_date.isoformat().replace("+00:00", "Z"),
        "seconds_left": 7 * 86400 - 3600,
        "days_left": 7,
        "reminder_days": 7,
        "reminded_at": later.isoformat().replace("+00:00", "Z"),
    }
    assert payload["wallet"]["id"] == wallet.pk and payload["wallet"]["credit_balance"] == "25.5"
    assert (reminder.wallet_id, reminder.customer_id, reminder.environment_id, reminder.tenant_id) == (
        wallet.pk,
        customer.pk,
        wallet.environment_id,
        wallet.tenant_id,
    )
    assert (reminder.credits, reminder.held_credits, reminder.reminder_days, reminder.created_at) == (D("25.5"), 0, 7, later)


def test_pending_lots_wait_until_they_complete_and_failed_ones_are_never_announced(endpoint, make_wallet, t0):
    wallet = make_wallet()
    paid = services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", credits=D("40"), expiry_date=t0 + 3 * DAY)
    voided = services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", credits=D("50"), expiry_date=t0 + 3 * DAY)

    assert credit_expiry_reminders_sweep(now=t0).reminded == 0
    invoice_pay(Invoice.objects.get(pk=paid.invoice_id))
    invoice_void(Invoice.objects.get(pk=voided.invoice_id))

    assert credit_expiry_reminders_sweep(now=t0).reminded == 1
    assert reminded() == {paid.transaction.pk}


def test_a_lot_with_nothing_left_is_not_announced_and_one_consumed_after_its_reminder_is_not_announced_again(
    endpoint, wallet, credit, t0
):
    spent = credit("10", expiry_date=t0 + 2 * DAY, priority=1)
    kept = credit("30", expiry_date=t0 + 5 * DAY, priority=2)
    services.wallet_debit(wallet, credits=D("10"), idempotency_key="spend-first", reason="INVOICE_PAYMENT")

    credit_expiry_reminders_sweep(now=t0)
    assert reminded() == {kept.pk}

    services.wallet_debit(wallet, credits=D("30"), idempotency_key="spend-second", reason="INVOICE_PAYMENT")
    assert credit_expiry_reminders_sweep(now=t0 + DAY).reminded == 0
    # The reminder keeps what it said at the time.
    assert CreditExpiryReminder.objects.get().credits == D("30")
    assert spent.pk not in reminded() and len(expiring_events()) == 1


def test_credits_an_open_hold_earmarks_count_and_are_named(endpoint, wallet, credit, t0):
    held_by_two = credit("10", expiry_date=t0 + DAY, priority=1)
    wholly_held = credit("5", expiry_date=t0 + 2 * DAY, priority=2)
    holds.hold_place(wallet, credits=D("4"), idempotency_key="h1")
    holds.hold_place(wallet, credits=D("11"), idempotency_key="h2")  # the 6 left of the first lot, then all of the second

    credit_expiry_reminders_sweep(now=t0)

    by_lot = {row.lot_id: (row.credits, row.held_credits) for row in CreditExpiryReminder.objects.all()}
    assert by_lot == {held_by_two.pk: (D("10"), D("10")), wholly_held.pk: (D("5"), D("5"))}
    payload = {event["credits_expiring"]["lot_id"]: event["credits_expiring"] for event in expiring_events()}
    assert (payload[wholly_held.pk]["credits"], payload[wholly_held.pk]["held_credits"]) == ("5", "5")


def test_a_lot_held_by_two_reports_both_parts(endpoint, wallet, credit, t0):
    lot = credit("10", expiry_date=t0 + DAY)
    holds.hold_place(wallet, credits=D("2.5"), idempotency_key="h1")
    credit_expiry_reminders_sweep(now=t0)
    reminder = CreditExpiryReminder.objects.get(lot=lot)
    assert (reminder.credits, reminder.held_credits) == (D("10"), D("2.5"))


def test_setting_zero_turns_reminders_off_and_changes_take_effect_at_the_next_sweep(endpoint, environment, wallet, credit, t0):
    in_two_days = credit("1", expiry_date=t0 + 2 * DAY)
    in_ten_days = credit("2", expiry_date=t0 + 10 * DAY)
    in_five_days = credit("3", expiry_date=t0 + 5 * DAY)

    set_days(environment, 0)
    assert credit_expiry_reminders_sweep(now=t0).reminded == 0
    assert not reminded() and not expiring_events()

    set_days(environment, 3)
    credit_expiry_reminders_sweep(now=t0)
    assert reminded() == {in_two_days.pk}

    set_days(environment, 14)  # wider: the lots of the wider window are due now
    credit_expiry_reminders_sweep(now=t0)
    assert reminded() == {in_two_days.pk, in_ten_days.pk, in_five_days.pk}

    set_days(environment, 1)  # narrower: nothing is sent again
    assert credit_expiry_reminders_sweep(now=t0).reminded == 0
    assert len(expiring_events()) == 3
    assert {event["credits_expiring"]["reminder_days"] for event in expiring_events()} == {3, 14}


def test_each_tenant_has_its_own_window(endpoint, environment, make_customer, make_wallet, credit, t0):
    other = environment_get_or_create(tenant_name="initech", environment_name="live")
    set_days(other, 2)
    WebhookEndpoint.objects.create(environment=other, url="http://127.0.0.1:9/other")
    other_wallet = make_wallet(owner=make_customer(env=other))
    mine = credit("1", expiry_date=t0 + 5 * DAY)
    theirs_due = credit("1", target=other_wallet, expiry_date=t0 + DAY)
    theirs_later = credit("1", target=other_wallet, expiry_date=t0 + 5 * DAY)

    credit_expiry_reminders_sweep(now=t0)

    assert reminded() == {mine.pk, theirs_due.pk}
    assert theirs_later.pk not in reminded()
    assert {event.environment_id for event in WebhookEvent.objects.filter(event_type=events.CREDITS_EXPIRING)} == {
        environment.pk,
        other.pk,
    }


def test_the_sweep_goes_in_batches_and_reminds_each_lot_once(endpoint, make_wallet, make_customer, credit, t0):
    lots = [
        credit("1", target=make_wallet(owner=make_customer()), expiry_date=t0 + timedelta(hours=hour)) for hour in (5, 1, 3, 2, 4)
    ]
    same_expiry = [credit("2", expiry_date=t0 + DAY) for _ in range(3)]  # the cursor must not skip ties

    result = credit_expiry_reminders_sweep(now=t0, batch_size=2)

    assert (result.reminded, result.batches) == (8, 5)  # 2+2+2+2, then an empty batch says it is done
    assert reminded() == {lot.pk for lot in lots + same_expiry}
    assert sorted(event["credits_expiring"]["lot_id"] for event in expiring_events()) == sorted(reminded())


def test_without_an_endpoint_the_reminder_is_recorded_and_no_event_is_kept_for_later(wallet, credit, environment, t0):
    lot = credit("5", expiry_date=t0 + DAY)
    assert credit_expiry_reminders_sweep(now=t0).reminded == 1
    WebhookEndpoint.objects.create(environment=environment, url="http://127.0.0.1:9/late")
    assert credit_expiry_reminders_sweep(now=t0).reminded == 0
    assert reminded() == {lot.pk} and not expiring_events()


def test_an_endpoint_may_subscribe_to_reminders_alone(environment, wallet, credit, t0):
    WebhookEndpoint.objects.create(environment=environment, url="http://127.0.0.1:9/r", event_types=[events.CREDITS_EXPIRING])
    credit("5", expiry_date=t0 + DAY)
    credit_expiry_reminders_sweep(now=t0)
    assert list(WebhookEvent.objects.values_list("event_type", flat=True)) == [events.CREDITS_EXPIRING]
