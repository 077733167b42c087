"""Four eyes on the lot actions: a void or refund of more credits than the tenant's threshold waits for approval."""

from decimal import Decimal

import pytest
from django.test import Client

from backoffice import approvals
from backoffice.models import ApprovalRequest, StaffAction
from invoices.models import CreditNote, Invoice
from invoices.services import invoice_pay
from tests.admin.flows import REQUEST_ID, TRANSACTIONS_URL, messages_of
from wallets import services
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db
D = Decimal
FORM = {"reason": "Granted twice (ticket #41)", "note": "Asked by the account manager"}


def _post(client, lot, action: str, step: str):
    data = {"request_id": REQUEST_ID, "step": step, **FORM}
    return client.post(f"{TRANSACTIONS_URL}{lot.pk}/{action}/", data, follow=step == "apply")


def _threshold(wallet, credits: str) -> None:
    wallet.tenant.approval_threshold_credits = D(credits)
    wallet.tenant.save(update_fields=["approval_threshold_credits"])


@pytest.fixture
def lot(funded_wallet):
    """The 100-credit grant of ``funded_wallet``, 30 of them spent: 70 left."""
    services.wallet_debit(funded_wallet, credits=D("30"), idempotency_key="spend", reason="INVOICE_PAYMENT")
    return funded_wallet.transactions.get(type="credit")


def test_a_void_above_the_threshold_waits_and_a_second_staff_member_posts_it(support, finance_user, lot, funded_wallet):
    _threshold(funded_wallet, "69.999999999")
    review = _post(support, lot, "void", "review").content.decode()
    assert 'id="lot-needs-approval"' in review and "threshold of 69.999999999 credits" in review

    response = _post(support, lot, "void", "apply")

    approval = ApprovalRequest.objects.get()
    assert messages_of(response) == [f"Waiting for approval by a second staff member: {approval.pk}"]
    assert (approval.operation, approval.credits, approval.arguments) == (
        "void",
        D("70"),
        {"lot_id": lot.pk, "reason": FORM["reason"]},
    )
    assert not WalletTransaction.objects.filter(transaction_reason="CREDIT_VOID").exists()
    assert StaffAction.objects.get().kind == "approval_requested"

    approved = approvals.approve(approval.pk, user=finance_user, note="Checked")

    row = approved.transaction
    assert (row.transaction_reason, row.credit_amount, row.created_by) == ("CREDIT_VOID", D("70"), "user:fiona")
    assert row.metadata["approval_request"] == approval.pk
    lot.refresh_from_db()
    assert lot.credits_available == 0


def test_a_void_equal_to_the_threshold_posts_at_once(support, lot, funded_wallet):
    _threshold(funded_wallet, "70")
    assert 'id="lot-needs-approval"' not in _post(support, lot, "void", "review").content.decode()
    _post(support, lot, "void", "apply")
    assert not ApprovalRequest.objects.exists()
    assert WalletTransaction.objects.filter(transaction_reason="CREDIT_VOID").count() == 1


def test_a_lot_spent_meanwhile_is_voided_as_it_is_at_approval(support, finance_user, lot, funded_wallet):
    _threshold(funded_wallet, "50")
    _post(support, lot, "void", "apply")
    approval = ApprovalRequest.objects.get()
    services.wallet_debit(funded_wallet, credits=D("60"), idempotency_key="spend-more", reason="INVOICE_PAYMENT")
    approved = approvals.approve(approval.pk, user=finance_user)  # the request said 70; 10 are left
    lot.refresh_from_db()
    assert (approved.status, approved.transaction.credit_amount, lot.credits_available) == ("approved", D("10"), 0)


def test_a_refund_above_the_threshold_waits_then_issues_its_credit_note(make_wallet, make_customer, make_staff):
    wallet = make_wallet(make_customer(), topup_conversion_rate=D("0.07"))
    result = services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", credits=D("10"))
    invoice_pay(Invoice.objects.get(pk=result.invoice_id))
    _threshold(wallet, "5")
    fiona, frank = make_staff("fiona", "Finance"), make_staff("frank", "Finance")
    client = Client()
    client.force_login(fiona)

    response = _post(client, result.transaction, "refund", "apply")

    approval = ApprovalRequest.objects.get()
    assert messages_of(response) == [f"Waiting for approval by a second staff member: {approval.pk}"]
    assert not CreditNote.objects.exists()
    approvals.approve(approval.pk, user=frank)
    note = CreditNote.objects.get()
    assert (note.credits, note.amount, note.created_by) == (D("10"), D("0.7"), "user:frank")
