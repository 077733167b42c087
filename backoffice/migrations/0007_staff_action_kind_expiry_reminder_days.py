"""The staff activity log's kind for setting a tenant's expiry reminder days (issue 14.4); choices only, no SQL."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0006_staff_action_kind_release_holds"),
    ]

    operations = [
        migrations.AlterField(
            model_name="staffaction",
            name="kind",
            field=models.CharField(
                choices=[
                    ("top_up", "Top-up"),
                    ("debit", "Manual debit"),
                    ("freeze", "Freeze"),
                    ("unfreeze", "Unfreeze"),
                    ("terminate", "Terminate"),
                    ("transfer", "Credits transferred"),
                    ("invoice_paid", "Invoice marked paid"),
                    ("invoice_voided", "Invoice voided"),
                    ("api_key_created", "API key created"),
                    ("api_key_rotated", "API key rotated"),
                    ("api_key_revoked", "API key revoked"),
                    ("approval_requested", "Approval requested"),
                    ("approval_approved", "Request approved"),
                    ("approval_refused", "Request refused"),
                    ("approval_cancelled", "Request cancelled"),
                    ("approval_threshold", "Approval threshold set"),
                    ("credits_voided", "Lot's credits voided"),
                    ("credits_refunded", "Lot's credits refunded"),
                    ("release_holds", "Holds released"),
                    ("expiry_reminder_days", "Expiry reminder days set"),
                ],
                max_length=32,
                verbose_name="action",
            ),
        ),
    ]
