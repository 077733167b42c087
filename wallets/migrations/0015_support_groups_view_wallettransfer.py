"""Support and Finance may view transfers: the admin's read-only list of WalletTransfer records.

Both groups already see every ledger row, a transfer's debit and credits included (0004), and the
search box finds an ``xfer_`` id for who may view transfers; the list and each transfer's page ask
for ``view_wallettransfer``. Only Finance may make a transfer (0011). Like 0008, this creates the
permission row it assigns (Django would only create it after every migration has run); ``grant``
is idempotent, so tests that flush the database call it again.
"""

from django.db import migrations

PERMISSION = ("view_wallettransfer", "Can view wallet transfer")
GROUPS = ["Support", "Finance"]


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
        ("wallets", "0014_credit_expiry_reminders"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
