"""Per-action admin permissions on Wallet, and the two staff groups that hold them.

- "Support": sees customers, wallets and the ledger; tops up (up to SUPPORT_TOP_UP_LIMIT credits
  per wallet per top-up), freezes, unfreezes, exports the ledger as CSV.
- "Finance": the same, plus every money movement without the limit: top-ups of any size,
  manual debits, terminations.

Django creates permissions only after all migrations have run (post_migrate), so this migration
creates the rows it assigns itself. ``create_support_groups`` is idempotent: tests that flush the
database (live-server tests) call it again to restore the groups.
"""

from django.db import migrations

WALLET_PERMISSIONS = [
    ("top_up_wallet", "Can top up wallets (up to SUPPORT_TOP_UP_LIMIT credits each)"),
    ("top_up_wallet_unlimited", "Can top up wallets above SUPPORT_TOP_UP_LIMIT"),
    ("debit_wallet", "Can debit wallets manually"),
    ("freeze_wallet", "Can freeze wallets"),
    ("unfreeze_wallet", "Can unfreeze wallets"),
    ("terminate_wallet", "Can terminate wallets"),
    ("export_transactions", "Can export wallet transactions as CSV"),
]

# (app_label, model, codename, name): the rows each group is given.
VIEW_PERMISSIONS = [
    ("customers", "customer", "view_customer", "Can view customer"),
    ("wallets", "wallet", "view_wallet", "Can view wallet"),
    ("wallets", "wallettransaction", "view_wallettransaction", "Can view wallet transaction"),
]
SUPPORT_ACTIONS = ["top_up_wallet", "freeze_wallet", "unfreeze_wallet", "export_transactions"]
FINANCE_ACTIONS = [codename for codename, _ in WALLET_PERMISSIONS]

GROUPS = {"Support": SUPPORT_ACTIONS, "Finance": FINANCE_ACTIONS}


def create_support_groups(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")

    def permission(app_label, model, codename, name):
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        row, _ = Permission.objects.get_or_create(content_type=content_type, codename=codename, defaults={"name": name})
        return row

    views = [permission(*spec) for spec in VIEW_PERMISSIONS]
    actions = {codename: permission("wallets", "wallet", codename, name) for codename, name in WALLET_PERMISSIONS}
    for group_name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(*views, *(actions[codename] for codename in codenames))


def delete_support_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("wallets", "0003_alertlog"),
        ("customers", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(name="wallet", options={"permissions": WALLET_PERMISSIONS}),
        migrations.RunPython(create_support_groups, delete_support_groups),
    ]
