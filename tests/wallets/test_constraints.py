"""The database refuses what the code never writes (migration 0001's constraints, 0002's guards).

These tests bypass the services on purpose (raw SQL, bare ORM inserts): each one proves a
rule holds even against code that forgets it. Every refusal names the constraint or trigger
that fired, so a test cannot pass because some other rule happened to trip.
"""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from wallets import services
from wallets.models import CreditAllocation, Wallet, WalletTransaction

pytestmark = pytest.mark.django_db

D = Decimal
TXN = "wallets_wallettransaction"


def sql(statement: str, params=None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def refused(name: str, action) -> None:
    """``action`` must raise an IntegrityError that names ``name``; the savepoint keeps the test usable."""
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        action()
    assert name in str(raised.value), str(raised.value)


def row(wallet, **fields) -> WalletTransaction:
    """An unsaved completed credit of 5 that would extend ``wallet``'s chain correctly."""
    wallet.refresh_from_db()
    values = {
        "tenant_id": wallet.tenant_id,
        "environment_id": wallet.environment_id,
        "wallet": wallet,
        "customer_id": wallet.customer_id,
        "currency": wallet.currency,
        "type": "credit",
        "transaction_reason": "FREE_CREDIT_GRANT",
        "transaction_status": "completed",
        "credit_amount": D("5"),
        "amount": D("5"),
        "credits_available": D("5"),
        "sequence": wallet.transaction_count + 1,
        "credit_balance_before": wallet.credit_balance,
        "credit_balance_after": wallet.credit_balance + 5,
    }
    values.update(fields)
    return WalletTransaction(**values)


@pytest.fixture
def lot(wallet, credit):
    return credit(100, idempotency_key="lot-key")


@pytest.fixture
def spent(wallet, lot):
    return services.wallet_debit(wallet, credits=D("30"), idempotency_key="spent-key", reason="INVOICE_PAYMENT").transaction


# --- lots -----------------------------------------------------------------------------------------


def test_negative_credits_available(lot):
    refused(
        "wallet_transaction_credits_available_within_lot",
        lambda: sql(f"UPDATE {TXN} SET credits_available = -1 WHERE id = %s", [lot.id]),
    )


def test_credits_available_above_the_grant(wallet):
    refused("wallet_transaction_credits_available_within_lot", lambda: row(wallet, credits_available=D("5.000000001")).save())


def test_debit_or_pending_row_holding_credits(wallet):
    debit = {"type": "debit", "credit_balance_after": D("-5"), "credits_available": D("1")}
    refused("wallet_transaction_debit_holds_no_credits", lambda: row(wallet, **debit).save())
    pending = {"transaction_status": "pending", "sequence": None, "credit_balance_after": D("0")}
    refused("wallet_transaction_only_completed_rows_hold_credits", lambda: row(wallet, **pending).save())


@pytest.mark.parametrize("credit_amount", [D("0"), D("-5")])
def test_non_positive_credit_amount(wallet, credit_amount):
    refused(
        "wallet_transaction_credit_amount_positive",
        lambda: row(wallet, credit_amount=credit_amount, credits_available=D("0"), credit_balance_after=credit_amount).save(),
    )


def test_unknown_reason_type_or_status(wallet):
    refused("wallet_transaction_reason_valid", lambda: row(wallet, transaction_reason="GIFT").save())
    # Pending, so the balance-chain check (which only knows credit and debit) has nothing to say.
    pending = {"transaction_status": "pending", "sequence": None, "credits_available": D("0"), "credit_balance_after": D("0")}
    refused("wallet_transaction_type_valid", lambda: row(wallet, type="transfer", **pending).save())
    refused("wallet_transaction_status_valid", lambda: row(wallet, transaction_status="settled", credits_available=D("0")).save())


# --- keys and twins -------------------------------------------------------------------------------


@pytest.mark.usefixtures("ledger_may_drift")  # rows written past the ledger, on purpose
def test_duplicate_idempotency_key(wallet, lot, other_environment, make_customer, make_wallet):
    refused("wallet_transaction_unique_idempotency_key", lambda: row(wallet, idempotency_key="lot-key").save())
    foreign = make_wallet(make_customer(env=other_environment))
    row(foreign, idempotency_key="lot-key").save()  # another environment: allowed


def test_duplicate_sequence(wallet, lot):
    refused(
        "wallet_transaction_unique_sequence",
        lambda: row(wallet, sequence=1, credit_balance_before=D("0"), credit_balance_after=D("5")).save(),
    )


def twin_of(wallet, **fields) -> Wallet:
    values = {
        "tenant_id": wallet.tenant_id,
        "environment_id": wallet.environment_id,
        "customer_id": wallet.customer_id,
        "currency": wallet.currency,
        "wallet_type": wallet.wallet_type,
        "conversion_rate": D("1"),
        "topup_conversion_rate": D("1"),
    }
    values.update(fields)
    return Wallet(**values)


def test_twin_open_wallet(wallet):
    name = "wallet_one_open_per_customer_currency_type"
    refused(name, lambda: twin_of(wallet).save())
    refused(name, lambda: twin_of(wallet, wallet_status="frozen").save())
    twin_of(wallet, wallet_status="closed").save()
    twin_of(wallet, wallet_type="POST_PAID").save()


def test_wallet_currency_must_be_lower_case(wallet):
    refused("wallet_currency_lowercase_iso", lambda: twin_of(wallet, currency="EUR").save())


# --- balances and the chain -----------------------------------------------------------------------


@pytest.mark.usefixtures("ledger_may_drift")  # rows written past the ledger, on purpose
def test_balance_must_be_credit_balance_times_rate(make_wallet):
    wallet = make_wallet(conversion_rate=D("1.5"))
    # PostgreSQL's round() agrees with wallets.ledger.money: 1.5 × 0.000000001 → 0.000000002, half away from zero.
    assert sql("UPDATE wallets_wallet SET credit_balance = 0.000000001, balance = 0.000000002 WHERE id = %s", [wallet.id]) == 1
    refused(
        "wallet_balance_is_credits_times_rate",
        lambda: sql("UPDATE wallets_wallet SET balance = 0.000000001 WHERE id = %s", [wallet.id]),
    )
    refused(
        "wallet_balance_is_credits_times_rate",
        lambda: sql("UPDATE wallets_wallet SET credit_balance = 100 WHERE id = %s", [wallet.id]),
    )


def test_row_balances_must_move_by_the_row_amount(wallet, lot):
    refused("wallet_transaction_balance_chain", lambda: row(wallet, credit_balance_after=D("106")).save())
    debit = {"type": "debit", "credits_available": D("0"), "credit_balance_after": D("96")}
    refused("wallet_transaction_balance_chain", lambda: row(wallet, **debit).save())


# --- append-only ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "assignment",
    [
        "credit_amount = credit_amount + 1",
        "amount = 0",
        "idempotency_key = 'other'",
        "metadata = '{}'::jsonb",
        "expiry_date = now()",
        "transaction_reason = 'CREDIT_NOTE'",
        "created_at = now()",
    ],
)
def test_settled_row_fields_are_fixed(spent, assignment):
    refused("append-only", lambda: sql(f"UPDATE {TXN} SET {assignment} WHERE id = %s", [spent.id]))


