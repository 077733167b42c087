"""Settings refuse replica timings under which a caller could read a replica without its own write."""

import os
import subprocess
import sys

import pytest

from tests.e2e.server import PROJECT_DIR


def load_settings(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=PROJECT_DIR, capture_output=True, text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "billing.test_settings",
             "DATABASE_REPLICA_URL": "postgres://postgres@127.0.0.1:5432/replica", **env},
    )  # fmt: skip


@pytest.mark.parametrize("read_your_writes, loads", [("3", False), ("4", True)])
def test_read_your_writes_must_outlast_the_lag_bound_plus_the_check_interval(read_your_writes, loads):
    # given a lag bound of 2 s checked every 1 s: a replica in use may be up to 3 s behind a write
    result = load_settings(REPLICA_MAX_LAG_SECONDS="2", REPLICA_CHECK_INTERVAL_SECONDS="1",
                           REPLICA_READ_YOUR_WRITES_SECONDS=read_your_writes)  # fmt: skip
    # then reads stay on the primary for longer than that after a write, or the settings do not load
    assert (result.returncode == 0) == loads, result.stderr
    if not loads:
        assert "ImproperlyConfigured: REPLICA_READ_YOUR_WRITES_SECONDS (3) must exceed" in result.stderr
