"""Two approvals of one request at the same moment post one ledger row (backoffice.approvals).

Real threads on their own database connections, released together by a barrier. Approving locks
the request row, decides only a pending request, and posts with a ledger key derived from the
request id. The negative controls take those guards away, as code that read the request without
its lock would: with a key per approver both post (the count below can fail); with the request's
own key the ledger's idempotency still lets only one through (defence in depth).
"""

import threading
from decimal import Decimal

import pytest

from backoffice import approvals
from backoffice.models import ApprovalRequest, StaffAction
from core.exceptions import InvalidOperation
from tests.wallets.services.concurrently import run_together
from wallets.models import Wallet, WalletTransaction

pytestmark = [pytest.mark.django_db(transaction=True)]
D = Decimal


@pytest.fixture
def pending(wallet, make_staff):
    wallet.tenant.approval_threshold_credits = D("1000")
    wallet.tenant.save(update_fields=["approval_threshold_credits"])
    requester = make_staff("sam", "Finance")
    return approvals.request_approval(
        wallet,
        operation="top_up",
        arguments={"credits": "5000", "reason": "FREE_CREDIT_GRANT"},
        note="Renewal",
        user=requester,
        request_key="page-1",
    ).approval


@pytest.mark.parametrize("same_approver", [False, True], ids=["two-approvers", "double-click"])
def test_approving_twice_at_once_posts_once(pending, wallet, make_staff, same_approver):
    fiona = make_staff("fiona", "Finance")
    approvers = [fiona, fiona] if same_approver else [fiona, make_staff("fred", "Finance")]

    results, errors = run_together(2, lambda i: approvals.approve(pending.pk, user=approvers[i]))

    assert sorted(type(error).__name__ for error in errors if error) == ["InvalidOperation"], errors
    assert "already approved" in next(error for error in errors if error).message
    assert sum(result is not None for result in results) == 1
    assert WalletTransaction.objects.filter(wallet=wallet).count() == 1
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == D("5000")
    assert ApprovalRequest.objects.get(pk=pending.pk).status == ApprovalRequest.Status.APPROVED
    outcomes = sorted(StaffAction.objects.filter(kind="approval_approved").values_list("outcome", flat=True))
    assert outcomes == ["done", "refused"]


def _approve_without_guards(approval_id: str, key, read_together: threading.Barrier):
    """What approving would be without the lock and the status check: read, see pending, post."""
    approval = ApprovalRequest.objects.get(pk=approval_id)  # no select_for_update
    assert approval.status == ApprovalRequest.Status.PENDING
    read_together.wait()  # both have read "pending" before either posts
    wallet = Wallet.objects.get(pk=approval.wallet_id)
    return approvals.OPERATIONS[approval.operation].post(wallet, approval.arguments, key, "user:control")


def test_negative_control_without_the_guards_and_with_a_key_per_approver_both_post(pending, wallet):
    read_together = threading.Barrier(2)
    _results, errors = run_together(2, lambda i: _approve_without_guards(pending.pk, f"control:{pending.pk}:{i}", read_together))
    assert errors == [None, None]
    assert WalletTransaction.objects.filter(wallet=wallet).count() == 2  # the double posting the guards prevent
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == D("10000")


def test_negative_control_without_the_lock_the_request_key_alone_still_posts_once(pending, wallet):
    read_together = threading.Barrier(2)
    key = approvals.idempotency_key(pending)
    results, errors = run_together(2, lambda i: _approve_without_guards(pending.pk, key, read_together))
    assert errors == [None, None]
    assert sorted(result.replayed for result in results) == [False, True]
    assert WalletTransaction.objects.filter(wallet=wallet).count() == 1


def test_an_approval_and_a_cancellation_at_once_leave_one_decision(pending, wallet, make_staff):
    fiona = make_staff("fiona", "Finance")
    requester = pending.requested_by
    calls = [lambda: approvals.approve(pending.pk, user=fiona), lambda: approvals.cancel(pending.pk, user=requester)]
    _results, errors = run_together(2, lambda i: calls[i]())
    assert [type(error) for error in errors if error] == [InvalidOperation]
    final = ApprovalRequest.objects.get(pk=pending.pk)
    rows = WalletTransaction.objects.filter(wallet=wallet).count()
    assert (final.status, rows) in {(ApprovalRequest.Status.APPROVED, 1), (ApprovalRequest.Status.CANCELLED, 0)}
