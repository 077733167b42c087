"""Per-tenant settings: days before expiry to remind, and the four-eyes approval threshold (issue 14)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0002_support_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="approval_threshold_credits",
            field=models.DecimalField(blank=True, decimal_places=9, max_digits=20, null=True),
        ),
        migrations.AddField(
            model_name="tenant",
            name="credit_expiry_reminder_days",
            field=models.PositiveSmallIntegerField(default=7),
        ),
        migrations.AddConstraint(
            model_name="tenant",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("approval_threshold_credits__isnull", True), ("approval_threshold_credits__gt", 0), _connector="OR"
                ),
                name="tenant_approval_threshold_positive",
            ),
        ),
    ]
