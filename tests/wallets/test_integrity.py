"""wallets.ledger.integrity and ``manage.py check_ledger``: silent on a healthy ledger, loud on every kind of drift.

The drift tests corrupt a real ledger with raw SQL. The database refuses most corruption (see
test_constraints.py), so each test first switches off the guard in its way: the append-only
triggers are disabled, or a CHECK/unique constraint dropped. These tests run inside the test's
transaction on purpose: PostgreSQL DDL is transactional, so the rollback at the end restores
every trigger and constraint even if the test dies half way; the explicit re-enable is a
second belt. ``SET CONSTRAINTS ALL IMMEDIATE`` flushes the deferred foreign-key checks, which
PostgreSQL requires before an ALTER TABLE on a table with pending trigger events.
"""

from contextlib import contextmanager
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from tests.wallets.services.builders import build_busy_ledger
from wallets import services
from wallets.ledger import integrity, money, postings
from wallets.models import CreditAllocation, WalletTransaction

# Every test here corrupts the ledger on purpose, to show the checker sees it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_may_drift")]

TXN = "wallets_wallettransaction"
ALLOCATION = "wallets_creditallocation"


def sql(statement: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@contextmanager
def unguarded(*, drop: tuple[tuple[str, str], ...] = (), drop_indexes: tuple[str, ...] = ()):
    """Disable the append-only triggers and drop the named (table, constraint) pairs, for this block only."""
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    sql(f"ALTER TABLE {TXN} DISABLE TRIGGER wallets_ledger_append_only")
    sql(f"ALTER TABLE {ALLOCATION} DISABLE TRIGGER wallets_allocation_immutable")
    for table, constraint in drop:
        sql(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
    for index in drop_indexes:
        sql(f"DROP INDEX {index}")
    try:
        yield
    finally:
        sql("SET CONSTRAINTS ALL IMMEDIATE")
        sql(f"ALTER TABLE {TXN} ENABLE TRIGGER wallets_ledger_append_only")
        sql(f"ALTER TABLE {ALLOCATION} ENABLE TRIGGER wallets_allocation_immutable")


def invariants(problems) -> set[str]:
    return {problem.invariant for problem in problems}


@pytest.fixture
def busy(wallet):
    return build_busy_ledger(wallet)


# --- a healthy ledger ---------------------------------------------------------------------------


def test_busy_ledger_is_clean_and_has_the_expected_shape(busy):
    assert integrity.check_wallet(busy.wallet) == []
    assert busy.wallet.credit_balance == Decimal("20")
    lots = {row.id: row.credits_available for row in busy.wallet.transactions.filter(type="credit")}
    assert lots == {
        busy.first_lot.id: 0,
        busy.expiring_lot.id: 0,
        busy.plain_lot.id: 0,
        busy.partial_repayment.id: 0,
        busy.repayment.id: Decimal("20"),
    }
    overdraft_cover = dict(CreditAllocation.objects.filter(debit=busy.overdraft).values_list("credit_id", "credits"))
    assert overdraft_cover == {busy.plain_lot.id: 30, busy.partial_repayment.id: 15, busy.repayment.id: 5}
    assert busy.overdraft.metadata["consumed_credit_tx_ids"] == busy.plain_lot.id


def test_empty_wallet_and_empty_database_are_clean(wallet):
    assert integrity.check_wallet(wallet) == []
    assert integrity.check_all() == []


def test_pending_credit_counts_nowhere_until_it_completes(wallet, credit):
    """A pending credit holds no credits and no sequence; completing it extends the chain."""
    credit(10)
    with transaction.atomic():
        locked = postings.lock_wallet(wallet.pk)
        pending = postings.post_credit(
            locked,
            postings.Posting(credits=Decimal("5"), reason="PURCHASED_CREDIT_INVOICED", actor="t", now=locked.updated_at),
            pending=True,
        )
    assert pending.sequence is None
    assert integrity.check_wallet(wallet) == []
    with transaction.atomic():
        locked = postings.lock_wallet(wallet.pk)
        postings.complete_pending_credit(locked, WalletTransaction.objects.get(pk=pending.pk), actor="t", now=locked.updated_at)
    wallet.refresh_from_db()
    assert (wallet.credit_balance, wallet.transaction_count) == (Decimal("15"), 2)
    assert integrity.check_wallet(wallet) == []


# --- drift the checker must find ----------------------------------------------------------------


def test_detects_wallet_balance_that_disagrees_with_the_ledger(busy):
    sql("UPDATE wallets_wallet SET credit_balance = credit_balance + 5, balance = balance + 5 WHERE id = %s", [busy.wallet.id])
    problems = integrity.check_wallet(busy.wallet)
    assert {"I1", "I2", "I8"} <= invariants(problems)
    assert any("credit_balance 25 but the ledger sums to 20" in p.detail for p in problems)


def test_detects_balance_value_that_is_not_credits_times_rate(busy):
    with unguarded(drop=(("wallets_wallet", "wallet_balance_is_credits_times_rate"),)):
        sql("UPDATE wallets_wallet SET balance = balance + 0.000000001 WHERE id = %s", [busy.wallet.id])
        problems = integrity.check_wallet(busy.wallet)
    assert [p.invariant for p in problems] == ["I1"]
    assert "credit_balance × conversion_rate is 20" in problems[0].detail


def test_detects_lot_that_lost_credits(busy):
    """Lowering credits_available is the one change the trigger allows; the lot sums must catch it."""
    sql(f"UPDATE {TXN} SET credits_available = credits_available - 1 WHERE id = %s", [busy.repayment.id])
    problems = integrity.check_wallet(busy.wallet)
    assert invariants(problems) == {"I2", "I5"}
    assert any(busy.repayment.id in p.detail and "holds 19" in p.detail for p in problems)


def test_detects_negative_lot(busy):
    with unguarded(drop=((TXN, "wallet_transaction_credits_available_within_lot"),)):
        sql(f"UPDATE {TXN} SET credits_available = -1 WHERE id = %s", [busy.first_lot.id])
        problems = integrity.check_wallet(busy.wallet)
    assert {"I2", "I3", "I5"} <= invariants(problems)
    assert any(p.invariant == "I3" and busy.first_lot.id in p.detail for p in problems)


def test_detects_lot_holding_more_than_it_granted(busy):
    with unguarded(drop=((TXN, "wallet_transaction_credits_available_within_lot"),)):
        sql(f"UPDATE {TXN} SET credits_available = credit_amount + 1 WHERE id = %s", [busy.plain_lot.id])
        problems = integrity.check_wallet(busy.wallet)
    assert any(p.invariant == "I3" and "holds 31 of 30" in p.detail for p in problems)


def test_detects_debit_holding_credits(busy):
    with unguarded(drop=((TXN, "wallet_transaction_debit_holds_no_credits"),)):
        sql(f"UPDATE {TXN} SET credits_available = 1 WHERE id = %s", [busy.payment.id])
        problems = integrity.check_wallet(busy.wallet)
    assert any(p.invariant == "I3" and busy.payment.id in p.detail for p in problems)


def test_detects_missing_allocation(busy):
    with unguarded():
        sql(f"DELETE FROM {ALLOCATION} WHERE debit_id = %s AND credit_id = %s", [busy.payment.id, busy.first_lot.id])
        problems = integrity.check_wallet(busy.wallet)
    details = " ".join(p.detail for p in problems)
    assert {"I5", "IDS"} <= invariants(problems)
    assert f"lot {busy.first_lot.id} granted 100 but holds 0 and gave 0" in details
    assert f"debit {busy.payment.id} (INVOICE_PAYMENT) of 120 is backed by 20" in details


def test_detects_debit_allocated_beyond_its_amount(busy):
    CreditAllocation.objects.create(debit=busy.overdraft, credit=busy.first_lot, credits=Decimal("1"))
    problems = integrity.check_wallet(busy.wallet)
    details = " ".join(p.detail for p in problems)
    assert f"debit {busy.overdraft.id} (MANUAL_BALANCE_DEBIT) of 50 is backed by 51" in details
    assert f"lot {busy.first_lot.id} granted 100 but holds 0 and gave 101" in details


def test_detects_allocation_between_two_wallets(busy, make_wallet, credit):
    other = make_wallet(currency="eur")
    foreign_lot = credit(10, target=other)
    CreditAllocation.objects.create(debit=busy.overdraft, credit=foreign_lot, credits=Decimal("1"))
    problems = integrity.check_wallet(busy.wallet)
    assert any("joins" in p.detail and foreign_lot.id in p.detail for p in problems)
    assert any(p.wallet_id == other.id for p in integrity.check_wallet(other))


def test_detects_gap_in_sequence(busy):
    with unguarded():
        sql(f"UPDATE {TXN} SET sequence = sequence + 1 WHERE id = %s", [busy.repayment.id])
        problems = integrity.check_wallet(busy.wallet)
    assert [p.invariant for p in problems] == ["I8"]
    assert f"row {busy.repayment.id} has sequence 9, expected 8" in problems[0].detail


def test_detects_duplicate_sequence(busy):
    with unguarded(drop=((TXN, "wallet_transaction_unique_sequence"),)):
        sql(f"UPDATE {TXN} SET sequence = sequence - 1 WHERE id = %s", [busy.repayment.id])
        problems = integrity.check_wallet(busy.wallet)
    assert "I8" in invariants(problems)
    assert any("expected" in p.detail for p in problems)


def test_detects_broken_running_balance(busy):
    """Shift one middle row's before/after together: each row still adds up, the chain does not."""
    with unguarded():
        sql(
            f"UPDATE {TXN} SET credit_balance_before = credit_balance_before + 1, "
            f"credit_balance_after = credit_balance_after + 1 WHERE id = %s",
            [busy.expiry.id],
        )
        problems = integrity.check_wallet(busy.wallet)
    details = [p.detail for p in problems]
    assert invariants(problems) == {"I8"}
    assert f"row {busy.expiry.id} (sequence 5) starts at 61, expected 60" in details
    assert f"row {busy.overdraft.id} (sequence 6) starts at 30, expected 31" in details


def test_detects_row_whose_balances_do_not_match_its_amount(busy):
    with unguarded(drop=((TXN, "wallet_transaction_balance_chain"),)):
        sql(f"UPDATE {TXN} SET credit_balance_after = credit_balance_after + 1 WHERE id = %s", [busy.repayment.id])
        problems = integrity.check_wallet(busy.wallet)
    assert any(f"row {busy.repayment.id} goes from -5 to 21" in p.detail for p in problems)
    assert any("the chain ends at 21" in p.detail for p in problems)


def test_detects_completed_row_without_sequence(busy):
    with unguarded():
        sql(f"UPDATE {TXN} SET sequence = NULL WHERE id = %s", [busy.repayment.id])
        problems = integrity.check_wallet(busy.wallet)
    assert any(f"completed row {busy.repayment.id} has sequence None" in p.detail for p in problems)
    assert any("transaction_count 8 but 7 rows" in p.detail for p in problems)


def test_detects_duplicate_idempotency_key(busy):
    with unguarded(drop_indexes=("wallet_transaction_unique_idempotency_key",)):
        sql(f"UPDATE {TXN} SET idempotency_key = 'busy-payment' WHERE id = %s", [busy.overdraft.id])
        problems = integrity.check_wallet(busy.wallet)
    assert [p.invariant for p in problems] == ["I9", "I9"]
    assert {busy.payment.id, busy.overdraft.id} == {p.detail.split(" of row ")[1].split()[0] for p in problems}


def test_detects_tampered_consumed_credit_ids(busy):
    with unguarded():
        sql(
            f"UPDATE {TXN} SET metadata = jsonb_set(metadata, '{{consumed_credit_tx_ids}}', to_jsonb(%s::text)) WHERE id = %s",
            [f"{busy.expiring_lot.id},{busy.first_lot.id}", busy.payment.id],
        )
        problems = integrity.check_wallet(busy.wallet)
    assert [p.invariant for p in problems] == ["IDS"]
    assert busy.payment.id in problems[0].detail


def test_detects_balance_without_rows(wallet):
    """Upstream case 14's wallet (a stored balance, no credit rows) cannot pass the audit."""
    sql("UPDATE wallets_wallet SET credit_balance = 1000, balance = 1000 WHERE id = %s", [wallet.id])
    assert {"I1", "I2", "I8"} <= invariants(integrity.check_wallet(wallet))


# --- scope and batching -------------------------------------------------------------------------


def corrupt(wallet) -> None:
    sql("UPDATE wallets_wallet SET credit_balance = credit_balance + 1, balance = balance + 1 WHERE id = %s", [wallet.id])


def test_environment_scope(wallet, credit, other_environment, make_customer, make_wallet):
    credit(5)
    foreign = make_wallet(make_customer(env=other_environment))
    corrupt(foreign)
    assert integrity.check_environment(wallet.environment_id) == []
    assert {p.wallet_id for p in integrity.check_environment(other_environment.id)} == {foreign.id}
    assert {p.wallet_id for p in integrity.check_all()} == {foreign.id}


def test_batches_cover_every_wallet(monkeypatch, make_customer, make_wallet):
    monkeypatch.setattr(integrity, "BATCH_SIZE", 2)
    wallets = [make_wallet(make_customer()) for _ in range(5)]
    for target in wallets:
        services.wallet_top_up(target, credits=Decimal("3"), reason="FREE_CREDIT_GRANT")
    corrupt(wallets[0])
    corrupt(wallets[4])
    assert {p.wallet_id for p in integrity.check_all()} == {wallets[0].id, wallets[4].id}


# --- the command --------------------------------------------------------------------------------


def run(*args) -> str:
    out = StringIO()
    call_command("check_ledger", *args, stdout=out)
    return out.getvalue()


def test_command_reports_a_clean_ledger(busy):
    assert "Checked 1 wallet(s): 0 problem(s) in 0 wallet(s)." in run()


def test_command_exits_1_on_drift_and_names_the_problem(busy, make_wallet):
    make_wallet(currency="eur")
    corrupt(busy.wallet)
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("check_ledger", stdout=out)
    assert raised.value.returncode == 1
    assert "Checked 2 wallet(s)" in str(raised.value) and "in 1 wallet(s)" in str(raised.value)
    assert f"{busy.wallet.id} [I1] credit_balance 21 but the ledger sums to 20" in out.getvalue()


def test_command_filters_by_wallet_and_environment(busy, make_wallet, other_environment, make_customer):
    healthy = make_wallet(currency="eur")
    corrupt(busy.wallet)
    assert "Checked 1 wallet(s): 0 problem(s)" in run("--wallet", healthy.id)
    assert "Checked 0 wallet(s): 0 problem(s)" in run("--environment", other_environment.id)
    with pytest.raises(CommandError):
        run("--environment", busy.wallet.environment_id)
    with pytest.raises(CommandError, match="No wallet wallet_nope"):
        run("--wallet", "wallet_nope")


def test_money_formatting_in_reports_has_no_exponent():
    assert integrity._fmt(Decimal("1E+2")) == money.format_decimal(Decimal("100")) == "100"
