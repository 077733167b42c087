"""Expiry reminders (issue 14, part 4): CreditExpiryReminder, one row per lot the workers announced.

The lot is the primary key, so the database refuses a second reminder of a lot however the
sweeps race (wallets.services.reminders inserts with ON CONFLICT DO NOTHING).
"""

import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("tenancy", "0003_tenant_expiry_reminders_and_approval_threshold"),
        ("wallets", "0013_holds"),
    ]

    operations = [
        migrations.CreateModel(
            name="CreditExpiryReminder",
            fields=[
                (
                    "lot",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="expiry_reminder",
                        serialize=False,
                        to="wallets.wallettransaction",
                    ),
                ),
                ("expiry_date", models.DateTimeField()),
                ("credits", models.DecimalField(decimal_places=9, default=Decimal("0"), max_digits=20)),
                ("held_credits", models.DecimalField(decimal_places=9, default=Decimal("0"), max_digits=20)),
                ("reminder_days", models.PositiveSmallIntegerField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                (
                    "customer",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="customers.customer"),
                ),
                (
                    "environment",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="tenancy.environment"),
                ),
                ("tenant", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="tenancy.tenant")),
                (
                    "wallet",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="expiry_reminders", to="wallets.wallet"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("credits__gt", 0)), name="expiry_reminder_credits_positive"),
                    models.CheckConstraint(
                        condition=models.Q(("held_credits__gte", 0), ("held_credits__lte", models.F("credits"))),
                        name="expiry_reminder_held_within_credits",
                    ),
                    models.CheckConstraint(condition=models.Q(("reminder_days__gt", 0)), name="expiry_reminder_days_positive"),
                    models.CheckConstraint(
                        condition=models.Q(("created_at__lt", models.F("expiry_date"))), name="expiry_reminder_before_expiry"
                    ),
                ],
            },
        ),
    ]
