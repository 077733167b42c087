"""The ledger reasons of holds, transfers, voids and refunds (issue 14): the reason check constraint lists them."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wallets", "0008_support_groups_view_alert_and_status_changes"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="wallettransaction",
            name="wallet_transaction_reason_valid",
        ),
        migrations.AlterField(
            model_name="wallettransaction",
            name="transaction_reason",
            field=models.CharField(
                choices=[
                    ("INVOICE_PAYMENT", "Invoice Payment"),
                    ("FREE_CREDIT_GRANT", "Free Credit Grant"),
                    ("SUBSCRIPTION_CREDIT_GRANT", "Subscription Credit Grant"),
                    ("PURCHASED_CREDIT_INVOICED", "Purchased Credit Invoiced"),
                    ("PURCHASED_CREDIT_DIRECT", "Purchased Credit Direct"),
                    ("PURCHASED_CREDIT_BONUS", "Purchased Credit Bonus"),
                    ("CREDIT_NOTE", "Credit Note"),
                    ("CREDIT_EXPIRED", "Credit Expired"),
                    ("WALLET_TERMINATION", "Wallet Termination"),
                    ("MANUAL_BALANCE_DEBIT", "Manual Balance Debit"),
                    ("CREDIT_ADJUSTMENT", "Credit Adjustment"),
                    ("INVOICE_VOID_REFUND", "Invoice Void Refund"),
                    ("HOLD_CAPTURE", "Hold Capture"),
                    ("TRANSFER_OUT", "Transfer Out"),
                    ("TRANSFER_IN", "Transfer In"),
                    ("CREDIT_VOID", "Credit Void"),
                    ("CREDIT_REFUND", "Credit Refund"),
                ],
                max_length=40,
            ),
        ),
        migrations.AddConstraint(
            model_name="wallettransaction",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "transaction_reason__in",
                        [
                            "INVOICE_PAYMENT",
                            "FREE_CREDIT_GRANT",
                            "SUBSCRIPTION_CREDIT_GRANT",
                            "PURCHASED_CREDIT_INVOICED",
                            "PURCHASED_CREDIT_DIRECT",
                            "PURCHASED_CREDIT_BONUS",
                            "CREDIT_NOTE",
                            "CREDIT_EXPIRED",
                            "WALLET_TERMINATION",
                            "MANUAL_BALANCE_DEBIT",
                            "CREDIT_ADJUSTMENT",
                            "INVOICE_VOID_REFUND",
                            "HOLD_CAPTURE",
                            "TRANSFER_OUT",
                            "TRANSFER_IN",
                            "CREDIT_VOID",
                            "CREDIT_REFUND",
                        ],
                    )
                ),
                name="wallet_transaction_reason_valid",
            ),
        ),
    ]
