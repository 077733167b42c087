"""Transfers between two wallets of one customer (issue 14, wallets.services.transfers).

Every test ends with the ledger check (tests/conftest.py), which includes the transfer rules
(IXF: the debit equals its credits, each credit is its lot, the rows point at each other).
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from core.exceptions import AlreadyExists, InvalidOperation, ValidationFailed
from wallets import selectors, services
from wallets.models import CreditAllocation, Wallet, WalletTransaction, WalletTransfer

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def promo(make_wallet):
    """The customer's second wallet in the same currency (one open wallet per type)."""
    return make_wallet(wallet_type="PROMOTIONAL")


def transfer(source, destination, credits, key="t1", **fields):
    return services.wallet_transfer(source, destination, credits=D(credits), idempotency_key=key, **fields)


def breakdown(*wallets):
    """The customer's purchased and free credits over ``wallets``."""
    fresh = [Wallet.objects.get(pk=w.pk) for w in wallets]
    parts = selectors.credits_breakdown(fresh).values()
    return sum((p.purchased for p in parts), D(0)), sum((p.free for p in parts), D(0))


def test_credits_move_lot_by_lot_keeping_expiry_and_priority(wallet, promo, credit, clock):
    expiring = credit(30, priority=1, expiry_date=clock.now + timedelta(days=10))
    plain = credit(50)
    result = transfer(wallet, promo, "40", description="move", metadata={"ticket": "42"})
    assert (result.from_wallet.credit_balance, result.to_wallet.credit_balance) == (D(40), D(40))
    debit = result.debit
    assert (debit.transaction_reason, debit.reference_type, debit.reference_id) == (
        "TRANSFER_OUT",
        "TRANSFER",
        result.transfer.id,
    )
    assert debit.metadata["consumed_credit_tx_ids"] == f"{expiring.id},{plain.id}"
    assert debit.metadata["ticket"] == "42"
    assert debit.metadata["transfer_credit_tx_ids"] == ",".join(row.id for row in result.credits)
    first, second = result.credits
    assert (first.credit_amount, first.expiry_date, first.priority, first.metadata["source_credit_tx_id"]) == (
        D(30),
        expiring.expiry_date,
        1,
        expiring.id,
    )
    assert (second.credit_amount, second.expiry_date, second.priority) == (D(10), None, None)
    assert all(row.parent_transaction_id == debit.id and row.transaction_reason == "TRANSFER_IN" for row in result.credits)
    assert all(row.wallet_id == promo.id and row.credits_available == row.credit_amount for row in result.credits)
    stored = WalletTransfer.objects.get()
    assert (stored.from_wallet_id, stored.to_wallet_id, stored.credits, stored.debit_id) == (wallet.id, promo.id, D(40), debit.id)
    # The moved lot expires in its new wallet when it would have in the old one.
    clock.advance(timedelta(days=11))
    services.wallet_debit(promo, credits=D("1"), idempotency_key="after-expiry", reason="INVOICE_PAYMENT")
    assert Wallet.objects.get(pk=promo.pk).credit_balance == D(9)


def test_purchased_credits_stay_purchased(wallet, promo, credit):
    credit(20, reason="PURCHASED_CREDIT_DIRECT", priority=0)
    credit(20)
    before = breakdown(wallet, promo)
    result = transfer(wallet, promo, "30")
    assert [row.transaction_reason for row in result.credits] == ["TRANSFER_IN_PURCHASED", "TRANSFER_IN"]
    assert breakdown(wallet, promo) == before == (D(20), D(20))
    assert Wallet.objects.get(pk=promo.pk).purchased_credits_available == D(20)
    # A second hop keeps it purchased too.
    back = transfer(promo, wallet, "20", key="t2")
    assert [row.transaction_reason for row in back.credits] == ["TRANSFER_IN_PURCHASED"]
    assert breakdown(wallet, promo) == before


def test_destination_in_overdraft_is_repaid_first(wallet, promo, credit):
    services.wallet_debit(promo, credits=D(15), idempotency_key="overdraw", reason="MANUAL_BALANCE_DEBIT")
    credit(40)
    result = transfer(wallet, promo, "25")
    (row,) = result.credits
    assert result.to_wallet.credit_balance == D(10)
    assert row.credits_available == D(10)  # 15 of the 25 repaid the overdraft
    assert CreditAllocation.objects.filter(credit=row).get().credits == D(15)


def test_due_lots_of_the_source_expire_first(wallet, promo, credit, clock):
    credit(10, expiry_date=clock.now + timedelta(days=1))
    credit(5)
    clock.advance(timedelta(days=2))
    with pytest.raises(InvalidOperation, match="Insufficient balance") as refused:
        transfer(wallet, promo, "8")
    assert refused.value.details["available_credits"] == "5"
    assert not WalletTransfer.objects.exists()
    # The refused transfer wrote nothing, its expiry included: it rolled back with it.
    assert not WalletTransaction.objects.filter(transaction_reason="CREDIT_EXPIRED").exists()
    result = transfer(wallet, promo, "5", key="t2")
    assert WalletTransaction.objects.filter(wallet=wallet, transaction_reason="CREDIT_EXPIRED").count() == 1
    assert result.from_wallet.credit_balance == 0


