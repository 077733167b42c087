"""The integrity rules of voids and refunds: silent on a healthy ledger, loud on each planted drift.

VOID (wallets.ledger.integrity): a CREDIT_VOID or CREDIT_REFUND debit has exactly one allocation,
of its whole amount, to the credit lot of its own wallet it names as its parent. CN
(invoices.integrity, added to the ledger's checks at start-up): every refund has one credit note,
against its lot's invoice, at the invoice's price, and an invoice's notes stay within its total.
Each drift is planted with raw SQL past the guards that would refuse it (tests/wallets/test_integrity.py
explains the ``unguarded`` block).
"""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from invoices.models import Invoice
from invoices.services import invoice_pay
from tests.wallets.test_integrity import invariants, sql, unguarded
from wallets import services
from wallets.ledger import integrity
from wallets.models import CreditAllocation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_may_drift")]

D = Decimal
NOTE = "invoices_creditnote"


@pytest.fixture
def voided(wallet, credit, environment):
    """A wallet with a void of a partly spent lot, and another lot (10 credits) left whole: (void row, lot, other lot)."""
    lot = credit("30")
    other = credit("10", priority=5)
    services.wallet_debit(wallet, credits=D("12"), idempotency_key="spend", reason="INVOICE_PAYMENT")
    row = services.credit_void(
        environment_id=environment.id, transaction_id=lot.id, reason="mistake", idempotency_key="void"
    ).transaction
    return row, lot, other


@pytest.fixture
def refunded(wallet, environment):
    """A wallet with a refund of a paid purchased lot, 4 of 10 credits spent: the refund's result."""
    top_up = services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", credits=D("10"))
    invoice_pay(Invoice.objects.get(pk=top_up.invoice_id))
    services.wallet_debit(wallet, credits=D("4"), idempotency_key="spend-before-refund", reason="INVOICE_PAYMENT")
    return services.credit_refund(
        environment_id=environment.id, transaction_id=top_up.transaction.id, reason="asked", idempotency_key="refund"
    )


def test_a_void_and_a_refund_are_clean(voided, refunded):
    assert integrity.check_all() == []


# --- VOID ---------------------------------------------------------------------------------------


def test_detects_a_void_with_a_second_allocation(voided):
    row, _, other = voided
    with unguarded(drop=(("wallets_creditallocation", "credit_allocation_unique_pair"),)):
        sql(
            "INSERT INTO wallets_creditallocation (debit_id, credit_id, credits, created_at) VALUES (%s, %s, 1, now())",
            [row.id, other.id],
        )
        problems = integrity.check_all()
    assert "VOID" in invariants(problems)
    assert any("has 2 allocation(s)" in problem.detail for problem in problems)


def test_detects_a_void_allocated_to_another_lot(voided):
    row, lot, other = voided
    with unguarded():
        sql("UPDATE wallets_creditallocation SET credit_id = %s WHERE debit_id = %s", [other.id, row.id])
        problems = integrity.check_all()
    assert "VOID" in invariants(problems)
    assert any(f"0 of its whole amount to its lot {lot.id}" in problem.detail for problem in problems)


def test_detects_a_void_naming_another_lot(voided):
    row, _, other = voided
    with unguarded():
        sql("UPDATE wallets_wallettransaction SET parent_transaction_id = %s WHERE id = %s", [other.id, row.id])
        problems = integrity.check_all()
    assert invariants(problems) == {"VOID"}


def test_detects_a_void_allocated_less_than_its_amount(voided):
    row, lot, _ = voided
    with unguarded():
        sql("UPDATE wallets_creditallocation SET credits = credits - 1 WHERE debit_id = %s", [row.id])
        sql("UPDATE wallets_wallettransaction SET credits_available = 1 WHERE id = %s", [lot.id])
        problems = integrity.check_all()
    assert "VOID" in invariants(problems)


def test_detects_a_void_without_an_allocation(voided):
    row, _, _ = voided
    with unguarded():
        sql("DELETE FROM wallets_creditallocation WHERE debit_id = %s", [row.id])
        problems = integrity.check_all()
    assert "VOID" in invariants(problems)
    assert CreditAllocation.objects.filter(debit=row).count() == 0


# --- CN -----------------------------------------------------------------------------------------


def test_detects_a_refund_without_its_credit_note(refunded):
    sql(f"DELETE FROM {NOTE} WHERE id = %s", [refunded.credit_note.id])
    problems = integrity.check_all()
    assert invariants(problems) == {"CN"}
    assert problems[0].detail == f"refund {refunded.transaction.id} of 6 has no credit note"


def test_detects_a_credit_note_at_the_wrong_price(refunded):
    sql(f"UPDATE {NOTE} SET amount = amount + 0.000000001 WHERE id = %s", [refunded.credit_note.id])
    problems = integrity.check_all()
    assert invariants(problems) == {"CN"}
    assert "credit notes total 6.000000001 for 6 credits, but the invoice's price of those credits is 6" in problems[0].detail


def test_detects_a_credit_note_for_other_credits(refunded):
    sql(f"UPDATE {NOTE} SET credits = 5 WHERE id = %s", [refunded.credit_note.id])
    assert any("it credits 5 but the refund took 6" in problem.detail for problem in integrity.check_all())


def test_detects_a_credit_note_in_another_currency(refunded):
    sql(f"UPDATE {NOTE} SET currency = 'eur' WHERE id = %s", [refunded.credit_note.id])
    assert any("currency eur is not the invoice's usd" in problem.detail for problem in integrity.check_all())


def test_detects_a_credit_note_on_a_row_that_is_no_refund(refunded, credit):
    stray = credit("1")
    sql(f"UPDATE {NOTE} SET wallet_transaction_id = %s WHERE id = %s", [stray.id, refunded.credit_note.id])
    problems = integrity.check_all()
    details = " ".join(problem.detail for problem in problems)
    assert "is a credit FREE_CREDIT_GRANT, not a refund" in details
    assert f"refund {refunded.transaction.id} of 6 has no credit note" in details


def test_detects_credit_notes_beyond_the_invoice_total(refunded, credit):
    note = refunded.credit_note
    stray = services.wallet_debit(note.invoice.wallet, credits=D("1"), idempotency_key="x", reason="MANUAL_BALANCE_DEBIT")
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    sql(f"ALTER TABLE {NOTE} DISABLE TRIGGER invoices_credit_notes_within_total")
    try:
        sql(
            f"INSERT INTO {NOTE} (id, tenant_id, environment_id, invoice_id, wallet_transaction_id, credits, amount,"
            " currency, reason, created_at, created_by)"
            f" SELECT 'cn_planted', tenant_id, environment_id, invoice_id, %s, 5, 5, currency, 'planted', now(), ''"
            f" FROM {NOTE} WHERE id = %s",
            [stray.transaction.id, note.id],
        )
        problems = integrity.check_all()
    finally:
        sql(f"ALTER TABLE {NOTE} ENABLE TRIGGER invoices_credit_notes_within_total")
    assert f"invoice {note.invoice_id}'s credit notes total 11, above its 10" in [p.detail for p in problems]


def test_check_ledger_reports_credit_note_drift_too(refunded):
    """The command runs the checks invoices added at start-up (InvoicesConfig.ready), not only the ledger's."""
    sql(f"DELETE FROM {NOTE} WHERE id = %s", [refunded.credit_note.id])
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("check_ledger", stdout=out)
    assert failed.value.returncode == 1
    assert f"[CN] refund {refunded.transaction.id} of 6 has no credit note" in out.getvalue()
