"""The default beat schedules exist in the database and point at registered tasks."""

import pytest
from django_celery_beat.models import PeriodicTask

from billing.celery import app
from scheduling.schedules import default_schedules

pytestmark = pytest.mark.django_db


def test_every_default_schedule_is_stored_and_runs_a_registered_task():
    app.loader.import_default_modules()
    stored = {task.name: task for task in PeriodicTask.objects.select_related("interval")}
    for entry in default_schedules():
        task = stored[entry["name"]]
        assert task.enabled
        assert task.task == entry["task"]
        assert task.task in app.tasks, f"{task.task} is not a registered Celery task"
        assert task.interval.every == entry["every_seconds"]


def test_celery_is_configured_for_at_least_once_work():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
