"""Transfers between a customer's wallets (issue 14): the WalletTransfer record, the
TRANSFER_IN_PURCHASED reason (a purchased lot moved to another wallet stays purchased), and the
``transfer_credits`` permission, given to "Finance" (a transfer debits a wallet, and only Finance
may debit: migration 0004). Like 0008, ``grant`` creates the permission row it assigns (Django
would only create it after every migration) and is idempotent, so tests that flush the database
call it again.
"""

import core.ids
import django.db.models.deletion
import django.utils.timezone
import functools
from decimal import Decimal
from django.db import migrations, models

GROUPS = ["Finance"]
PERMISSION = ("transfer_credits", "Can transfer credits between wallets of a customer")


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="wallets", model="wallettransfer")
    codename, name = PERMISSION
    permission, _ = Permission.objects.get_or_create(content_type=content_type, codename=codename, defaults={"name": name})
    for group_name in GROUPS:
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="wallets", codename=PERMISSION[0]))


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0001_initial'),
        ('tenancy', '0003_tenant_expiry_reminders_and_approval_threshold'),
        ('wallets', '0009_ledger_reasons_for_holds_transfers_voids'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.CreateModel(
            name='WalletTransfer',
            fields=[
                ('id', models.CharField(default=functools.partial(core.ids.new_id, *('xfer',), **{}), editable=False, max_length=50, primary_key=True, serialize=False)),
                ('credits', models.DecimalField(decimal_places=9, default=Decimal('0'), max_digits=20)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('created_by', models.CharField(blank=True, max_length=100)),
            ],
            options={
                'permissions': [('transfer_credits', 'Can transfer credits between wallets of a customer')],
            },
        ),
        migrations.RemoveConstraint(
            model_name='wallettransaction',
            name='wallet_transaction_reason_valid',
        ),
        migrations.AlterField(
            model_name='wallettransaction',
            name='transaction_reason',
            field=models.CharField(choices=[('INVOICE_PAYMENT', 'Invoice Payment'), ('FREE_CREDIT_GRANT', 'Free Credit Grant'), ('SUBSCRIPTION_CREDIT_GRANT', 'Subscription Credit Grant'), ('PURCHASED_CREDIT_INVOICED', 'Purchased Credit Invoiced'), ('PURCHASED_CREDIT_DIRECT', 'Purchased Credit Direct'), ('PURCHASED_CREDIT_BONUS', 'Purchased Credit Bonus'), ('CREDIT_NOTE', 'Credit Note'), ('CREDIT_EXPIRED', 'Credit Expired'), ('WALLET_TERMINATION', 'Wallet Termination'), ('MANUAL_BALANCE_DEBIT', 'Manual Balance Debit'), ('CREDIT_ADJUSTMENT', 'Credit Adjustment'), ('INVOICE_VOID_REFUND', 'Invoice Void Refund'), ('HOLD_CAPTURE', 'Hold Capture'), ('TRANSFER_OUT', 'Transfer Out'), ('TRANSFER_IN', 'Transfer In'), ('TRANSFER_IN_PURCHASED', 'Transfer In Purchased'), ('CREDIT_VOID', 'Credit Void'), ('CREDIT_REFUND', 'Credit Refund')], max_length=40),
        ),
        migrations.AddConstraint(
            model_name='wallettransaction',
            constraint=models.CheckConstraint(condition=models.Q(('transaction_reason__in', ['INVOICE_PAYMENT', 'FREE_CREDIT_GRANT', 'SUBSCRIPTION_CREDIT_GRANT', 'PURCHASED_CREDIT_INVOICED', 'PURCHASED_CREDIT_DIRECT', 'PURCHASED_CREDIT_BONUS', 'CREDIT_NOTE', 'CREDIT_EXPIRED', 'WALLET_TERMINATION', 'MANUAL_BALANCE_DEBIT', 'CREDIT_ADJUSTMENT', 'INVOICE_VOID_REFUND', 'HOLD_CAPTURE', 'TRANSFER_OUT', 'TRANSFER_IN', 'TRANSFER_IN_PURCHASED', 'CREDIT_VOID', 'CREDIT_REFUND'])), name='wallet_transaction_reason_valid'),
        ),
        migrations.AddField(
            model_name='wallettransfer',
            name='customer',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.customer'),
        ),
        migrations.AddField(
            model_name='wallettransfer',
            name='debit',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='transfer', to='wallets.wallettransaction'),
        ),
        migrations.AddField(
            model_name='wallettransfer',
            name='environment',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.environment'),
        ),
        migrations.AddField(
            model_name='wallettransfer',
            name='from_wallet',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='transfers_out', to='wallets.wallet'),
        ),
        migrations.AddField(
            model_name='wallettransfer',
            name='tenant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.tenant'),
        ),
        migrations.AddField(
            model_name='wallettransfer',
            name='to_wallet',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='transfers_in', to='wallets.wallet'),
        ),
        migrations.AddIndex(
            model_name='wallettransfer',
            index=models.Index(fields=['environment', '-created_at'], name='wxfer_env_created_idx'),
        ),
        migrations.AddConstraint(
            model_name='wallettransfer',
            constraint=models.CheckConstraint(condition=models.Q(('credits__gt', 0)), name='wallet_transfer_credits_positive'),
        ),
        migrations.AddConstraint(
            model_name='wallettransfer',
            constraint=models.CheckConstraint(condition=models.Q(('from_wallet', models.F('to_wallet')), _negated=True), name='wallet_transfer_two_wallets'),
        ),
        migrations.RunPython(grant, revoke),
    ]
