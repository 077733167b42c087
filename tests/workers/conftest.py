"""Fixtures for the tests that run real worker and beat processes."""

import pytest
import redis
from django.conf import settings


@pytest.fixture
def queue():
    """This run's Celery queues (ledger, webhooks) on the real Redis, emptied before and after the test."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_WEBHOOK_QUEUE)
    yield client
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_WEBHOOK_QUEUE)
