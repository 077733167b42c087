"""Wallet.purchased_credits_available: what completed PURCHASED_* credits still hold, kept by the ledger.

Existing wallets get it from their ledger rows, so the breakdown reads the same before and after.
"""

from decimal import Decimal

from django.db import migrations, models

FILL = """
UPDATE wallets_wallet SET purchased_credits_available = COALESCE((
    SELECT SUM(t.credits_available) FROM wallets_wallettransaction t
    WHERE t.wallet_id = wallets_wallet.id AND t.type = 'credit' AND t.transaction_status = 'completed'
      AND t.transaction_reason IN ('PURCHASED_CREDIT_INVOICED', 'PURCHASED_CREDIT_DIRECT')
), 0)
"""


class Migration(migrations.Migration):

    dependencies = [
        ("wallets", "0004_wallet_permissions_support_groups"),
    ]

    operations = [
        migrations.AddField(
            model_name="wallet",
            name="purchased_credits_available",
            field=models.DecimalField(decimal_places=9, default=Decimal("0"), max_digits=20),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="wallet",
            constraint=models.CheckConstraint(
                condition=models.Q(("purchased_credits_available__gte", 0)), name="wallet_purchased_credits_not_negative"
            ),
        ),
    ]
