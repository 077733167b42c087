"""The integrity checker's transfer rules (IXF): silent on real transfers, loud on each planted drift.

Same technique as test_integrity.py: raw SQL with the append-only guards switched off inside the
test's transaction (rolled back at the end). A clean transfer ledger is checked first, so each
drift test shows the rule firing because of the drift it planted.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.wallets.test_integrity import TXN, invariants, sql, unguarded
from wallets import services
from wallets.ledger import integrity
from wallets.models import WalletTransfer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_may_drift")]


@pytest.fixture
def moved(wallet, make_wallet, credit):
    """A transfer of 40 over two lots: 30 purchased, priority 1, expiring; 10 of a free lot."""
    promo = make_wallet(wallet_type="PROMOTIONAL")
    credit(30, reason="PURCHASED_CREDIT_DIRECT", priority=1, expiry_date=timezone.now() + timedelta(days=9))
    credit(50)
    result = services.wallet_transfer(wallet, promo, credits=Decimal(40), idempotency_key="move")
    assert integrity.check_all() == []
    return result


def ixf(problems) -> list[str]:
    return [problem.detail for problem in problems if problem.invariant == "IXF"]


def test_a_clean_transfer_passes(moved):
    assert len(moved.credits) == 2
    assert [row.transaction_reason for row in moved.credits] == ["TRANSFER_IN_PURCHASED", "TRANSFER_IN"]


@pytest.mark.parametrize(
    ("column", "value", "says"),
    [
        ("expiry_date", None, "expiring None"),
        ("priority", 7, "priority 7"),
    ],
)
def test_detects_a_credit_that_no_longer_matches_its_lot(moved, column, value, says):
    with unguarded():
        sql(f"UPDATE {TXN} SET {column} = %s WHERE id = %s", [value, moved.credits[0].id])
    details = ixf(integrity.check_all())
    assert any(says in detail for detail in details), details


def test_detects_a_purchased_lot_arriving_as_free(moved):
    with unguarded():
        sql(f"UPDATE {TXN} SET transaction_reason = 'TRANSFER_IN' WHERE id = %s", [moved.credits[0].id])
    problems = integrity.check_all()
    assert any("is TRANSFER_IN but lot" in detail for detail in ixf(problems))
    assert "I2" in invariants(problems)  # the wallet's purchased total no longer matches its lots either


def test_detects_a_debit_listing_other_credits(moved):
    with unguarded():
        sql(
            f"UPDATE {TXN} SET metadata = metadata || jsonb_build_object('transfer_credit_tx_ids', %s::text) WHERE id = %s",
            [moved.credits[1].id, moved.debit.id],
        )
    assert any("lists credits" in detail for detail in ixf(integrity.check_all()))


def test_detects_a_credit_detached_from_its_debit(moved):
    with unguarded():
        sql(f"UPDATE {TXN} SET parent_transaction_id = NULL WHERE id = %s", [moved.credits[1].id])
    assert any(f"credit {moved.credits[1].id} is on" in detail for detail in ixf(integrity.check_all()))


def test_detects_credits_that_do_not_add_up_to_the_debit(moved):
    credit = moved.credits[1]
    with unguarded(drop=((TXN, "wallet_transaction_credits_available_within_lot"),)):
        sql(
            f"UPDATE {TXN} SET credit_amount = credit_amount + 1, credits_available = credits_available + 1,"
            " credit_balance_after = credit_balance_after + 1 WHERE id = %s",
            [credit.id],
        )
    details = ixf(integrity.check_all())
    assert any("credits add up to 41" in detail for detail in details), details
    assert any("gave 10" in detail for detail in details), details


def test_detects_a_credit_naming_another_lot(moved):
    with unguarded():
        sql(
            f"UPDATE {TXN} SET metadata = metadata || jsonb_build_object('source_credit_tx_id', 'wtxn_X') WHERE id = %s",
            [moved.credits[0].id],
        )
    assert any("credits name lots" in detail for detail in ixf(integrity.check_all()))


def test_detects_transfer_rows_without_their_transfer(moved):
    WalletTransfer.objects.filter(pk=moved.transfer.pk).delete()
    details = ixf(integrity.check_all())
    assert sum("belongs to no transfer" in detail for detail in details) == 3, details


def test_detects_a_transfer_whose_amount_differs_from_its_debit(moved):
    WalletTransfer.objects.filter(pk=moved.transfer.pk).update(credits=Decimal(39))
    assert any("moves 40 of 39" in detail for detail in ixf(integrity.check_all()))
