"""The staff permissions to void a lot's remaining credits and to refund a paid purchased lot (issue 14).

Void goes to Support and Finance (taking back a grant made in error is everyday support work);
refund goes to Finance alone, since it issues a credit note: money owed back on an invoice.
Like 0004 and 0008, this creates the permission rows it assigns (Django would only create them
after every migration has run); ``grant`` is idempotent, so tests that flush the database call it again.
"""

from django.db import migrations

VOID = ("void_credits", "Can void the remaining credits of a lot")
REFUND = ("refund_credits", "Can refund the remaining credits of a paid purchased lot")
GRANTS = {"Support": [VOID], "Finance": [VOID, REFUND]}


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="wallets", model="wallettransaction")
    for group_name, permissions in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for codename, name in permissions:
            permission, _ = Permission.objects.get_or_create(
                content_type=content_type, codename=codename, defaults={"name": name}
            )
            group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="wallets", codename__in=[VOID[0], REFUND[0]]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("wallets", "0009_ledger_reasons_for_holds_transfers_voids"),
    ]

    operations = [
        migrations.AlterModelOptions(name="wallettransaction", options={"permissions": [VOID, REFUND]}),
        migrations.RunPython(grant, revoke),
    ]
