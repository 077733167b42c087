"""A real gunicorn serving billing.wsgi in a subprocess, for tests that drive the API over HTTP.

``gunicorn_server(database_url=...)`` starts it on a free loopback port with DEBUG off, waits for
/healthz and yields the base URL (``http://127.0.0.1:PORT``). ``live_api`` is a module-scoped
fixture pointing it at pytest-django's test database: tests that use it must commit their data
(``transactional_db``) for the server's own connections to see it.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

PROJECT_DIR = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def live_database_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextlib.contextmanager
def gunicorn_server(*, database_url: str, workers: int = 2, log_path: Path | None = None, **env):
    """A served billing.wsgi (see the module docstring); its output goes to ``log_path`` when given."""
    port = _free_port()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "billing.test_settings",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    command = [
        sys.executable, "-m", "gunicorn", "billing.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "60", "--log-level", "warning", "--preload",
    ]  # fmt: skip
    # A process group of its own, so the teardown reaches the workers too (an orphaned worker once
    # outlived its master and held the test database open).
    output = open(log_path, "ab") if log_path else None  # noqa: SIM115 - closed with the server below
    process = subprocess.Popen(command, cwd=PROJECT_DIR, env=environment, start_new_session=True, stdout=output, stderr=output)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode} before serving")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer /healthz within {START_TIMEOUT_SECONDS} s")
            time.sleep(0.1)
        yield base_url
    finally:
        process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown; tests wait on nothing in flight
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(ProcessLookupError):  # whatever of the group is still there
            os.killpg(process.pid, signal.SIGKILL)
        if output:
            output.close()


@pytest.fixture(scope="module")
def live_api(django_db_setup):
    """Base URL of a gunicorn on the test database; stopped before the database is dropped."""
    with gunicorn_server(database_url=live_database_url()) as base_url:
        yield base_url
