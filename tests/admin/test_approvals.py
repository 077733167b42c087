"""The four-eyes rule's service (backoffice.approvals): the threshold, asking, approving, refusing, cancelling.

Against PostgreSQL: the database's own constraints are tested too, by writing around the service.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from backoffice import approvals
from backoffice.models import ApprovalRequest, StaffAction
from core.exceptions import AlreadyExists, InvalidOperation, NotFound, PermissionDenied, ValidationFailed
from wallets import services
from wallets.models import Wallet, WalletTransaction

D = Decimal
Status = ApprovalRequest.Status
pytestmark = pytest.mark.django_db


@pytest.fixture
def threshold(wallet):
    """The tenant's four-eyes threshold: more than 1000 credits in one manual movement waits."""
    wallet.tenant.approval_threshold_credits = D("1000")
    wallet.tenant.save(update_fields=["approval_threshold_credits"])
    return D("1000")


@pytest.fixture
def requester(make_staff):
    return make_staff("sam", "Finance")  # Finance may approve, but never their own request


@pytest.fixture
def approver(make_staff):
    return make_staff("fiona", "Finance")


def ask(wallet, user, credits="5000", *, operation="top_up", key="page-1", note="Contract renewal, ticket #7", **extra):
    arguments = approvals.plain_arguments(credits=D(credits), **extra)
    if operation == "top_up":
        arguments.setdefault("reason", "FREE_CREDIT_GRANT")
    return approvals.request_approval(
        wallet, operation=operation, arguments=arguments, note=note, user=user, request_key=key
    ).approval


def ledger_rows(wallet):
    return WalletTransaction.objects.filter(wallet=wallet).count()


def log(kind):
    return list(StaffAction.objects.filter(kind=kind).order_by("id").values_list("staff", "outcome", "result"))


# --- the threshold ---


def test_equal_to_the_threshold_needs_no_approval_and_one_billionth_more_does(wallet, threshold):
    assert not approvals.needs_approval(wallet, D("1000"))
    assert approvals.needs_approval(wallet, D("1000.000000001"))
    assert not approvals.needs_approval(wallet, D("999.999999999"))


def test_no_threshold_means_the_rule_is_off(wallet):
    assert wallet.tenant.approval_threshold_credits is None
    assert not approvals.needs_approval(wallet, D("999999999"))


def test_asking_at_the_threshold_is_refused_it_simply_posts(wallet, threshold, requester):
    with pytest.raises(InvalidOperation, match="do not exceed"):
        ask(wallet, requester, "1000")
    assert not ApprovalRequest.objects.exists()
    assert log("approval_requested") == [
        ("sam", "refused", "1000 credits do not exceed the tenant's approval threshold; no approval is needed")
    ]


def test_a_top_up_by_amount_is_compared_in_credits(wallet, threshold, requester):
    wallet.topup_conversion_rate = D("0.5")  # 1 currency unit buys 2 credits
    Wallet.objects.filter(pk=wallet.pk).update(topup_conversion_rate=D("0.5"))
    arguments = approvals.plain_arguments(amount=D("600"), reason="FREE_CREDIT_GRANT")
    approval = approvals.request_approval(
        wallet, operation="top_up", arguments=arguments, note="n", user=requester, request_key="k"
    ).approval
    assert approval.credits == D("1200")


# --- asking ---


def test_a_request_waits_and_posts_nothing(wallet, threshold, requester):
    approval = ask(wallet, requester, expiry_date=timezone.now() + timedelta(days=30), priority=2)
    approval.refresh_from_db()
    assert approval.pk.startswith("apr_")
    assert (approval.status, approval.credits, approval.requested_by, approval.tenant_id) == (
        Status.PENDING,
        D("5000"),
        requester,
        wallet.tenant_id,
    )
    assert approval.arguments["credits"] == "5000" and isinstance(approval.arguments["expiry_date"], str)
    assert ledger_rows(wallet) == 0
    assert log("approval_requested") == [
        ("sam", "done", f"{approval.pk}: top-up of 5000 credits on {wallet.pk}; waiting for approval")
    ]


