"""Store the schedules added since 0002 (the expiry reminder sweep): 0001's ``create`` again, which skips those already stored."""

import importlib

from django.db import migrations

initial = importlib.import_module("scheduling.migrations.0001_default_schedules")


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task="wallets.tasks.credit_expiry_reminders_task").delete()


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0002_holds_expire_schedule")]

    operations = [migrations.RunPython(initial.create, remove)]
