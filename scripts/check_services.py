"""Fail fast, with a hint, when the test suite's PostgreSQL or Redis does not answer (used by ./test)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing.test_settings")

import django

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.utils import OperationalError  # noqa: E402

HINT = "Start it, or run .ci/run (which starts PostgreSQL and Redis, then the tests)."


def main() -> int:
    db = settings.DATABASES["default"]
    where = f"{db['USER']}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    failures = []
    try:
        connection.ensure_connection()
    except OperationalError as exc:
        failures.append(f"PostgreSQL is not reachable as {where}: {str(exc).strip()}")
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        failures.append(f"Redis is not reachable at {settings.REDIS_URL}: {exc}")
    for failure in failures:
        print(failure, file=sys.stderr)
    if failures:
        print(HINT, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