def test_the_same_page_twice_is_one_request_and_another_body_with_its_key_conflicts(wallet, threshold, requester):
    first = ask(wallet, requester)
    again = approvals.request_approval(
        wallet,
        operation="top_up",
        arguments=approvals.plain_arguments(credits=D("5000"), reason="FREE_CREDIT_GRANT"),
        note="Contract renewal, ticket #7",
        user=requester,
        request_key="page-1",
    )
    assert again.replayed and again.approval.pk == first.pk
    with pytest.raises(AlreadyExists):
        ask(wallet, requester, "6000")
    assert ApprovalRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"note": "  "}, "note"),
        ({"operation": "terminate"}, "operation"),
        ({"arguments": {"credits": 5000.5, "reason": "FREE_CREDIT_GRANT"}}, "arguments.credits"),
        ({"arguments": {"credits": "-5", "reason": "FREE_CREDIT_GRANT"}}, "arguments.credits"),
    ],
)
def test_bad_requests_are_refused_naming_the_field(wallet, threshold, requester, changes, field):
    kwargs = {
        "operation": "top_up",
        "arguments": {"credits": "5000", "reason": "FREE_CREDIT_GRANT"},
        "note": "why",
        "user": requester,
        "request_key": "k",
        **changes,
    }
    with pytest.raises(ValidationFailed) as refused:
        approvals.request_approval(wallet, **kwargs)
    assert refused.value.field == field
    assert not ApprovalRequest.objects.exists()


# --- deciding ---


def test_a_second_staff_member_approves_and_it_posts_once(wallet, threshold, requester, approver):
    approval = ask(wallet, requester, description="Renewal")
    approved = approvals.approve(approval.pk, user=approver, note="Checked the contract")
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("5000")
    row = approved.transaction
    assert (row.credit_amount, row.created_by, row.idempotency_key, row.metadata["approval_request"]) == (
        D("5000"),
        "user:fiona",
        f"approval:{approval.pk}",
        approval.pk,
    )
    approved.refresh_from_db()
    assert (approved.status, approved.decided_by, approved.decision_note) == (Status.APPROVED, approver, "Checked the contract")
    assert log("approval_approved") == [
        ("fiona", "done", f"{approval.pk} approved: top-up of 5000 credits on {wallet.pk}, transaction {row.pk}")
    ]
    # approving again (a double click) is refused and posts nothing
    with pytest.raises(InvalidOperation, match="already approved"):
        approvals.approve(approval.pk, user=approver)
    assert ledger_rows(wallet) == 1


def test_a_debit_waits_then_posts(wallet, threshold, requester, approver, credit):
    credit(3000)
    approval = ask(wallet, requester, "2000", operation="debit", reason="MANUAL_BALANCE_DEBIT")
    assert ledger_rows(wallet) == 1
    approvals.approve(approval.pk, user=approver)
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("1000")


