"""The "settle invoice" permission (mark paid, void), given to Finance; both groups may view invoices.

Like wallets 0004, this creates the permission rows it assigns (Django would only create them
after every migration has run).
"""

from django.db import migrations

SETTLE = ("settle_invoice", "Can mark invoices paid or void them")
VIEW = ("view_invoice", "Can view invoice")
GRANTS = {"Support": [VIEW], "Finance": [VIEW, SETTLE]}


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="invoices", model="invoice")
    for group_name, permissions in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for codename, name in permissions:
            permission, _ = Permission.objects.get_or_create(
                content_type=content_type, codename=codename, defaults={"name": name}
            )
            group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="invoices", codename=SETTLE[0]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0001_initial"),
        ("wallets", "0004_wallet_permissions_support_groups"),
    ]

    operations = [
        migrations.AlterModelOptions(name="invoice", options={"permissions": [SETTLE]}),
        migrations.RunPython(grant, revoke),
    ]
