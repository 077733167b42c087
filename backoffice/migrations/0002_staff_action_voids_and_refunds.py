"""The staff activity log's kinds for voiding and refunding a lot's credits (issue 14.3); choices only, no SQL."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('backoffice', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='staffaction',
            name='kind',
            field=models.CharField(choices=[('top_up', 'Top-up'), ('debit', 'Manual debit'), ('freeze', 'Freeze'), ('unfreeze', 'Unfreeze'), ('terminate', 'Terminate'), ('invoice_paid', 'Invoice marked paid'), ('invoice_voided', 'Invoice voided'), ('api_key_created', 'API key created'), ('api_key_rotated', 'API key rotated'), ('api_key_revoked', 'API key revoked'), ('credits_voided', "Lot's credits voided"), ('credits_refunded', "Lot's credits refunded")], max_length=32, verbose_name='action'),
        ),
    ]
