"""Support and Finance may view alert state changes and freeze/termination history.

The customer page shows each of its sections only to staff with the view permission of its rows;
both groups have always seen these two there, so they are given the permissions the page now asks
for. Like 0004, this creates the permission rows it assigns (Django would only create them after
every migration has run); ``grant`` is idempotent, so tests that flush the database call it again.
"""

from django.db import migrations

VIEWS = [
    ("alertlog", "view_alertlog", "Can view alert state change"),
    ("walletstatuschange", "view_walletstatuschange", "Can view wallet status change"),
]
GROUPS = ["Support", "Finance"]


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    permissions = []
    for model, codename, name in VIEWS:
        content_type, _ = ContentType.objects.get_or_create(app_label="wallets", model=model)
        row, _ = Permission.objects.get_or_create(content_type=content_type, codename=codename, defaults={"name": name})
        permissions.append(row)
    for group_name in GROUPS:
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    codenames = [codename for _, codename, _ in VIEWS]
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="wallets", codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("wallets", "0007_ledger_search_indexes"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
