"""The manual debit action (Finance only)."""

from decimal import Decimal

import pytest

from tests.admin.flows import REQUEST_ID, apply, messages_of, post_step
from wallets import services

pytestmark = pytest.mark.django_db

DEBIT = {"credits": "30", "justification": "Double grant on 2026-11-01, ticket #17"}


def test_confirmed_debit_writes_one_manual_debit_row(finance, funded_wallet):
    review = post_step(finance, "debit", [funded_wallet], "review", **DEBIT)
    assert "Takes <strong>30 credits</strong> (worth 30 USD) as MANUAL_BALANCE_DEBIT" in review.content.decode()
    assert funded_wallet.transactions.count() == 1

    response = apply(finance, "debit", [funded_wallet], **DEBIT)

    assert messages_of(response) == ["1 debited"]
    row = funded_wallet.transactions.get(type="debit")
    assert row.transaction_reason == "MANUAL_BALANCE_DEBIT"
    assert row.credit_amount == Decimal("30")
    assert row.credit_balance_after == Decimal("70")
    assert row.description == DEBIT["justification"]
    assert row.metadata["justification"] == DEBIT["justification"]
    assert row.idempotency_key == f"admin:{REQUEST_ID}:{funded_wallet.pk}"
    assert row.created_by == "user:fiona"


def test_manual_debit_may_overdraw(finance, funded_wallet):
    apply(finance, "debit", [funded_wallet], **{**DEBIT, "credits": "150"})

    funded_wallet.refresh_from_db()
    assert funded_wallet.credit_balance == Decimal("-50")


def test_double_submit_debits_once(finance, funded_wallet):
    apply(finance, "debit", [funded_wallet], **DEBIT)
    second = post_step(finance, "debit", [funded_wallet], "apply", **DEBIT)

    assert messages_of(second) == ["0 debited, 1 already debited by an earlier submit of this page (not repeated)"]
    funded_wallet.refresh_from_db()
    assert funded_wallet.credit_balance == Decimal("70")


def test_frozen_wallet_is_refused(finance, funded_wallet):
    services.wallet_freeze(funded_wallet, reason="fraud check")

    response = apply(finance, "debit", [funded_wallet], **DEBIT)

    assert messages_of(response) == [f"0 debited, 1 refused: Wallet is frozen [{funded_wallet.pk}]"]
    assert not funded_wallet.transactions.filter(type="debit").exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"credits": "-1"}, "credits"), ({"credits": ""}, "credits"), ({"justification": ""}, "justification")],
)
def test_bad_input_is_a_form_error_and_nothing_is_written(finance, funded_wallet, fields, field):
    response = post_step(finance, "debit", [funded_wallet], "apply", **{**DEBIT, **fields})

    assert response.context["form"].errors[field]
    assert funded_wallet.transactions.count() == 1


def test_support_gets_403_for_a_debit(support, funded_wallet):
    response = post_step(support, "debit", [funded_wallet], "apply", **DEBIT)

    assert response.status_code == 403
    assert funded_wallet.transactions.count() == 1
