"""Credit notes: the refund of a paid purchased lot's unconsumed credits (issue 14).

Beyond the model's own checks, a trigger keeps the credit notes of an invoice within its total:
an aggregate no CHECK constraint can express. It locks the invoice row first, so two notes
written at once (the service already serialises them on the wallet lock) are still counted one
after the other. Support and Finance may view credit notes, as they may view invoices: the invoice
page lists them (``grant`` is idempotent, so tests that flush the database call it again).
"""

import functools
from decimal import Decimal

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import core.ids

FORWARD = """
CREATE FUNCTION invoices_credit_notes_within_total() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total numeric;
    noted numeric;
BEGIN
    SELECT amount_due INTO total FROM invoices_invoice WHERE id = NEW.invoice_id FOR UPDATE;
    SELECT COALESCE(SUM(amount), 0) INTO noted FROM invoices_creditnote
        WHERE invoice_id = NEW.invoice_id AND id <> NEW.id;
    IF noted + NEW.amount > total THEN
        RAISE EXCEPTION 'credit notes of invoice % would total % but the invoice is %', NEW.invoice_id, noted + NEW.amount, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'credit_note_within_invoice_total';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER invoices_credit_notes_within_total
    BEFORE INSERT OR UPDATE ON invoices_creditnote
    FOR EACH ROW EXECUTE FUNCTION invoices_credit_notes_within_total();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS invoices_credit_notes_within_total ON invoices_creditnote;
DROP FUNCTION IF EXISTS invoices_credit_notes_within_total();
"""

VIEW = ("view_creditnote", "Can view credit note")
GROUPS = ["Support", "Finance"]


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="invoices", model="creditnote")
    permission, _ = Permission.objects.get_or_create(content_type=content_type, codename=VIEW[0], defaults={"name": VIEW[1]})
    for group_name in GROUPS:
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(permission)


def _execute(sql: str):
    def run(apps, schema_editor):
        # No parameters: plpgsql's RAISE uses % placeholders of its own (as wallets 0002).
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0002_alter_invoice_options"),
        ("tenancy", "0003_tenant_expiry_reminders_and_approval_threshold"),
        ("wallets", "0009_ledger_reasons_for_holds_transfers_voids"),
    ]

    operations = [
        migrations.CreateModel(
            name="CreditNote",
            fields=[
                (
                    "id",
                    models.CharField(
                        default=functools.partial(core.ids.new_id, *("cn",), **{}),
                        editable=False,
                        max_length=50,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("credits", models.DecimalField(decimal_places=9, default=Decimal("0"), max_digits=20)),
                ("amount", models.DecimalField(decimal_places=9, default=Decimal("0"), max_digits=20)),
                ("currency", models.CharField(max_length=3)),
                ("reason", models.TextField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("created_by", models.CharField(blank=True, max_length=100)),
                (
                    "environment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="tenancy.environment"
                    ),
                ),
                (
                    "invoice",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="credit_notes", to="invoices.invoice"
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="tenancy.tenant"),
                ),
                (
                    "wallet_transaction",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_note",
                        to="wallets.wallettransaction",
                    ),
                ),
            ],
            options={
                "ordering": ["created_at", "id"],
                "indexes": [models.Index(fields=["invoice", "created_at"], name="credit_note_invoice_idx")],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("amount__gt", 0)), name="credit_note_amount_positive"),
                    models.CheckConstraint(condition=models.Q(("credits__gt", 0)), name="credit_note_credits_positive"),
                ],
            },
        ),
        migrations.RunPython(_execute(FORWARD), _execute(BACKWARD)),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
