"""Holds (issue 14, part 1): WalletHold, HoldEarmark, Wallet.held_credits, and their guards.

- The ledger's append-only trigger (migration 0002) let a settled lot's credits_available only go
  down. A hold takes credits out of its lots and gives back what it does not capture, so a lot
  may now rise, but never above what its open earmarks hold: the credits coming back must have
  been reserved (the services zero the earmark after returning its credits).
- Earmarks are never deleted, and an update may only lower ``credits`` (to zero when the hold
  closes); every other column is fixed.
- Support may release a stuck hold from the admin: the ``release_hold`` permission, granted to
  the Support group (created here if needed, like 0004 and 0008; ``grant`` is idempotent, so tests
  that flush the database call it again).
"""

import functools
import importlib
from decimal import Decimal

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import core.ids

LEDGER_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION wallets_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger row % is append-only and cannot be deleted', OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    IF {fixed_new} IS DISTINCT FROM {fixed_old} THEN
        RAISE EXCEPTION 'ledger row % is append-only: only credits_available and a pending status may change', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.transaction_status = 'pending' THEN
        RETURN NEW;  -- completing or failing a pending credit assigns its balances and sequence
    END IF;
    IF NEW.transaction_status <> OLD.transaction_status
       OR NEW.sequence IS DISTINCT FROM OLD.sequence
       OR NEW.credit_balance_before <> OLD.credit_balance_before
       OR NEW.credit_balance_after <> OLD.credit_balance_after THEN
        RAISE EXCEPTION 'ledger row % is settled: its balances are fixed and its credits can only go down', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    -- Nested, so a debit (credits going down) never runs the earmark query.
    IF NEW.credits_available > OLD.credits_available THEN
        IF NEW.credits_available > OLD.credits_available + COALESCE(
               (SELECT SUM(credits) FROM wallets_holdearmark WHERE lot_id = OLD.id), 0) THEN
            RAISE EXCEPTION 'ledger row % is settled: its credits can only go down, or come back from its open holds', OLD.id
                USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;
"""

EARMARK_GUARD = """
CREATE FUNCTION wallets_earmark_only_shrinks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'hold earmark % cannot be deleted', OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.id, NEW.hold_id, NEW.lot_id, NEW.position, NEW.earmarked) IS DISTINCT FROM
       (OLD.id, OLD.hold_id, OLD.lot_id, OLD.position, OLD.earmarked) OR NEW.credits > OLD.credits THEN
        RAISE EXCEPTION 'hold earmark % can only give its credits back', OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER wallets_earmark_only_shrinks
    BEFORE UPDATE OR DELETE ON wallets_holdearmark
    FOR EACH ROW EXECUTE FUNCTION wallets_earmark_only_shrinks();