def test_nobody_decides_their_own_request_not_even_a_superuser(wallet, threshold, make_staff, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    approval = ask(wallet, root)
    with pytest.raises(PermissionDenied, match="your own request"):
        approvals.approve(approval.pk, user=root)
    with pytest.raises(PermissionDenied, match="your own request"):
        approvals.refuse(approval.pk, user=root, note="no")
    approval.refresh_from_db()
    assert approval.status == Status.PENDING and ledger_rows(wallet) == 0
    assert [outcome for _, outcome, _ in log("approval_approved") + log("approval_refused")] == ["refused", "refused"]


def test_only_the_approve_permission_decides(wallet, threshold, requester, make_staff):
    support = make_staff("sue", "Support")
    approval = ask(wallet, requester)
    with pytest.raises(PermissionDenied, match="approve permission"):
        approvals.approve(approval.pk, user=support)
    assert not support.has_perm(approvals.APPROVE_PERMISSION)
    assert ApprovalRequest.objects.get().status == Status.PENDING


def test_a_refusal_needs_its_reason_and_posts_nothing(wallet, threshold, requester, approver):
    approval = ask(wallet, requester)
    with pytest.raises(ValidationFailed) as refused:
        approvals.refuse(approval.pk, user=approver, note=" ")
    assert refused.value.field == "decision_note"
    refused_request = approvals.refuse(approval.pk, user=approver, note="No contract on file")
    assert (refused_request.status, refused_request.decision_note) == (Status.REFUSED, "No contract on file")
    with pytest.raises(InvalidOperation, match="already refused"):
        approvals.approve(approval.pk, user=approver)
    assert ledger_rows(wallet) == 0


def test_the_requester_cancels_their_own_and_nobody_else_can(wallet, threshold, requester, approver):
    approval = ask(wallet, requester)
    with pytest.raises(PermissionDenied, match="who asked"):
        approvals.cancel(approval.pk, user=approver)
    cancelled = approvals.cancel(approval.pk, user=requester, note="Wrong wallet")
    cancelled.refresh_from_db()
    assert (cancelled.status, cancelled.decided_by, cancelled.decided_at is not None) == (Status.CANCELLED, None, True)
    with pytest.raises(InvalidOperation, match="already cancelled"):
        approvals.approve(approval.pk, user=approver)
    assert ledger_rows(wallet) == 0
    assert [outcome for _, outcome, _ in log("approval_cancelled")] == ["refused", "done"]


def test_a_wallet_frozen_meanwhile_makes_the_approval_fail_with_the_error(wallet, threshold, requester, approver):
    approval = ask(wallet, requester)
    services.wallet_freeze(wallet, reason="Card stolen")
    failed = approvals.approve(approval.pk, user=approver)
    failed.refresh_from_db()
    assert failed.status == Status.FAILED and "frozen" in failed.error.lower()
    assert failed.transaction is None and ledger_rows(wallet) == 0
    assert log("approval_approved") == [("fiona", "refused", f"{approval.pk} failed: {failed.error}; nothing was posted")]


def test_an_unknown_request_is_not_found(approver):
    with pytest.raises(NotFound):
        approvals.approve("apr_NOPE", user=approver)


# --- the database's own rules, written around the service ---


@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        (
            {"decided_by": "requester", "decided_at": "now", "status": Status.REFUSED, "decision_note": "x"},
            "approvalrequest_not_decided_by_requester",
        ),
        # PostgreSQL checks in name order: decided_iff_closed, which lists the statuses too, comes first.
        ({"status": "lost"}, "approvalrequest_(status_valid|decided_iff_closed)"),
        ({"credits": D("0")}, "approvalrequest_credits_positive"),
        ({"note": ""}, "approvalrequest_note_given"),
        ({"status": Status.REFUSED}, "approvalrequest_decided_iff_closed"),
        ({"decided_at": "now"}, "approvalrequest_decided_iff_closed"),
        ({"status": Status.APPROVED, "decided_by": "approver", "decided_at": "now"}, "approvalrequest_transaction_iff_approved"),
        ({"status": Status.FAILED, "decided_by": "approver", "decided_at": "now"}, "approvalrequest_error_iff_failed"),
        ({"status": Status.REFUSED, "decided_by": "approver", "decided_at": "now"}, "approvalrequest_refusal_has_note"),
    ],
)
def test_the_database_refuses_what_the_service_never_writes(wallet, threshold, requester, approver, changes, constraint):
    approval = ask(wallet, requester)
    users = {"requester": requester, "approver": approver}
    values = {name: users.get(value, value) for name, value in changes.items()}
    values = {name: timezone.now() if value == "now" else value for name, value in values.items()}
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        ApprovalRequest.objects.filter(pk=approval.pk).update(**values)


def test_finance_may_approve_and_support_may_only_see(make_staff):
    finance, support = make_staff("fiona", "Finance"), make_staff("sue", "Support")
    assert finance.has_perm(approvals.APPROVE_PERMISSION) and finance.has_perm("backoffice.view_approvalrequest")
    assert not support.has_perm(approvals.APPROVE_PERMISSION) and support.has_perm("backoffice.view_approvalrequest")


def test_a_note_longer_than_the_limit_is_refused(wallet, threshold, requester, approver):
    with pytest.raises(ValidationFailed) as refused:
        ask(wallet, requester, note="x" * (approvals.NOTE_MAX_LENGTH + 1))
    assert refused.value.field == "note"
    approval = ask(wallet, requester)
    with pytest.raises(ValidationFailed) as refused:
        approvals.refuse(approval.pk, user=approver, note="x" * (approvals.NOTE_MAX_LENGTH + 1))
    assert refused.value.field == "decision_note"


def test_the_decision_the_posting_and_the_log_row_commit_together(wallet, threshold, requester, approver):
    """If the approval's log row cannot be written, neither the posting nor the decision stays."""
    approval = ask(wallet, requester)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse_approval_log() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN IF NEW.kind = 'approval_approved' THEN RAISE EXCEPTION 'activity log unavailable'; END IF;"
            " RETURN NEW; END $$;"
            "CREATE TRIGGER test_refuse_approval_log BEFORE INSERT ON backoffice_staffaction "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_approval_log();"
        )
    with pytest.raises(DatabaseError, match="activity log unavailable"):
        approvals.approve(approval.pk, user=approver)
    approval.refresh_from_db()
    assert (approval.status, approval.transaction_id, ledger_rows(wallet)) == (Status.PENDING, None, 0)
