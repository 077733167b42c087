"""Who sees and who decides the four-eyes approval requests.

- "Support" and "Finance" see the requests (view_approvalrequest): staff follow their own, and
  a requester cancels their own pending request from its page.
- "Finance" alone approves or refuses (approve_request); Support only asks.

Like wallets 0004, this creates the permission rows it assigns (Django would only create them
after every migration has run); ``grant`` is idempotent, so tests that flush the database call it again.
"""

from django.db import migrations

PERMISSIONS = [
    ("view_approvalrequest", "Can view approval request"),
    ("approve_request", "Can approve or refuse approval requests (four eyes)"),
]
GROUPS = {"Support": ["view_approvalrequest"], "Finance": ["view_approvalrequest", "approve_request"]}


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="backoffice", model="approvalrequest")
    rows = {
        codename: Permission.objects.get_or_create(content_type=content_type, codename=codename, defaults={"name": name})[0]
        for codename, name in PERMISSIONS
    }
    for group_name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(*(rows[codename] for codename in codenames))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    codenames = [codename for codename, _ in PERMISSIONS]
    rows = Permission.objects.filter(content_type__app_label="backoffice", codename__in=codenames)
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*rows)


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0002_approval_requests"),
        ("wallets", "0004_wallet_permissions_support_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
