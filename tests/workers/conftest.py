"""Fixtures for the tests that run real worker and beat processes."""

import pytest
import redis
from django.conf import settings

from tests.workers.worker_process import WorkerProcess


@pytest.fixture
def queue():
    """This run's Celery queues (ledger, webhooks) on the real Redis, emptied before and after the test."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_WEBHOOK_QUEUE)
    yield client
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_WEBHOOK_QUEUE)


@pytest.fixture
def worker(tmp_path):
    """A real Celery worker process on this run's queues, stopped after the test."""
    process = WorkerProcess(tmp_path / "worker.log")
    yield process
    process.stop()
