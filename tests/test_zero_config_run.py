"""The zero-configuration ./run: its embedded PostgreSQL, the filesystem broker, and ./run itself
serving and stopping, with no DATABASE_URL or REDIS_URL, exactly as on a fresh machine.

Everything runs in subprocesses, since the test process itself is configured for the test
database. The module shares one var/ directory: the first ./run initialises its cluster, the
later ones start the existing one.
"""

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.zero_config import (
    BIN,
    ROOT,
    Output,
    assert_stops_cleanly,
    free_port,
    get,
    kill_leftovers,
    manage,
    processes_using,
    start_run,
    zero_config_env,
)

pytestmark = pytest.mark.slow

# Run through manage.py shell while ./run serves: the database it uses, and the ledger's guards
# from migration wallets/0002 (the append-only trigger) in force there.
DATABASE_SCRIPT = """
import json
from django.db import connection, transaction
from django.db.utils import DatabaseError
from wallets.models import WalletTransaction

seen = {"vendor": connection.vendor, "version": connection.pg_version}
row = WalletTransaction.objects.order_by("created_at").first()
seen["row"] = row.pk
with connection.cursor() as cursor:
    try:
        with transaction.atomic():
            cursor.execute("DELETE FROM wallets_wallettransaction WHERE id = %s", [row.pk])
    except DatabaseError as error:
        seen["delete"] = str(error).splitlines()[0]
    cursor.execute("SELECT conname FROM pg_constraint WHERE conname = 'wallet_balance_is_credits_times_rate'")
    seen["balance_check"] = cursor.fetchall()
print("RESULT " + json.dumps(seen))
"""


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory) -> Path:
    """One var/ for the module: the first ./run initialises the cluster in it (a few seconds)."""
    return tmp_path_factory.mktemp("var")


def test_celery_worker_runs_a_task_on_the_filesystem_broker_and_stops_on_sigterm(var_dir):
    env = zero_config_env(var_dir)
    worker = subprocess.Popen(
        [BIN / "celery", "-A", "billing", "worker", "--loglevel", "INFO", "--concurrency", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    output = Output(worker)
    try:
        output.wait_for("filesystem://")
        output.wait_for(" ready.")
        subprocess.run(
            [BIN / "celery", "-A", "billing", "call", "celery.accumulate", "--args", "[4, 2]"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=30,
        )
        output.wait_for("celery.accumulate", "succeeded", "(4, 2)")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert worker.returncode == 0, output.text
    assert processes_using(var_dir) == []
    # the broker keeps all its files under var/, none in the working directory
    assert (var_dir / "broker" / "control").is_dir() and not (ROOT / "control").exists()


def test_run_serves_on_the_embedded_postgresql_and_ctrl_c_stops_every_process(var_dir):
    port = free_port()
    run, output = start_run(var_dir, port)
    try:
        base = f"http://127.0.0.1:{port}"
        assert get(f"{base}/healthz")[0] == 200
        status, page = get(f"{base}/admin/login/")
        assert status == 200 and "csrfmiddlewaretoken" in page
        key = (var_dir / "demo_api_key").read_text().strip()
        assert key in output.wait_for("x-api-key:")
        assert (var_dir / "admin_password").read_text().strip() in output.wait_for("Admin:")
        status, body = get(f"{base}/v1/customers", **{"x-api-key": key})
        assert status == 200 and "demo-customer-1" in body
        assert get(f"{base}/v1/customers")[0] == 401
        output.wait_for("[db]", "listening on Unix socket", f"{var_dir}/postgres/.s.PGSQL.5432")
        assert not any("listening on IPv" in line for line in output.lines)  # no TCP port
        seen = json.loads(manage(zero_config_env(var_dir), "shell", "-c", DATABASE_SCRIPT).split("RESULT ", 1)[1])
        assert seen["vendor"] == "postgresql" and seen["version"] >= 150000
        assert seen.get("delete") == f"ledger row {seen['row']} is append-only and cannot be deleted", seen
        assert seen["balance_check"] == [["wallet_balance_is_credits_times_rate"]]
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group.
        assert_stops_cleanly(run, output, var_dir, lambda: os.killpg(run.pid, signal.SIGINT))


def test_run_stops_every_process_on_sigterm(var_dir):
    run, output = start_run(var_dir, free_port())
    # A service manager or `kill` signals ./run alone; its services are in sessions of their own.
    assert_stops_cleanly(run, output, var_dir, lambda: run.send_signal(signal.SIGTERM))
    assert "Demo data for demo/sandbox is already there." in output.text


@pytest.mark.parametrize(("service", "command"), [("worker", "celery -A billing worker"), ("db", "bin/postgres -D")])
def test_run_stops_everything_when_a_service_dies(var_dir, service, command):
    port = free_port()
    run, output = start_run(var_dir, port)
    try:
        for line in processes_using(var_dir):
            if command in line:
                os.kill(int(line.split(":")[0]), signal.SIGKILL)
        run.wait(timeout=60)
    finally:
        leftovers = kill_leftovers(var_dir)
    assert run.returncode == 1, output.text
    assert f"==> {service} stopped unexpectedly; stopping the rest" in output.text
    assert "==> Stopped" in output.text and leftovers == []
