"""check_ledger and holds: silent on a healthy ledger with holds, loud on each drift a hold could cause.

Each drift is planted with raw SQL past the guard that would refuse it (tests/wallets/test_integrity.py
explains ``unguarded``); the earmark trigger is switched off the same way where needed.
"""

from contextlib import contextmanager
from decimal import Decimal

import pytest

from tests.wallets.test_integrity import invariants, sql, unguarded
from wallets.ledger import integrity
from wallets.services import holds

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_may_drift")]

D = Decimal


@contextmanager
def earmarks_unguarded():
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    sql("ALTER TABLE wallets_holdearmark DISABLE TRIGGER wallets_earmark_only_shrinks")
    try:
        yield
    finally:
        sql("SET CONSTRAINTS ALL IMMEDIATE")
        sql("ALTER TABLE wallets_holdearmark ENABLE TRIGGER wallets_earmark_only_shrinks")


@pytest.fixture
def held(wallet, credit):
    """A wallet of 100 free and 50 purchased credits: one open hold of 120, one captured of 10, one released of 5."""
    credit("100")
    credit("50", reason="PURCHASED_CREDIT_DIRECT")
    captured = holds.hold_place(wallet, credits=D("10"), idempotency_key="a").hold
    holds.hold_capture(captured, idempotency_key="ca")
    released = holds.hold_place(wallet, credits=D("5"), idempotency_key="b").hold
    holds.hold_release(released, idempotency_key="rb")
    open_ = holds.hold_place(wallet, credits=D("120"), idempotency_key="c").hold
    return {"open": open_, "captured": captured, "released": released}


def test_healthy_ledger_with_holds_is_silent(held, wallet):
    assert integrity.check_wallet(wallet) == []


def test_held_credits_drift(held, wallet):
    sql("UPDATE wallets_wallet SET held_credits = held_credits - 1 WHERE id = %s", [wallet.id])
    assert invariants(integrity.check_wallet(wallet)) == {"IH"}


def test_closed_hold_still_earmarking(held, wallet):
    with earmarks_unguarded():
        sql("UPDATE wallets_holdearmark SET credits = earmarked WHERE hold_id = %s", [held["released"].id])
    problems = integrity.check_wallet(wallet)
    # The hold itself, the lot that now over-counts, and the wallet's balance identity.
    assert invariants(problems) == {"IH", "I5", "I2"}, problems


def test_open_hold_earmark_gone(held, wallet):
    sql("UPDATE wallets_holdearmark SET credits = 0 WHERE hold_id = %s", [held["open"].id])
    assert invariants(integrity.check_wallet(wallet)) == {"IH", "I5", "I2"}


def test_lot_took_back_more_than_its_earmarks(held, wallet):
    lot = held["open"].earmarks.order_by("position").first().lot
    with unguarded():
        sql("UPDATE wallets_wallettransaction SET credits_available = credits_available + 1 WHERE id = %s", [lot.id])
    assert invariants(integrity.check_wallet(wallet)) == {"I5", "I2"}


def test_purchased_earmark_not_counted(held, wallet):
    sql("UPDATE wallets_wallet SET purchased_credits_available = purchased_credits_available - 1 WHERE id = %s", [wallet.id])
    assert invariants(integrity.check_wallet(wallet)) == {"I2"}


def test_capture_row_disagrees_with_the_hold(held, wallet):
    sql("UPDATE wallets_wallethold SET captured_credits = 9 WHERE id = %s", [held["captured"].id])
    problems = integrity.check_wallet(wallet)
    assert invariants(problems) == {"IH"}
    assert "captured 9" in str(problems[0])


def test_earmark_on_another_wallets_lot(held, wallet, make_wallet, make_customer, credit):
    stranger = make_wallet(owner=make_customer())
    lot = credit("10", target=stranger)
    with earmarks_unguarded():
        sql(
            "UPDATE wallets_holdearmark SET lot_id = %s WHERE hold_id = %s AND position = 1",
            [lot.id, held["released"].id],
        )
    assert "not a completed credit of its wallet" in " ".join(map(str, integrity.check_wallet(wallet)))
