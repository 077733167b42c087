"""Holds (wallets.services.holds): place, capture (partial and full), release, expire, replay.

Every test ends with the ledger checker over everything it wrote (tests/conftest.py), which now
includes the hold invariants (IH) and the earmarks in I2 and I5.
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from core.exceptions import AlreadyExists, InvalidOperation, ValidationFailed
from tests.wallets.services.concurrently import run_together
from wallets import selectors, services
from wallets.models import CreditAllocation, HoldEarmark, WalletHold, WalletTransaction
from wallets.services import holds

pytestmark = pytest.mark.django_db

D = Decimal
Status = WalletHold.Status


def place(wallet, credits, key="h1", **kwargs):
    return holds.hold_place(wallet, credits=D(str(credits)), idempotency_key=key, **kwargs)


def lots_of(wallet):
    return dict(WalletTransaction.objects.filter(wallet=wallet, type="credit").values_list("id", "credits_available"))


def test_place_earmarks_lots_in_consumption_order(wallet, credit):
    first = credit("30", priority=1)
    second = credit("50")
    result = place(wallet, "40", description="job 7", metadata={"job": "7"})
    hold = result.hold
    assert (hold.credits, hold.hold_status, hold.captured_credits) == (D("40"), Status.HELD, 0)
    assert list(hold.earmarks.order_by("position").values_list("lot_id", "earmarked", "credits")) == [
        (first.id, D("30"), D("30")),
        (second.id, D("10"), D("10")),
    ]
    wallet.refresh_from_db()
    assert (wallet.credit_balance, wallet.held_credits) == (D("80"), D("40"))
    assert lots_of(wallet) == {first.id: 0, second.id: D("40")}
    # The held credits are out of reach of a debit...
    with pytest.raises(InvalidOperation, match="Insufficient balance"):
        services.wallet_debit(wallet, credits=D("41"), idempotency_key="d1", reason="INVOICE_PAYMENT")
    services.wallet_debit(wallet, credits=D("40"), idempotency_key="d2", reason="INVOICE_PAYMENT")
    # ...and of another hold.
    with pytest.raises(InvalidOperation, match="Insufficient balance to process hold operation") as caught:
        place(wallet, "1", key="h2")
    assert caught.value.details["available_credits"] == "0"


def test_partial_capture_debits_from_earmarks_and_returns_the_rest(wallet, credit):
    first = credit("30", priority=1)
    second = credit("50")
    hold = place(wallet, "40").hold
    result = holds.hold_capture(hold, credits=D("35"), idempotency_key="c1")
    hold = result.hold
    assert (hold.hold_status, hold.captured_credits) == (Status.CAPTURED, D("35"))
    row = hold.capture_transaction
    assert (row.type, row.transaction_reason, row.credit_amount) == ("debit", "HOLD_CAPTURE", D("35"))
    assert row.metadata["consumed_credit_tx_ids"] == f"{first.id},{second.id}"
    assert list(CreditAllocation.objects.filter(debit=row).order_by("pk").values_list("credit_id", "credits")) == [
        (first.id, D("30")),
        (second.id, D("5")),
    ]
    wallet.refresh_from_db()
    assert (wallet.credit_balance, wallet.held_credits) == (D("45"), 0)
    assert lots_of(wallet) == {first.id: 0, second.id: D("45")}
    assert set(HoldEarmark.objects.filter(hold=hold).values_list("credits", flat=True)) == {0}


def test_full_capture_by_default(wallet, credit):
    credit("100")
    hold = place(wallet, "25").hold
    hold = holds.hold_capture(hold, idempotency_key="c1").hold
    assert hold.captured_credits == D("25")
    wallet.refresh_from_db()
    assert (wallet.credit_balance, wallet.held_credits) == (D("75"), 0)


def test_capture_more_than_held_is_refused(wallet, credit, snapshot):
    credit("100")
    hold = place(wallet, "25").hold
    before = snapshot()
    with pytest.raises(ValidationFailed) as caught:
        holds.hold_capture(hold, credits=D("25.000000001"), idempotency_key="c1")
    assert caught.value.field == "credits"
    assert snapshot() == before


def test_release_returns_every_earmark(wallet, credit):
    lot = credit("100")
    hold = place(wallet, "60").hold
    hold = holds.hold_release(hold, idempotency_key="r1").hold
    assert (hold.hold_status, hold.captured_credits, hold.capture_transaction) == (Status.RELEASED, 0, None)
    wallet.refresh_from_db()
    assert (wallet.credit_balance, wallet.held_credits) == (D("100"), 0)
    assert lots_of(wallet) == {lot.id: D("100")}
    with pytest.raises(InvalidOperation, match="is released"):
        holds.hold_capture(hold, idempotency_key="c1")


def test_place_replay_and_conflict(wallet, credit):
    credit("100")
    first = place(wallet, "10", key="same")
    again = place(wallet, "10", key="same")
    assert again.replayed and again.hold.id == first.hold.id
    with pytest.raises(AlreadyExists):
        place(wallet, "11", key="same")
    wallet.refresh_from_db()
    assert wallet.held_credits == D("10")
    assert WalletHold.objects.count() == 1


def test_capture_and_release_replay_and_conflict(wallet, credit):
    credit("100")
    hold = place(wallet, "10").hold
    captured = holds.hold_capture(hold, credits=D("4"), idempotency_key="close")
    again = holds.hold_capture(hold, credits=D("4"), idempotency_key="close")
    assert again.replayed and again.hold.capture_transaction_id == captured.hold.capture_transaction_id
    with pytest.raises(AlreadyExists):
        holds.hold_capture(hold, credits=D("5"), idempotency_key="close")
    with pytest.raises(AlreadyExists):
        holds.hold_release(hold, idempotency_key="close")
    assert WalletTransaction.objects.filter(transaction_reason="HOLD_CAPTURE").count() == 1
    other = place(wallet, "10", key="h2").hold
    holds.hold_release(other, idempotency_key="rel")
    assert holds.hold_release(other, idempotency_key="rel").replayed


def test_insufficient_changes_nothing(wallet, credit, snapshot):
    credit("10")
    before = snapshot()
    with pytest.raises(InvalidOperation) as caught:
        place(wallet, "10.5")
    assert caught.value.details == {"wallet_id": wallet.id, "requested_credits": "10.5", "available_credits": "10"}
    assert snapshot() == before and not WalletHold.objects.exists()


def test_frozen_wallet_refuses_place_and_capture_but_releases(wallet, credit):
    credit("100")
    hold = place(wallet, "10").hold
    other = place(wallet, "10", key="h2").hold
    services.wallet_freeze(wallet, reason="fraud review")
    with pytest.raises(InvalidOperation, match="frozen"):
        place(wallet, "1", key="h3")
    with pytest.raises(InvalidOperation, match="frozen"):
        holds.hold_capture(hold, idempotency_key="c1")
    assert holds.hold_release(other, idempotency_key="r1").hold.hold_status == Status.RELEASED
    services.wallet_unfreeze(wallet, reason="cleared")
    assert holds.hold_capture(hold, idempotency_key="c1").hold.hold_status == Status.CAPTURED


def test_terminate_releases_open_holds_first(wallet, credit):
    credit("100")
    hold = place(wallet, "60").hold
    result = services.wallet_terminate(wallet, reason="closing")
    assert result.transaction.credit_amount == D("100")
    hold.refresh_from_db()
    assert hold.hold_status == Status.RELEASED
    wallet.refresh_from_db()
    assert (wallet.credit_balance, wallet.held_credits, wallet.wallet_status) == (0, 0, "closed")


def test_manual_debit_cannot_overdraw_while_a_hold_is_open(wallet, credit):
    credit("100")
    hold = place(wallet, "60").hold
    with pytest.raises(InvalidOperation, match="Insufficient balance"):
        services.wallet_debit(wallet, credits=D("41"), idempotency_key="d1")
    holds.hold_release(hold, idempotency_key="r1")
    services.wallet_debit(wallet, credits=D("141"), idempotency_key="d2")
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("-41")


def test_expiry_sweep_expires_due_holds(wallet, credit, clock):
    credit("100")
    hold = place(wallet, "30", expires_in_seconds=120).hold
    assert holds.holds_expire_sweep() == 0
    clock.advance(timedelta(seconds=120))
    with pytest.raises(InvalidOperation, match="expired"):
        holds.hold_capture(hold, idempotency_key="late")
    assert holds.holds_expire_sweep() == 1
    assert holds.holds_expire_sweep() == 0
    hold.refresh_from_db()
    assert (hold.hold_status, hold.closed_at) == (Status.EXPIRED, clock.now)
    wallet.refresh_from_db()
    assert (wallet.credit_balance, wallet.held_credits) == (D("100"), 0)


def test_lot_expiring_while_earmarked_waits_for_the_hold(wallet, credit, clock):
    lot = credit("50", expiry_date=clock.now + timedelta(hours=1))
    hold = place(wallet, "20", expires_in_seconds=7200).hold
    clock.advance(timedelta(hours=1, seconds=1))
    # The sweep skips the earmarked lot: its free 30 wait with it (not spendable meanwhile).
    assert services.wallet_credit_expire(lot) is None
    assert services.automation.credits_expire_sweep().credits_expired == 0
    breakdown = selectors.credits_breakdown([wallet.__class__.objects.get(pk=wallet.pk)])[wallet.id]
    assert breakdown.free == D("20")  # only the held part: the 30 past their expiry are left out
    # Captured: the earmarked part is consumed, then the lot's remainder expires at once.
    holds.hold_capture(hold, credits=D("15"), idempotency_key="c1")
    lot.refresh_from_db()
    assert lot.credits_available == 0
    expired = WalletTransaction.objects.get(transaction_reason="CREDIT_EXPIRED")
    assert (expired.credit_amount, expired.idempotency_key) == (D("35"), lot.id)
    wallet.refresh_from_db()
    assert (wallet.credit_balance, wallet.held_credits) == (0, 0)


def test_lot_expiring_while_earmarked_expires_on_release(wallet, credit, clock):
    lot = credit("50", expiry_date=clock.now + timedelta(hours=1))
    hold = place(wallet, "50", expires_in_seconds=7200).hold
    clock.advance(timedelta(hours=2))
    assert holds.holds_expire_sweep() == 1
    hold.refresh_from_db()
    assert hold.hold_status == Status.EXPIRED
    expired = WalletTransaction.objects.get(transaction_reason="CREDIT_EXPIRED")
    assert (expired.credit_amount, expired.idempotency_key) == (D("50"), lot.id)


def test_purchased_credits_stay_counted_while_held(wallet, credit):
    credit("40", reason="PURCHASED_CREDIT_DIRECT")
    credit("10")
    hold = place(wallet, "45").hold
    wallet.refresh_from_db()
    assert wallet.purchased_credits_available == D("40")
    breakdown = selectors.credits_breakdown([wallet])[wallet.id]
    assert (breakdown.purchased, breakdown.free) == (D("40"), D("10"))
    holds.hold_capture(hold, credits=D("42"), idempotency_key="c1")
    wallet.refresh_from_db()
    assert (wallet.credit_balance, wallet.purchased_credits_available) == (D("8"), 0)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"expires_in_seconds": 59}, "expires_in_seconds"),
        ({"expires_in_seconds": 7 * 86400 + 1}, "expires_in_seconds"),
        ({"expires_in_seconds": "60"}, "expires_in_seconds"),
        ({"expires_in_seconds": 600, "expires_at": "x"}, "expires_in_seconds"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "wallet_01JAAAAAAAAAAAAAAAAAAAAAAA"}, "idempotency_key"),
        ({"credits": D("0")}, "credits"),
        ({"credits": D("-1")}, "credits"),
        ({"metadata": {"a": 1}}, "metadata.a"),
    ],
)
def test_bad_input_names_the_field(wallet, credit, snapshot, kwargs, field):
    credit("100")
    before = snapshot()
    arguments = {"credits": D("1"), "idempotency_key": "k"} | kwargs
    with pytest.raises(ValidationFailed) as caught:
        holds.hold_place(wallet, **arguments)
    assert caught.value.field == field
    assert snapshot() == before


def test_a_lot_cannot_rise_above_its_open_earmarks(wallet, credit):
    """The append-only trigger lets a lot take back only what its open earmarks hold."""
    from django.db import DatabaseError, connection, transaction

    lot = credit("100")
    place(wallet, "30")
    with (
        pytest.raises(DatabaseError, match="come back from its open holds"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE wallets_wallettransaction SET credits_available = 100.000000001 WHERE id = %s", [lot.id])
    with transaction.atomic(), connection.cursor() as cursor:  # exactly the earmark back: allowed by the trigger
        cursor.execute("UPDATE wallets_wallettransaction SET credits_available = 100 WHERE id = %s", [lot.id])
        transaction.set_rollback(True)
    with (
        pytest.raises(DatabaseError, match="can only give its credits back"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE wallets_holdearmark SET credits = credits + 1")
    with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM wallets_holdearmark")


@pytest.mark.django_db(transaction=True)
def test_concurrent_holds_never_reserve_more_than_available(wallet, credit):
    credit("100")
    results, errors = run_together(8, lambda i: place(wallet, "30", key=f"c{i}"))
    placed = [result for result in results if result is not None]
    assert len(placed) == 3
    assert all(isinstance(error, InvalidOperation) for error in errors if error is not None)
    wallet.refresh_from_db()
    assert (wallet.held_credits, wallet.credit_balance) == (D("90"), D("100"))


@pytest.mark.django_db(transaction=True)
def test_concurrent_holds_without_the_lock_over_reserve(wallet, credit, settings, ledger_may_drift):
    """Negative control: with the wallet lock skipped, the same race reserves what is not there.

    Without the lock the threads read the same lots, so either the check constraints refuse
    some writes or the holds overlap; the conservation check sees it either way.
    """
    settings.LEDGER_UNSAFE_SKIP_WALLET_LOCK = True
    credit("100")
    results, errors = run_together(8, lambda i: place(wallet, "30", key=f"c{i}"))
    from wallets.ledger import integrity

    wallet.refresh_from_db()
    placed = [result for result in results if result is not None]
    problems = integrity.check_wallet(wallet)
    assert len(placed) > 3 or problems, (len(placed), errors)


def test_hold_webhooks_are_written_with_the_change(environment, wallet, credit, clock):
    from webhooks.models import WebhookEndpoint, WebhookEvent

    WebhookEndpoint.objects.create(
        environment=environment,
        url="https://example.com/hooks",
        event_types=["wallet.hold.created", "wallet.hold.captured", "wallet.hold.released"],
    )
    credit("100")
    captured = place(wallet, "10", key="a").hold
    holds.hold_capture(captured, credits=D("4"), idempotency_key="ca")
    released = place(wallet, "5", key="b").hold
    holds.hold_release(released, idempotency_key="rb")
    place(wallet, "7", key="c", expires_in_seconds=60)
    place(wallet, "7", key="c", expires_in_seconds=60)  # a replay publishes nothing
    clock.advance(timedelta(minutes=2))
    holds.holds_expire_sweep()
    events = [(event.event_type, event.payload["hold"]["status"]) for event in WebhookEvent.objects.order_by("created_at", "id")]
    assert events == [
        ("wallet.hold.created", "held"),
        ("wallet.hold.captured", "captured"),
        ("wallet.hold.created", "held"),
        ("wallet.hold.released", "released"),
        ("wallet.hold.created", "held"),
        ("wallet.hold.released", "expired"),
    ]
    last = WebhookEvent.objects.order_by("created_at", "id").last().payload
    assert last["wallet"]["held_credits"] == "0" and last["hold"]["credits"] == "7"
    assert "wallet.hold.created" in services.events.EVENT_TYPES