@pytest.mark.parametrize(
    "assignment",
    [
        "sequence = sequence + 100",
        "credit_balance_before = credit_balance_before + 1, credit_balance_after = credit_balance_after + 1",
        "transaction_status = 'failed', credits_available = 0",
        "credits_available = credits_available + 1",
    ],
)
def test_settled_row_balances_are_fixed_and_credits_only_go_down(lot, spent, assignment):
    refused("is settled", lambda: sql(f"UPDATE {TXN} SET {assignment} WHERE id = %s", [lot.id]))


@pytest.mark.usefixtures("ledger_may_drift")  # rows written past the ledger, on purpose
def test_lowering_credits_available_is_allowed(lot):
    """The one change consumption makes; allowed by the trigger, caught by the audit if unaccounted."""
    assert sql(f"UPDATE {TXN} SET credits_available = credits_available - 1 WHERE id = %s", [lot.id]) == 1


def test_ledger_rows_cannot_be_deleted(wallet, lot, spent, credit):
    refused("cannot be deleted", lambda: sql(f"DELETE FROM {TXN} WHERE id = %s", [spent.id]))
    refused("cannot be deleted", lambda: sql(f"DELETE FROM {TXN} WHERE id = %s", [lot.id]))
    unreferenced = credit(1)  # no allocation protects it, so only the trigger stands in the ORM's way
    refused("cannot be deleted", lambda: WalletTransaction.objects.filter(pk=unreferenced.pk).delete())


def test_pending_row_can_settle_once(wallet):
    pending = row(
        wallet, transaction_status="pending", sequence=None, credits_available=D("0"), credit_balance_after=wallet.credit_balance
    )
    pending.save()
    assert sql(f"UPDATE {TXN} SET transaction_status = 'failed' WHERE id = %s", [pending.id]) == 1
    refused("is settled", lambda: sql(f"UPDATE {TXN} SET transaction_status = 'pending' WHERE id = %s", [pending.id]))


def test_allocations_are_append_only(spent):
    allocation = CreditAllocation.objects.get(debit=spent)
    refused(
        "credit allocations are append-only",
        lambda: sql("UPDATE wallets_creditallocation SET credits = 1 WHERE id = %s", [allocation.pk]),
    )
    refused(
        "credit allocations are append-only", lambda: sql("DELETE FROM wallets_creditallocation WHERE id = %s", [allocation.pk])
    )


def test_allocation_must_be_positive_and_unique(spent, lot):
    refused(
        "credit_allocation_positive",
        lambda: CreditAllocation.objects.create(debit=spent, credit=lot, credits=D("0"), created_at=timezone.now()),
    )
    refused("credit_allocation_unique_pair", lambda: CreditAllocation.objects.create(debit=spent, credit=lot, credits=D("1")))