"""

EARMARK_GUARD_BACKWARD = """
DROP TRIGGER IF EXISTS wallets_earmark_only_shrinks ON wallets_holdearmark;
DROP FUNCTION IF EXISTS wallets_earmark_only_shrinks();
"""


def _ledger_guard(forward: bool):
    guards = importlib.import_module("wallets.migrations.0002_postgresql_ledger_guards")

    def run(apps, schema_editor):
        if forward:
            sql = LEDGER_APPEND_ONLY.format(fixed_new=guards._row("NEW"), fixed_old=guards._row("OLD")) + EARMARK_GUARD
        else:  # 0002's function again, as it was
            original = guards.FORWARD[guards.FORWARD.index("CREATE FUNCTION wallets_ledger_append_only()") :]
            original = original[: original.index("CREATE TRIGGER wallets_ledger_append_only")]
            sql = EARMARK_GUARD_BACKWARD + original.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
        # No parameters: plpgsql's RAISE uses % placeholders of its own.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)

    return run


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="wallets", model="wallet")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename="release_hold", defaults={"name": "Can release a wallet's open holds"}
    )
    group, _ = Group.objects.get_or_create(name="Support")
    group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="Support"):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="wallets", codename="release_hold"))


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("tenancy", "0003_tenant_expiry_reminders_and_approval_threshold"),
        ("wallets", "0012_voids"),
    ]

    operations = [
        migrations.CreateModel(
            name="HoldEarmark",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveIntegerField()),
                ("earmarked", models.DecimalField(decimal_places=9, default=Decimal("0"), max_digits=20)),
                ("credits", models.DecimalField(decimal_places=9, default=Decimal("0"), max_digits=20)),
            ],
            options={
                "ordering": ["hold", "position"],
            },
        ),
        migrations.CreateModel(
            name="WalletHold",
            fields=[
                (
                    "id",
                    models.CharField(
                        default=functools.partial(core.ids.new_id, *("hold",)),
                        editable=False,
                        max_length=50,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("credits", models.DecimalField(decimal_places=9, default=Decimal("0"), max_digits=20)),
                ("captured_credits", models.DecimalField(decimal_places=9, default=Decimal("0"), max_digits=20)),
                (
                    "hold_status",
                    models.CharField(
                        choices=[("held", "Held"), ("captured", "Captured"), ("released", "Released"), ("expired", "Expired")],
                        default="held",
                        max_length=20,
                    ),
                ),
                ("expires_at", models.DateTimeField()),
                ("idempotency_key", models.CharField(max_length=255)),
                ("request_fingerprint", models.CharField(max_length=64)),
                ("close_idempotency_key", models.CharField(blank=True, max_length=255, null=True)),
                ("close_fingerprint", models.CharField(blank=True, max_length=64)),
                ("description", models.TextField(blank=True)),
                ("metadata", models.JSONField(blank=True, default=dict)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("created_by", models.CharField(blank=True, max_length=100)),
                ("updated_by", models.CharField(blank=True, max_length=100)),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.AlterModelOptions(
            name="wallet",
            options={
                "permissions": [
                    ("top_up_wallet", "Can top up wallets (up to SUPPORT_TOP_UP_LIMIT credits each)"),
                    ("top_up_wallet_unlimited", "Can top up wallets above SUPPORT_TOP_UP_LIMIT"),
                    ("debit_wallet", "Can debit wallets manually"),
                    ("freeze_wallet", "Can freeze wallets"),
                    ("unfreeze_wallet", "Can unfreeze wallets"),
                    ("terminate_wallet", "Can terminate wallets"),
                    ("export_transactions", "Can export wallet transactions as CSV"),
                    ("release_hold", "Can release a wallet's open holds"),
                ]
            },
        ),
        migrations.AddField(
            model_name="wallet",
            name="held_credits",
            field=models.DecimalField(decimal_places=9, default=Decimal("0"), max_digits=20),
        ),
        migrations.AddConstraint(
            model_name="wallet",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("held_credits", 0),
                    models.Q(("held_credits__gt", 0), ("held_credits__lte", models.F("credit_balance"))),
                    _connector="OR",
                ),
                name="wallet_held_credits_within_balance",
            ),
        ),
        migrations.AddField(
            model_name="holdearmark",
            name="lot",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="earmarks", to="wallets.wallettransaction"
            ),
        ),
        migrations.AddField(
            model_name="wallethold",
            name="capture_transaction",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="captured_hold",
                to="wallets.wallettransaction",
            ),
        ),
        migrations.AddField(
            model_name="wallethold",
            name="customer",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="customers.customer"),
        ),
        migrations.AddField(
            model_name="wallethold",
            name="environment",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="tenancy.environment"),
        ),
        migrations.AddField(
            model_name="wallethold",
            name="tenant",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="tenancy.tenant"),
        ),
        migrations.AddField(
            model_name="wallethold",
            name="wallet",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="holds", to="wallets.wallet"),
        ),
        migrations.AddField(
            model_name="holdearmark",
            name="hold",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="earmarks", to="wallets.wallethold"
            ),
        ),
        migrations.AddIndex(
            model_name="wallethold",
            index=models.Index(fields=["wallet", "-created_at", "-id"], name="wallet_hold_wallet_created_idx"),
        ),
        migrations.AddIndex(
            model_name="wallethold",
            index=models.Index(
                condition=models.Q(("hold_status", "held")), fields=["expires_at"], name="wallet_hold_open_expiry_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="wallethold",
            constraint=models.UniqueConstraint(
                fields=("environment", "idempotency_key"), name="wallet_hold_unique_idempotency_key"
            ),
        ),
        migrations.AddConstraint(
            model_name="wallethold",
            constraint=models.UniqueConstraint(
                condition=models.Q(("close_idempotency_key__isnull", False)),
                fields=("environment", "close_idempotency_key"),
                name="wallet_hold_unique_close_idempotency_key",
            ),
        ),
        migrations.AddConstraint(
            model_name="wallethold",
            constraint=models.CheckConstraint(condition=models.Q(("credits__gt", 0)), name="wallet_hold_credits_positive"),
        ),
        migrations.AddConstraint(
            model_name="wallethold",
            constraint=models.CheckConstraint(
                condition=models.Q(("captured_credits__gte", 0), ("captured_credits__lte", models.F("credits"))),
                name="wallet_hold_captured_within_credits",
            ),
        ),
        migrations.AddConstraint(
            model_name="wallethold",
            constraint=models.CheckConstraint(
                condition=models.Q(("hold_status__in", ["held", "captured", "released", "expired"])),
                name="wallet_hold_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="wallethold",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("capture_transaction__isnull", False), ("captured_credits__gt", 0), ("hold_status", "captured")),
                    models.Q(
                        models.Q(("hold_status", "captured"), _negated=True),
                        ("capture_transaction__isnull", True),
                        ("captured_credits", 0),
                    ),
                    _connector="OR",
                ),
                name="wallet_hold_capture_has_its_row",
            ),
        ),
        migrations.AddConstraint(
            model_name="wallethold",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("close_idempotency_key__isnull", True), ("closed_at__isnull", True), ("hold_status", "held")),
                    models.Q(models.Q(("hold_status", "held"), _negated=True), ("closed_at__isnull", False)),
                    _connector="OR",
                ),
                name="wallet_hold_closed_when_not_held",
            ),
        ),
        migrations.AddIndex(
            model_name="holdearmark",
            index=models.Index(condition=models.Q(("credits__gt", 0)), fields=["lot"], name="hold_earmark_open_lot_idx"),
        ),
        migrations.AddConstraint(
            model_name="holdearmark",
            constraint=models.UniqueConstraint(fields=("hold", "lot"), name="hold_earmark_unique_lot"),
        ),
        migrations.AddConstraint(
            model_name="holdearmark",
            constraint=models.UniqueConstraint(fields=("hold", "position"), name="hold_earmark_unique_position"),
        ),
        migrations.AddConstraint(
            model_name="holdearmark",
            constraint=models.CheckConstraint(condition=models.Q(("earmarked__gt", 0)), name="hold_earmark_earmarked_positive"),
        ),
        migrations.AddConstraint(
            model_name="holdearmark",
            constraint=models.CheckConstraint(
                condition=models.Q(("credits__gte", 0), ("credits__lte", models.F("earmarked"))),
                name="hold_earmark_credits_within_earmarked",
            ),
        ),
        migrations.RunPython(_ledger_guard(forward=True), _ledger_guard(forward=False)),
        migrations.RunPython(grant, revoke),
    ]
