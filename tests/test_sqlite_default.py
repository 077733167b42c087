"""The zero-configuration default: the ledger, the web server, Celery and ./run on SQLite and the
filesystem broker, with no DATABASE_URL or REDIS_URL, exactly as on a fresh machine.

Everything runs in subprocesses, since the test process itself is configured for PostgreSQL.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow

LEDGER_SCRIPT = """
import json
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from customers.services import customer_create
from tenancy.services import environment_get_or_create
from wallets import services
from wallets.models import WalletTransaction

env = environment_get_or_create(tenant_name="smoke", environment_name="sqlite")
customer = customer_create(environment=env, external_id="smoke-1", name="Smoke Test")
wallet = services.wallet_create(customer, currency="usd", initial_credits=Decimal("100"))
seen = {"created": wallet.credit_balance}

purchase = dict(
    reason="PURCHASED_CREDIT_DIRECT", credits=Decimal("50"), priority=1,
    expiry_date=timezone.now() + timedelta(days=1), idempotency_key="smoke-top-up",
)
top_up = services.wallet_top_up(wallet, **purchase)
seen["top_up"] = top_up.wallet.credit_balance
replay = services.wallet_top_up(wallet, **purchase)
seen["replayed"] = [replay.replayed, replay.transaction.id == top_up.transaction.id, replay.wallet.credit_balance]

seen["debit"] = services.wallet_debit(
    wallet, credits=Decimal("30"), reason="INVOICE_PAYMENT", idempotency_key="smoke-debit"
).wallet.credit_balance
lots = WalletTransaction.objects.filter(wallet=wallet, type="credit")
seen["lots_after_debit"] = {"purchase": lots.get(pk=top_up.transaction.id).credits_available,
                            "initial": lots.exclude(pk=top_up.transaction.id).get().credits_available}
seen["overdraft"] = services.wallet_debit(
    wallet, credits=Decimal("200"), reason="MANUAL_BALANCE_DEBIT", idempotency_key="smoke-overdraft"
).wallet.credit_balance
repay = services.wallet_top_up(wallet, reason="FREE_CREDIT_GRANT", credits=Decimal("100"))
seen["repaid"] = [repay.wallet.credit_balance, repay.transaction.credits_available]
closed = services.wallet_terminate(wallet, reason="smoke test")
seen["terminated"] = [closed.wallet.credit_balance, closed.wallet.wallet_status]
seen["rows"] = WalletTransaction.objects.filter(wallet=wallet).count()
print("RESULT " + json.dumps(seen, default=str))
"""


def zero_config_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """A fresh machine's environment: nothing but the basics, and our own var/ directory."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
    return {**env, "DJANGO_SETTINGS_MODULE": "billing.settings", "BILLING_VAR_DIR": str(var_dir), **extra}


def manage(env: dict, *args: str, timeout: float = 60) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes_using(var_dir: Path) -> list[str]:
    """Every live process started with this BILLING_VAR_DIR, wherever it was reparented to."""
    marker = f"BILLING_VAR_DIR={var_dir}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append(f"{proc.name}: {command}")
        except OSError:  # exited meanwhile, or not ours to read
            continue
    return found


class Output:
    """Collects a process's output lines in a thread, so the test can wait for one to appear.

    The pipes are opened with errors="replace": a byte that is not UTF-8 must not end the
    reader, or the pipe fills up and every process writing to it (./run, its services) blocks.
    """

    def __init__(self, proc: subprocess.Popen):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc):
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, *parts: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if all(part in line for part in parts):
                    return line
            if not self._thread.is_alive():
                break
            time.sleep(0.1)
        pytest.fail(f"no line with {parts} in:\n" + "\n".join(self.lines[-60:]))

    @property
    def text(self) -> str:
        self._thread.join(timeout=10)
        return "\n".join(self.lines)


def get(url: str, **headers: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory) -> Path:
    """One migrated SQLite var/ for the module: migrating takes a few seconds."""
    path = tmp_path_factory.mktemp("var")
    manage(zero_config_env(path), "migrate", "--noinput", "-v0", timeout=120)
    return path


def test_ledger_runs_on_the_sqlite_default(var_dir):
    output = manage(zero_config_env(var_dir), "shell", "-c", LEDGER_SCRIPT)
    seen = json.loads(output.split("RESULT ", 1)[1])
    d = Decimal
    assert d(seen["created"]) == d(100)
    assert d(seen["top_up"]) == d(150)
    assert seen["replayed"][:2] == [True, True] and d(seen["replayed"][2]) == d(150)
    assert d(seen["debit"]) == d(120)
    # priority 1 is consumed before the initial credits, which have no priority
    assert {k: d(v) for k, v in seen["lots_after_debit"].items()} == {"purchase": d(20), "initial": d(100)}
    assert d(seen["overdraft"]) == d(-80)
    # the grant first repays the 80-credit deficit: 20 credits left, all of them in this lot
    assert [d(v) for v in seen["repaid"]] == [d(20), d(20)]
    assert [d(seen["terminated"][0]), seen["terminated"][1]] == [d(0), "closed"]
    assert seen["rows"] == 6  # initial, top-up, debit, overdraft, grant, termination; no row for the replay
    manage(zero_config_env(var_dir), "check_ledger")  # exits 1 on any drift from the ledger's invariants