def test_replay_answers_the_original_and_another_body_is_a_conflict(wallet, promo, credit):
    credit(50)
    first = transfer(wallet, promo, "20")
    credit(7)  # later changes do not show in the replay
    again = transfer(wallet, promo, "20")
    assert again.replayed and not first.replayed
    assert again.transfer.id == first.transfer.id
    assert [row.id for row in again.credits] == [row.id for row in first.credits]
    assert (again.from_wallet.credit_balance, again.to_wallet.credit_balance) == (D(30), D(20))
    assert WalletTransfer.objects.count() == 1
    with pytest.raises(AlreadyExists):
        transfer(wallet, promo, "21")
    with pytest.raises(AlreadyExists):
        transfer(promo, wallet, "20")
    # A debit's key is the same namespace: a transfer cannot reuse it.
    services.wallet_debit(wallet, credits=D(1), idempotency_key="d1", reason="INVOICE_PAYMENT")
    with pytest.raises(AlreadyExists):
        transfer(wallet, promo, "1", key="d1")


def test_insufficient_credits_change_nothing(wallet, promo, credit, snapshot):
    credit(10)
    before = snapshot()
    with pytest.raises(InvalidOperation, match="Insufficient balance") as refused:
        transfer(wallet, promo, "10.000000001")
    assert refused.value.details == {"wallet_id": wallet.id, "requested_credits": "10.000000001", "available_credits": "10"}
    assert snapshot() == before


@pytest.mark.parametrize("frozen", ["source", "destination"])
def test_a_frozen_wallet_on_either_side_is_refused(wallet, promo, credit, snapshot, frozen):
    credit(10)
    services.wallet_freeze(wallet if frozen == "source" else promo, reason="review")
    before = snapshot()
    with pytest.raises(InvalidOperation, match="frozen"):
        transfer(wallet, promo, "5")
    assert snapshot() == before


def test_pairs_that_may_not_transfer(wallet, credit, make_wallet, make_customer, snapshot):
    credit(10)
    other_customer = make_wallet(make_customer())
    euro = make_wallet(currency="eur")
    dearer = make_wallet(wallet_type="PROMOTIONAL", conversion_rate=D("2"))
    before = snapshot()
    for destination, message in [
        (wallet, "another wallet"),
        (other_customer, "same customer"),
        (euro, "same currency"),
        (dearer, "conversion_rate"),
    ]:
        with pytest.raises(ValidationFailed, match=message) as refused:
            transfer(wallet, destination, "5")
        assert refused.value.field == "to_wallet_id"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("field", "fields"),
    [
        ("credits", {"credits": D(0)}),
        ("credits", {"credits": D("-1")}),
        ("credits", {"credits": D("0.0000000001")}),
        ("idempotency_key", {"idempotency_key": ""}),
        ("idempotency_key", {"idempotency_key": "wtxn_01JAAAAAAAAAAAAAAAAAAAAAAA"}),
        ("metadata.a", {"metadata": {"a": 1}}),
        ("description", {"description": "x" * 5001}),
    ],
)
def test_bad_input_names_the_field(wallet, promo, credit, snapshot, field, fields):
    credit(10)
    before = snapshot()
    arguments = {"credits": D(1), "idempotency_key": "k", **fields}
    with pytest.raises(ValidationFailed) as refused:
        services.wallet_transfer(wallet, promo, **arguments)
    assert refused.value.field == field
    assert snapshot() == before


def test_read_back(wallet, promo, credit, environment, other_environment):
    credit(10)
    made = transfer(wallet, promo, "4")
    credit(1)
    view = selectors.transfer_get(environment_id=environment.id, transfer_id=made.transfer.id)
    assert [row.id for row in view.credits] == [row.id for row in made.credits]
    assert (view.from_wallet.credit_balance, view.to_wallet.credit_balance) == (D(6), D(4))
    for environment_id, transfer_id in [
        (other_environment.id, made.transfer.id),
        (environment.id, "xfer_nope"),
        (environment.id, "\x00"),
    ]:
        with pytest.raises(selectors.NotFound):
            selectors.transfer_get(environment_id=environment_id, transfer_id=transfer_id)


def test_webhooks_one_transfer_event_and_each_rows_own(wallet, promo, credit, environment):
    from wallets.services import events
    from webhooks.models import WebhookEndpoint, WebhookEvent

    credit(10)
    WebhookEndpoint.objects.create(environment=environment, url="https://example.com/hook")
    result = transfer(wallet, promo, "4")
    (completed,) = WebhookEvent.objects.filter(event_type=events.TRANSFER_COMPLETED)
    data = completed.payload
    assert data["transfer"]["id"] == result.transfer.id
    assert data["transfer"]["credits"] == "4"
    assert data["transfer"]["debit_transaction_id"] == result.debit.id
    assert data["transfer"]["credit_transaction_ids"] == [row.id for row in result.credits]
    assert (data["from_wallet"]["credit_balance"], data["to_wallet"]["credit_balance"]) == ("6", "4")
    created = WebhookEvent.objects.filter(event_type=events.TRANSACTION_CREATED).values_list("payload", flat=True)
    written = {row["transaction"]["id"] for row in created}
    assert {result.debit.id, *(row.id for row in result.credits)} <= written
    # A replay publishes nothing again.
    transfer(wallet, promo, "4")
    assert WebhookEvent.objects.filter(event_type=events.TRANSFER_COMPLETED).count() == 1
