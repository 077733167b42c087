"""The terminate action: the forfeit is shown in bold and must be confirmed by typing."""

from decimal import Decimal

import pytest

from tests.admin.flows import apply, messages_of, post_step
from wallets import services

pytestmark = pytest.mark.django_db


def test_form_and_review_show_the_credits_that_will_be_forfeited(finance, funded_wallet):
    for step in (None, "review"):
        response = post_step(finance, "terminate", [funded_wallet], step, reason="Customer closed the account")

        page = response.content.decode()
        assert '<strong class="wallet-forfeit">100 credits</strong> (worth 100 USD)' in page
    assert "Type TERMINATE to confirm" in page
    funded_wallet.refresh_from_db()
    assert funded_wallet.wallet_status == "active"


def test_the_review_says_which_unpaid_invoices_the_termination_voids(finance, funded_wallet):
    services.wallet_top_up(funded_wallet, credits=Decimal("40"), reason="PURCHASED_CREDIT_INVOICED")
    page = post_step(finance, "terminate", [funded_wallet], "review", reason="Customer left").content.decode()
    assert "Voids its <strong>1 unpaid invoice</strong>: their credits will not be delivered." in page
    apply(finance, "terminate", [funded_wallet], reason="Customer left", confirmation="TERMINATE")
    assert funded_wallet.invoices.get().invoice_status == "VOIDED"


def test_without_the_typed_confirmation_nothing_happens(finance, funded_wallet):
    for typed in ("", "terminate", "yes"):
        response = post_step(finance, "terminate", [funded_wallet], "apply", reason="Customer left", confirmation=typed)

        assert response.context["reviewing"] is True
        assert response.context["confirm_form"].errors["confirmation"]
    funded_wallet.refresh_from_db()
    assert funded_wallet.wallet_status == "active"
    assert funded_wallet.transactions.count() == 1


def test_confirmed_termination_forfeits_the_balance_and_closes(finance, funded_wallet):
    response = apply(finance, "terminate", [funded_wallet], reason="Customer left", confirmation="TERMINATE")

    assert messages_of(response) == ["1 terminated"]
    funded_wallet.refresh_from_db()
    assert funded_wallet.wallet_status == "closed"
    assert funded_wallet.credit_balance == Decimal("0")
    row = funded_wallet.transactions.get(type="debit")
    assert (row.transaction_reason, row.credit_amount, row.created_by) == ("WALLET_TERMINATION", Decimal("100"), "user:fiona")
    assert funded_wallet.status_changes.get().reason == "Customer left"


def test_terminating_a_closed_wallet_is_refused(finance, funded_wallet):
    services.wallet_terminate(funded_wallet, reason="x")

    response = apply(finance, "terminate", [funded_wallet], reason="again", confirmation="TERMINATE")

    assert messages_of(response) == [f"0 terminated, 1 refused: Wallet is already terminated [{funded_wallet.pk}]"]


def test_negative_balance_is_said_to_stay(finance, funded_wallet):
    services.wallet_debit(funded_wallet, credits=Decimal("130"), idempotency_key="k-1")
    funded_wallet.refresh_from_db()

    response = post_step(finance, "terminate", [funded_wallet], "review", reason="x")

    assert "its negative balance of <strong>-30 credits</strong> stays on it" in response.content.decode()


def test_support_gets_403_for_a_termination(support, funded_wallet):
    response = post_step(support, "terminate", [funded_wallet], "apply", reason="x", confirmation="TERMINATE")

    assert response.status_code == 403
    funded_wallet.refresh_from_db()
    assert funded_wallet.wallet_status == "active"
