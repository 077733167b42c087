"""Scratch databases and production-like web servers for the command-line harnesses.

``database()`` creates a throw-away database the way the test runner does (migrated, named
``test_billing_<pid>`` on the server DATABASE_URL points at) and drops it afterwards;
``server()`` serves the project from a real gunicorn (tests/e2e/server.py) with DEBUG off, gthread
workers as in production, the API rate limit lifted so the harness measures the ledger rather
than the limiter, and request logging at ERROR (reliability/server_settings.py).
"""

import contextlib
import os

# The production settings plus the test defaults (local PostgreSQL and Redis db 15).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing.test_settings")

import django

django.setup()

from django.db import connection  # noqa: E402

from tests.e2e.server import gunicorn_server, live_database_url  # noqa: E402

# Enough for any harness here; the limiter has its own tests (tests/api/test_errors.py).
UNLIMITED_RATE = "1000000/min"


@contextlib.contextmanager
def database():
    """A migrated scratch database for this process; yields its URL and drops it on exit."""
    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield live_database_url()
    finally:
        connection.close()
        connection.creation.destroy_test_db(original_name, verbosity=0)


@contextlib.contextmanager
def server(database_url: str, *, workers: int = 2, threads: int = 4, **env):
    """gunicorn on ``database_url``: ``workers`` processes × ``threads`` threads, DEBUG off."""
    env.setdefault("API_RATE_LIMIT", UNLIMITED_RATE)
    env.setdefault("DJANGO_SETTINGS_MODULE", "reliability.server_settings")
    with gunicorn_server(
        database_url=database_url,
        workers=workers,
        GUNICORN_CMD_ARGS=f"--worker-class gthread --threads {threads}",
        **env,
    ) as base_url:
        yield base_url