def test_celery_worker_runs_a_task_on_the_filesystem_broker_and_stops_on_sigterm(var_dir):
    env = zero_config_env(var_dir)
    worker = subprocess.Popen(
        [BIN / "celery", "-A", "billing", "worker", "--loglevel", "INFO", "--concurrency", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
    )
    output = Output(worker)
    try:
        output.wait_for("filesystem://")
        output.wait_for(" ready.")
        subprocess.run(
            [BIN / "celery", "-A", "billing", "call", "celery.accumulate", "--args", "[4, 2]"],
            cwd=ROOT, env=env, check=True, capture_output=True, timeout=30,
        )
        output.wait_for("celery.accumulate", "succeeded", "(4, 2)")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert worker.returncode == 0, output.text
    assert processes_using(var_dir) == []
    # the broker keeps all its files under var/, none in the working directory
    assert (var_dir / "broker" / "control").is_dir() and not (ROOT / "control").exists()


def as_from_a_terminal() -> None:
    """In the child before exec: Ctrl-C's SIGINT at its default, as in a terminal's foreground job.

    A background job of a shell (``nohup ./test &``, or however CI starts the suite) inherits
    SIGINT ignored, and bash cannot trap a signal that was ignored when it started: ./run would
    never hear the test's Ctrl-C.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_run(var_dir: Path, port: int) -> tuple[subprocess.Popen, Output]:
    """Start ./run in a session of its own, like a terminal's foreground job, and wait until ready."""
    run = subprocess.Popen(
        [ROOT / "run"], cwd=ROOT, env=zero_config_env(var_dir, PORT=str(port)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
        preexec_fn=as_from_a_terminal,
    )
    output = Output(run)
    output.wait_for("==> Ready in", timeout=120)
    output.wait_for("[worker]", " ready.")
    output.wait_for("[beat]", "beat: Starting...")
    return run, output


def kill_leftovers(var_dir: Path) -> list[str]:
    """SIGKILL every process still running with this var/, so none outlives the test; the list of them."""
    leftovers = processes_using(var_dir)
    for line in leftovers:
        os.kill(int(line.split(":")[0]), signal.SIGKILL)
    return leftovers


def describe_processes(lines: list[str]) -> str:
    """Each 'pid: command' line with the process's state and what it waits on in the kernel."""
    described = []
    for line in lines:
        pid = line.split(":")[0]
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0]
            wchan = Path(f"/proc/{pid}/wchan").read_text()
            masks = [m for m in Path(f"/proc/{pid}/status").read_text().splitlines() if m.startswith(("SigBlk", "SigIgn"))]
        except OSError:
            state, wchan, masks = "gone", "gone", []
        described.append(f"{line} [state {state}, waiting in {wchan or '-'}, {' '.join(masks)}]")
    return "\n".join(described)


def assert_stops_cleanly(run: subprocess.Popen, output: Output, var_dir: Path, send_signal) -> None:
    """Send the signal, then check ./run exits 0 without killing anything and leaves no process."""
    try:
        send_signal()
        # ./run kills whatever has not stopped 20 s after the signal; the rest of the margin is
        # for a heavily loaded 2-core machine, where even that takes a while.
        run.wait(timeout=90)
    except subprocess.TimeoutExpired:
        # Name what is still there (state and kernel wait channel) before cleaning up.
        stuck = describe_processes(processes_using(var_dir) + [f"{run.pid}: ./run"])
        os.killpg(run.pid, signal.SIGKILL)
        pytest.fail("./run did not exit within 90 s of the signal; still running:\n" + stuck + "\n" + output.text)
    finally:
        leftovers = kill_leftovers(var_dir)
    assert run.returncode == 0, output.text
    assert "==> Stopped" in output.text
    assert "Killing" not in output.text, "a service ignored SIGTERM for 20 s"
    assert leftovers == [], output.text


def test_run_serves_on_sqlite_and_ctrl_c_stops_every_process(var_dir):
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
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group.
        assert_stops_cleanly(run, output, var_dir, lambda: os.killpg(run.pid, signal.SIGINT))


def test_run_stops_every_process_on_sigterm(var_dir):
    run, output = start_run(var_dir, free_port())
    # A service manager or `kill` signals ./run alone; its services are in sessions of their own.
    assert_stops_cleanly(run, output, var_dir, lambda: run.send_signal(signal.SIGTERM))
    assert "Demo data for demo/sandbox is already there." in output.text


def test_run_stops_everything_when_a_service_dies(var_dir):
    port = free_port()
    run, output = start_run(var_dir, port)
    try:
        for line in processes_using(var_dir):
            if "celery -A billing worker" in line:
                os.kill(int(line.split(":")[0]), signal.SIGKILL)
        run.wait(timeout=60)
    finally:
        leftovers = kill_leftovers(var_dir)
    assert run.returncode == 1, output.text
    assert "==> worker stopped unexpectedly; stopping the rest" in output.text
    assert "==> Stopped" in output.text and leftovers == []
