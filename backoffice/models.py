"""The staff activity log: one row per action a staff member took, refused ones included."""

from django.db import models
from django.utils import timezone


class StaffAction(models.Model):
    class Kind(models.TextChoices):
        TOP_UP = "top_up", "Top-up"
        DEBIT = "debit", "Manual debit"
        FREEZE = "freeze", "Freeze"
        UNFREEZE = "unfreeze", "Unfreeze"
        TERMINATE = "terminate", "Terminate"
        INVOICE_PAID = "invoice_paid", "Invoice marked paid"
        INVOICE_VOIDED = "invoice_voided", "Invoice voided"
        API_KEY_CREATED = "api_key_created", "API key created"
        API_KEY_ROTATED = "api_key_rotated", "API key rotated"
        API_KEY_REVOKED = "api_key_revoked", "API key revoked"
        CREDITS_VOIDED = "credits_voided", "Lot's credits voided"
        CREDITS_REFUNDED = "credits_refunded", "Lot's credits refunded"

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
