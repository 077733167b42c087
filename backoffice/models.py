"""The back-office's own records: the staff activity log (one row per action a staff member took,
refused ones included) and the approval requests of the four-eyes rule."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.ids import prefixed_id_field


class StaffAction(models.Model):
    class Kind(models.TextChoices):
        TOP_UP = "top_up", "Top-up"
        DEBIT = "debit", "Manual debit"
        FREEZE = "freeze", "Freeze"
        UNFREEZE = "unfreeze", "Unfreeze"
        TERMINATE = "terminate", "Terminate"
        TRANSFER = "transfer", "Credits transferred"
        INVOICE_PAID = "invoice_paid", "Invoice marked paid"
        INVOICE_VOIDED = "invoice_voided", "Invoice voided"
        API_KEY_CREATED = "api_key_created", "API key created"
        API_KEY_ROTATED = "api_key_rotated", "API key rotated"
        API_KEY_REVOKED = "api_key_revoked", "API key revoked"
        # The four-eyes approvals (ApprovalRequest).
        APPROVAL_REQUESTED = "approval_requested", "Approval requested"
        APPROVAL_APPROVED = "approval_approved", "Request approved"
        APPROVAL_REFUSED = "approval_refused", "Request refused"
        APPROVAL_CANCELLED = "approval_cancelled", "Request cancelled"
        APPROVAL_THRESHOLD = "approval_threshold", "Approval threshold set"
        CREDITS_VOIDED = "credits_voided", "Lot's credits voided"
        CREDITS_REFUNDED = "credits_refunded", "Lot's credits refunded"
        RELEASE_HOLDS = "release_holds", "Holds released"
        EXPIRY_REMINDER_DAYS = "expiry_reminder_days", "Expiry reminder days set"

    class Outcome(models.TextChoices):
        DONE = "done", "Done"
        REPEATED = "repeated", "Already done (repeated submit)"
        REFUSED = "refused", "Refused"

    created_at = models.DateTimeField("when", default=timezone.now, db_index=True)
    # The admin username, or "cli:<os user>" for the management commands; kept as text so the
    # log outlives the account.
    staff = models.CharField("staff member", max_length=150, db_index=True)
    kind = models.CharField("action", max_length=32, choices=Kind.choices)
    target_type = models.CharField("object type", max_length=32, blank=True)
    target_id = models.CharField("object id", max_length=50, blank=True, db_index=True)
    note = models.TextField("note given", blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    result = models.TextField(blank=True)

    class Meta:
        verbose_name = "staff action"
        verbose_name_plural = "staff activity log"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["staff", "-created_at"], name="staffaction_staff_created_idx")]

    def __str__(self):
        return f"{self.staff} {self.get_kind_display()} {self.target_id} ({self.outcome})"


class ApprovalOperation(models.TextChoices):
    """What an approval request posts when approved: a name of backoffice.approvals.OPERATIONS."""

    TOP_UP = "top_up", "Top-up"
    DEBIT = "debit", "Manual debit"
    VOID = "void", "Void of a lot's remaining credits"
    REFUND = "refund", "Refund of a lot's remaining credits"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed (the service refused at approval)"
    CANCELLED = "cancelled", "Cancelled by the requester"


class ApprovalRequest(models.Model):
    """A money movement staff asked for that waits for a second staff member (four eyes).

    The admin's manual top-ups, debits, voids and refunds above the tenant's ``approval_threshold_credits`` are
    stored here instead of posting (backoffice.approvals decides and posts). ``arguments`` are
    the wallets.services call's arguments as JSON (decimals and instants as strings), replayed
    once when the request is approved. The models of other apps are named by string: this module
    imports no app (ARCHITECTURE.md), the database still enforces the foreign keys.

    Pending requests have no decision fields; approved, refused and failed ones name who decided
    and when (never the requester: a check constraint); a cancelled one was withdrawn by its
    requester, so it has ``decided_at`` (when) and no ``decided_by``.
    """

    Operation = ApprovalOperation
    Status = ApprovalStatus

    id = prefixed_id_field("apr")
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, related_name="+")
    environment = models.ForeignKey("tenancy.Environment", on_delete=models.PROTECT, related_name="+")
    wallet = models.ForeignKey("wallets.Wallet", on_delete=models.PROTECT, related_name="+")
    operation = models.CharField(max_length=32, choices=Operation.choices)
    credits = models.DecimalField(max_digits=20, decimal_places=9)
    arguments = models.JSONField()
    note = models.TextField("requester's reason")
    # The requesting page's own key: submitting that page twice finds this request again.
    request_key = models.CharField(max_length=255)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    transaction = models.ForeignKey(
        "wallets.WalletTransaction", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    error = models.TextField("service's refusal", blank=True)

    class Meta:
        verbose_name = "approval request"
        ordering = ["-requested_at", "-id"]
        permissions = [("approve_request", "Can approve or refuse approval requests (four eyes)")]
        indexes = [models.Index(fields=["status", "-requested_at"], name="approvalrequest_status_idx")]
        constraints = [
            models.UniqueConstraint(fields=["environment", "request_key"], name="approvalrequest_unique_request_key"),
            models.CheckConstraint(condition=Q(status__in=ApprovalStatus.values), name="approvalrequest_status_valid"),
            models.CheckConstraint(condition=Q(credits__gt=0), name="approvalrequest_credits_positive"),
            models.CheckConstraint(condition=~Q(note=""), name="approvalrequest_note_given"),
            # Four eyes: nobody decides their own request (NULL, i.e. undecided, passes).
            models.CheckConstraint(condition=~Q(decided_by=F("requested_by")), name="approvalrequest_not_decided_by_requester"),
            models.CheckConstraint(
                condition=(
                    Q(status=ApprovalStatus.PENDING, decided_by__isnull=True, decided_at__isnull=True)
                    | Q(status=ApprovalStatus.CANCELLED, decided_by__isnull=True, decided_at__isnull=False)
                    | Q(
                        status__in=[ApprovalStatus.APPROVED, ApprovalStatus.REFUSED, ApprovalStatus.FAILED],
                        decided_by__isnull=False,
                        decided_at__isnull=False,
                    )
                ),
                name="approvalrequest_decided_iff_closed",
            ),
            # An approval posted exactly one ledger row; nothing else posted any.
            models.CheckConstraint(
                condition=Q(status=ApprovalStatus.APPROVED, transaction__isnull=False)
                | (~Q(status=ApprovalStatus.APPROVED) & Q(transaction__isnull=True)),
                name="approvalrequest_transaction_iff_approved",
            ),
            models.CheckConstraint(
                condition=Q(status=ApprovalStatus.FAILED) & ~Q(error="") | ~Q(status=ApprovalStatus.FAILED) & Q(error=""),
                name="approvalrequest_error_iff_failed",
            ),
            models.CheckConstraint(
                condition=~Q(status=ApprovalStatus.REFUSED) | ~Q(decision_note=""), name="approvalrequest_refusal_has_note"
            ),
        ]

    def __str__(self):
        return f"{self.pk} ({self.get_operation_display()} of {self.credits.normalize():f} credits, {self.status})"
