"""Voiding and refunding a lot from its admin page (wallets.admin.voids): form → review → confirm, logged."""

from decimal import Decimal

import pytest

from backoffice.models import StaffAction
from invoices.models import CreditNote, Invoice
from invoices.services import invoice_pay
from tests.admin.flows import REQUEST_ID, TRANSACTIONS_URL, messages_of
from wallets import services
from wallets.admin.display import change_url
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db

D = Decimal
FORM = {"reason": "Granted twice (ticket #41)", "note": "Asked by the account manager"}


def _page(lot, action: str) -> str:
    return f"{TRANSACTIONS_URL}{lot.pk}/{action}/"


def _post(client, lot, action: str, step: str, **fields):
    data = {"request_id": REQUEST_ID, "step": step, **FORM, **fields}
    return client.post(_page(lot, action), data, follow=step == "apply")


def _buttons(client, lot) -> list[str]:
    page = client.get(f"{TRANSACTIONS_URL}{lot.pk}/change/")
    offered = [action.name for action, url in page.context["lot_actions"]]
    for _action, url in page.context["lot_actions"]:
        assert f'href="{url}"' in page.content.decode() and client.get(url).status_code == 200
    return offered


@pytest.fixture
def lot(funded_wallet):
    """The 100-credit grant of ``funded_wallet``, 30 of them spent."""
    services.wallet_debit(funded_wallet, credits=D("30"), idempotency_key="spend", reason="INVOICE_PAYMENT")
    return funded_wallet.transactions.get(type="credit")


@pytest.fixture
def paid_lot(make_wallet, make_customer):
    """Another customer's 10-credit purchase at 0.07 whose invoice is paid, 4 credits spent."""
    wallet = make_wallet(make_customer(), topup_conversion_rate=D("0.07"))
    result = services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", credits=D("10"))
    invoice_pay(Invoice.objects.get(pk=result.invoice_id))
    services.wallet_debit(wallet, credits=D("4"), idempotency_key="spend-paid", reason="INVOICE_PAYMENT")
    return WalletTransaction.objects.get(pk=result.transaction.pk)


def test_the_lot_page_offers_what_the_user_may_do(support, finance, viewer, lot, paid_lot):
    assert _buttons(support, lot) == ["void"]
    assert _buttons(finance, lot) == ["void"]  # free credits are voided, never refunded
    assert _buttons(finance, paid_lot) == ["void", "refund"]
    assert _buttons(support, paid_lot) == ["void"]
    assert _buttons(viewer, lot) == []


def test_no_buttons_on_a_debit_or_an_empty_lot(finance, lot, funded_wallet):
    debit = funded_wallet.transactions.get(type="debit")
    assert _buttons(finance, debit) == []
    services.credit_void(environment_id=lot.environment_id, transaction_id=lot.pk, reason="x", idempotency_key="v")
    assert _buttons(finance, lot) == []


def test_review_shows_the_remainder_and_the_balance_before_and_after(support, lot):
    form = support.get(_page(lot, "void"))
    assert form.status_code == 200 and not form.context["reviewing"]
    review = _post(support, lot, "void", "review")
    assert review.context["reviewing"]
    page = review.content.decode()
    assert '<strong id="lot-remainder">70 credits</strong>' in page
    assert "70 → <strong>0</strong> credits" in page
    # The review writes nothing: the grant and the debit are still the wallet's only rows.
    assert WalletTransaction.objects.filter(wallet=lot.wallet).count() == 2


def test_confirm_voids_once_and_logs_the_staff_action(support, lot):
    response = _post(support, lot, "void", "apply")
    assert response.redirect_chain[-1][0] == change_url(lot)
    row = WalletTransaction.objects.get(transaction_reason="CREDIT_VOID")
    assert messages_of(response) == [f"Voided 70 credits of lot {lot.pk}, transaction {row.id}."]
    assert (row.credit_amount, row.description, row.created_by) == (D("70"), FORM["reason"], "user:sam")
    assert row.idempotency_key == f"admin:{REQUEST_ID}:{lot.pk}"
    entry = StaffAction.objects.get()
    assert (entry.staff, entry.kind, entry.target_type, entry.target_id, entry.note, entry.outcome) == (
        "sam", "credits_voided", "wallettransaction", lot.pk, FORM["note"], "done",
    )  # fmt: skip
    # The same page submitted again replays: nothing more is voided.
    again = _post(support, lot, "void", "apply")
    assert messages_of(again)[0].startswith("Already done by an earlier submit of this page")
    assert WalletTransaction.objects.filter(transaction_reason="CREDIT_VOID").count() == 1
    assert StaffAction.objects.filter(outcome="repeated").count() == 1


def test_a_refusal_is_shown_and_logged(support, lot):
    services.credit_void(environment_id=lot.environment_id, transaction_id=lot.pk, reason="x", idempotency_key="v")
    response = _post(support, lot, "void", "apply")
    assert messages_of(response) == [
        "Refused: The credit lot has nothing left to void: its credits were consumed, expired or voided"
    ]
    assert StaffAction.objects.get().outcome == "refused"


@pytest.mark.parametrize("blank", ["reason", "note"])
def test_reason_and_note_are_mandatory(support, lot, blank):
    response = _post(support, lot, "void", "apply", **{blank: "  "})
    assert response.context["form"].errors[blank]
    assert not WalletTransaction.objects.filter(transaction_reason="CREDIT_VOID").exists()


def test_refund_review_shows_the_credit_note_and_confirm_issues_it(finance, paid_lot):
    review = _post(finance, paid_lot, "refund", "review")
    # 10 × 0.07 = 0.7 paid; 6 of 10 credits left: 0.42 owed back.
    assert '<strong id="lot-credit-note">0.42 USD</strong>' in review.content.decode()
    response = _post(finance, paid_lot, "refund", "apply")
    note = CreditNote.objects.get()
    assert (note.credits, note.amount, note.created_by) == (D("6"), D("0.42"), "user:fiona")
    assert messages_of(response) == [
        f"Refunded 6 credits of lot {paid_lot.pk}, transaction {note.wallet_transaction_id}; credit note {note.id} for 0.42 USD."
    ]
    assert StaffAction.objects.get().kind == "credits_refunded"
    invoice_page = finance.get(f"/admin/invoices/invoice/{note.invoice_id}/change/").content.decode()
    assert note.id in invoice_page and "0.42" in invoice_page


@pytest.mark.parametrize("step", [None, "review", "apply"])
def test_support_may_not_refund(support, paid_lot, step):
    response = support.get(_page(paid_lot, "refund")) if step is None else _post(support, paid_lot, "refund", step)
    assert response.status_code == 403
    assert not CreditNote.objects.exists()


@pytest.mark.parametrize("step", [None, "review", "apply"])
def test_a_viewer_may_not_void(viewer, lot, step):
    response = viewer.get(_page(lot, "void")) if step is None else _post(viewer, lot, "void", step)
    assert response.status_code == 403
    assert not WalletTransaction.objects.filter(transaction_reason="CREDIT_VOID").exists()


def test_an_unknown_lot_is_404(support):
    assert support.get(f"{TRANSACTIONS_URL}wtxn_nope/void/").status_code == 404
