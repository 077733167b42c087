"""Helpers for tests that start the zero-configuration ./run (or its parts) in subprocesses, on a
var/ directory of their own: its environment, its output, and proof that it left nothing running.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


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
    """Every live process started with this BILLING_VAR_DIR or working in it (the embedded
    PostgreSQL's processes overwrite their environment with their titles), wherever it was
    reparented to."""
    marker = f"BILLING_VAR_DIR={var_dir}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit():
                continue
            started_with_it = marker in (proc / "environ").read_bytes().split(b"\0")
            if started_with_it or Path(os.readlink(proc / "cwd")).is_relative_to(var_dir):
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
        [ROOT / "run"],
        cwd=ROOT,
        env=zero_config_env(var_dir, PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
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
        stuck = describe_processes([*processes_using(var_dir), f"{run.pid}: ./run"])
        os.killpg(run.pid, signal.SIGKILL)
        pytest.fail("./run did not exit within 90 s of the signal; still running:\n" + stuck + "\n" + output.text)
    finally:
        leftovers = kill_leftovers(var_dir)
    assert run.returncode == 0, output.text
    assert "==> Stopped" in output.text
    assert "Killing" not in output.text, "a service ignored SIGTERM for 20 s"
    assert leftovers == [], output.text
