"""Settings for the test suite: the production settings, on PostgreSQL and Redis.

The suite runs against the production stack, by default the machine's local servers;
DATABASE_URL and REDIS_URL override them. Nothing else differs from billing.settings.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/billing")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
# One test database per pytest process, so parallel runs on one machine never drop each other's.
os.environ.setdefault("TEST_DATABASE_NAME", f"test_billing_{os.getpid()}")
# Likewise one Celery queue per run, so a test's worker only takes that run's tasks.
os.environ.setdefault("CELERY_QUEUE", f"test_{os.getpid()}")

from billing.settings import *  # noqa: F403

# WhiteNoise warns on every request when the static root does not exist; tests that need the
# collected files run collectstatic themselves.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
