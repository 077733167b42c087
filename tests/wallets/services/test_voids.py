"""Voiding a lot's remainder (wallets.services.voids.credit_void): what is left goes, what was spent stays.

Every test ends with the whole ledger checked (tests/conftest.py), including the VOID rule: the
void's one allocation, of its whole amount, to the lot it names.
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from core.exceptions import AlreadyExists, InvalidOperation, NotFound, ValidationFailed
from wallets import services
from wallets.models import CreditAllocation, WalletTransaction
from webhooks.models import WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def void(environment):
    def run(lot, key="void-1", reason="granted by mistake", **fields):
        return services.credit_void(
            environment_id=fields.pop("environment_id", environment.id),
            transaction_id=lot if isinstance(lot, str) else lot.id,
            reason=reason,
            idempotency_key=key,
            **fields,
        )

    return run


def _debit(wallet, credits, key="spend-1"):
    return services.wallet_debit(wallet, credits=D(credits), idempotency_key=key, reason="INVOICE_PAYMENT").transaction


def test_void_takes_the_remainder_after_partial_consumption_and_leaves_the_consumed_part(wallet, credit, void):
    first = credit("100", priority=1)
    second = credit("40")
    spent = _debit(wallet, "130")  # 100 of the first lot, 30 of the second
    result = void(second, actor="key_1", metadata={"ticket": "T-9"})
    row = result.transaction
    assert (row.type, row.transaction_reason, row.credit_amount, row.parent_transaction_id) == (
        "debit", "CREDIT_VOID", D("10"), second.id,
    )  # fmt: skip
    assert (row.credit_balance_before, row.credit_balance_after, row.description) == (D("10"), D("0"), "granted by mistake")
    assert row.metadata == {"ticket": "T-9", "voided_transaction_id": second.id, "consumed_credit_tx_ids": second.id}
    assert (row.created_by, row.idempotency_key) == ("key_1", "void-1")
    assert dict(CreditAllocation.objects.filter(debit=row).values_list("credit_id", "credits")) == {second.id: D("10")}
    # The consumed part stays consumed, allocated to the debit that spent it.
    assert dict(CreditAllocation.objects.filter(credit=second).values_list("debit_id", "credits")) == {
        spent.id: D("30"), row.id: D("10"),
    }  # fmt: skip
    second.refresh_from_db()
    first.refresh_from_db()
    assert (second.credits_available, first.credits_available) == (0, 0)
    assert (result.wallet.credit_balance, result.wallet.balance) == (0, 0)
    wallet.refresh_from_db()
    assert wallet.credit_balance == 0 and wallet.transaction_count == 4


def test_void_leaves_the_other_lots_alone(wallet, credit, void):
    keep, drop = credit("70"), credit("30")
    result = void(drop)
    assert result.wallet.credit_balance == D("70")
    keep.refresh_from_db()
    assert keep.credits_available == D("70")


def test_void_of_a_purchased_lot_lowers_the_purchased_total(wallet, credit, void):
    lot = credit("25", reason="PURCHASED_CREDIT_DIRECT")
    credit("5")
    assert void(lot).wallet.purchased_credits_available == 0
    wallet.refresh_from_db()
    assert wallet.purchased_credits_available == 0 and wallet.credit_balance == D("5")


def test_a_lot_with_nothing_left_is_refused_and_says_why(wallet, credit, void, snapshot):
    lot = credit("10")
    _debit(wallet, "10")
    before = snapshot()
    with pytest.raises(InvalidOperation, match="nothing left to void") as refused:
        void(lot)
    assert refused.value.details["credits_available"] == "0"
    assert snapshot() == before


def test_voiding_twice_with_two_keys_is_refused_the_second_time(credit, void):
    lot = credit("10")
    void(lot, key="a")
    with pytest.raises(InvalidOperation, match="nothing left"):
        void(lot, key="b")


def test_a_pending_lot_is_refused_its_invoice_decides(wallet, void, snapshot):
    lot = services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", credits=D("10")).transaction
    before = snapshot()
    with pytest.raises(InvalidOperation, match="pending: its invoice decides"):
        void(lot)
    assert snapshot() == before


def test_a_failed_lot_holds_nothing(wallet, void):
    from invoices.models import Invoice
    from invoices.services import invoice_void

    result = services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", credits=D("10"))
    invoice_void(Invoice.objects.get(pk=result.invoice_id))
    with pytest.raises(InvalidOperation, match="failed and holds no credits"):
        void(result.transaction)


def test_an_expired_lot_the_sweep_has_not_reached_is_refused(credit, void, clock, snapshot):
    lot = credit("10", expiry_date=clock.now + timedelta(hours=1))
    clock.set(lot.expiry_date)  # expiring at T is not spendable at T
    before = snapshot()
    with pytest.raises(InvalidOperation, match="expired; its credits are forfeited by the expiry sweep") as refused:
        void(lot)
    assert refused.value.details["expiry_date"]
    assert snapshot() == before


def test_a_lot_not_yet_expired_can_be_voided(credit, void, clock):
    lot = credit("10", expiry_date=clock.now + timedelta(hours=1))
    clock.set(lot.expiry_date - timedelta(seconds=1))
    assert void(lot).transaction.credit_amount == D("10")


def test_a_debit_is_not_a_lot(wallet, credit, void):
    credit("10")
    with pytest.raises(InvalidOperation, match="Only a credit lot can be voided"):
        void(_debit(wallet, "4"))


def test_a_frozen_wallet_can_be_voided(wallet, credit, void):
    """A freeze stops spending; taking back a fraudulent grant is what support does on a frozen wallet."""
    lot = credit("10")
    services.wallet_freeze(wallet, reason="fraud")
    result = void(lot)
    assert (result.wallet.wallet_status, result.wallet.credit_balance) == ("frozen", 0)


def test_a_closed_wallet_is_refused(wallet, credit, void):
    lot = credit("10")
    services.wallet_terminate(wallet)
    with pytest.raises(InvalidOperation, match="Wallet is closed"):
        void(lot)


def test_a_negative_wallet_has_no_lot_to_void(wallet, credit, void):
    lot = credit("10")
    services.wallet_debit(wallet, credits=D("15"), idempotency_key="m", reason="MANUAL_BALANCE_DEBIT")
    with pytest.raises(InvalidOperation, match="nothing left"):
        void(lot)


def test_replay_returns_the_original_and_writes_nothing(wallet, credit, void, snapshot):
    lot = credit("10")
    credit("5")
    first = void(lot, metadata={"a": "1"})
    services.wallet_top_up(wallet, credits=D("50"), reason="FREE_CREDIT_GRANT")
    before = snapshot()
    again = void(lot, metadata={"a": "1"})
    assert again.replayed and again.transaction.pk == first.transaction.pk
    assert again.wallet.credit_balance == D("5")  # the balance as of the void, not now
    assert snapshot() == before


@pytest.mark.parametrize("change", [{"reason": "another reason"}, {"metadata": {"a": "2"}}])
def test_same_key_other_parameters_is_a_conflict(credit, void, snapshot, change):
    lot = credit("10")
    void(lot, metadata={"a": "1"})
    before = snapshot()
    with pytest.raises(AlreadyExists):
        void(lot, **{"metadata": {"a": "1"}, **change})
    assert snapshot() == before


def test_same_key_on_another_lot_is_a_conflict(credit, void):
    first, second = credit("10"), credit("20")
    void(first)
    with pytest.raises(AlreadyExists):
        void(second)


def test_a_debit_key_reused_for_a_void_is_a_conflict(wallet, credit, void):
    lot = credit("10")
    _debit(wallet, "1", key="shared")
    with pytest.raises(AlreadyExists):
        void(lot, key="shared")


def test_another_environments_lot_is_not_found(credit, void, other_environment, snapshot):
    lot = credit("10")
    before = snapshot()
    with pytest.raises(NotFound):
        void(lot, environment_id=other_environment.id)
    with pytest.raises(NotFound):
        void("wtxn_01ABCDEFGHJKMNPQRSTVWXYZ00")
    assert snapshot() == before


def test_a_lot_of_another_wallet_is_voided_on_its_own_wallet(wallet, make_wallet, make_customer, credit, void):
    """The lot names its wallet: the void locks and debits that one, never another."""
    mine = wallet
    theirs = make_wallet(make_customer())
    lot = credit("10", target=theirs)
    credit("7", target=mine)
    result = void(lot)
    assert result.transaction.wallet_id == theirs.id
    mine.refresh_from_db()
    assert mine.credit_balance == D("7")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 2001}, "reason"),
        ({"reason": None}, "reason"),
        ({"key": None}, "idempotency_key"),
        ({"key": ""}, "idempotency_key"),
        ({"key": "wtxn_01ABCDEFGHJKMNPQRSTVWXYZ00"}, "idempotency_key"),
        ({"metadata": {"a": 1}}, "metadata.a"),
        ({"metadata": "x"}, "metadata"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(credit, void, snapshot, fields, field):
    lot = credit("10")
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        void(lot, **fields)
    assert refused.value.field == field
    assert snapshot() == before


def test_void_publishes_its_event_with_the_transaction_row(environment, credit, void):
    WebhookEndpoint.objects.create(environment=environment, url="http://127.0.0.1:9/hook")
    lot = credit("10")
    row = void(lot).transaction
    voided = WebhookEvent.objects.get(event_type="wallet.credits.voided")
    assert voided.payload["transaction"]["id"] == row.id
    assert voided.payload["voided_transaction_id"] == lot.id
    assert voided.payload["wallet"]["credit_balance"] == "0"
    created = WebhookEvent.objects.filter(event_type="wallet.transaction.created").values_list("payload", flat=True)
    assert row.id in {payload["transaction"]["id"] for payload in created}
    assert not WebhookEvent.objects.filter(event_type="invoice.credit_note.created").exists()


def test_the_void_row_is_a_completed_debit_in_the_chain(wallet, credit, void):
    lot = credit("10")
    row = void(lot).transaction
    assert WalletTransaction.objects.filter(wallet=wallet).order_by("sequence").last().pk == row.pk
    assert (row.transaction_status, row.sequence, row.amount) == ("completed", 2, D("10"))
