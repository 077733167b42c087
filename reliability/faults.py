"""Faults under load (reliability.md §3.2, §3.3): ``python -m reliability.faults``.

Everything runs against PRIVATE servers this command starts and removes: a PostgreSQL 15 cluster
``chaos`` on port 5440 (pg_createcluster) and a redis-server on port 6390, so the shared servers
are never stopped. A real gunicorn (2 gthread workers × 4 threads, DEBUG off) serves a scratch
database on that cluster.

Each scenario seeds its own tenant, starts two client processes of reliability/history.py at a
light pace (each retries an unknown operation with the same key for up to PATIENCE seconds), injects
its fault while they run, waits for them, and checks the history against the ledger:

- worker-kill     SIGKILL a gunicorn worker mid-request, six times;
- pg-restart      ``pg_ctlcluster 15 chaos restart -m fast``;
- pg-crash        ``stop -m immediate`` (a crash: WAL recovery on start), 5 s down, start;
- pg-terminate    ``pg_terminate_backend`` on every app connection, ten times, mid-transaction;
- redis-restart   SIGKILL redis-server (no persistence), 5 s down, start;
- redis-hang      SIGSTOP redis-server for 10 s (it hangs instead of refusing), then SIGCONT;
- durability      200 acknowledged top-ups, then a crash: all 200 must be there (§3.3).

Figures per scenario: the history checker's (acknowledged-but-missing, duplicate effects,
unresolved unknowns, invariant problems: all 0), the answers by status during the outage (503 or a
connection error; any other 5xx is a violation) and the seconds from the end of the fault to the
first acknowledged write (for redis-hang also the slowest answer: at most MAX_HANG_SECONDS). Exit
status 1 if any scenario has a violation.
"""

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from reliability import history

PG_VERSION, PG_CLUSTER, PG_PORT = "15", "chaos", 5440
REDIS_PORT = 6390
PATIENCE = 40.0  # seconds a client keeps retrying an unknown operation
OUTAGE_SECONDS = 5.0
# A hung dependency may hold a request this long at most (reliability.md §3.2 F4).
MAX_HANG_SECONDS = 5.0


# ------------------------------------------------------------------------------------------------
# Private servers


def pg_ctl(action: str, *options: str) -> None:
    subprocess.run(["pg_ctlcluster", PG_VERSION, PG_CLUSTER, action, *options], check=True, capture_output=True)


def _cluster_exists() -> bool:
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    return any(line.split()[:2] == [PG_VERSION, PG_CLUSTER] for line in listing.splitlines())


@contextlib.contextmanager
def private_postgres():
    """A throw-away cluster on PG_PORT with trust auth on loopback; yields its DATABASE_URL."""
    if _cluster_exists():  # left over from an interrupted run: it is ours, by name and port
        subprocess.run(["pg_dropcluster", PG_VERSION, PG_CLUSTER, "--stop"], check=True)
    subprocess.run(
        ["pg_createcluster", PG_VERSION, PG_CLUSTER, "-p", str(PG_PORT), "--start",
         "--", "--auth-host=trust", "--auth-local=trust"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgres://postgres@127.0.0.1:{PG_PORT}/billing"
    finally:
        subprocess.run(["pg_dropcluster", PG_VERSION, PG_CLUSTER, "--stop"], check=False)


class PrivateRedis:
    """redis-server on REDIS_PORT without persistence, as the CI machine's own runs."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{REDIS_PORT}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self.answers, timeout=10, what="redis-server to answer")

    def answers(self) -> bool:
        result = subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "ping"], capture_output=True, text=True)
        return result.stdout.strip() == "PONG"

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


def wait_until(predicate, *, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def gunicorn_workers(base_url: str) -> list[int]:
    """The worker pids of the gunicorn serving ``base_url`` (children of its master)."""
    bind = base_url.removeprefix("http://")
    serving = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        if b"gunicorn" in b" ".join(command) and bind.encode() in command:
            serving[int(entry.name)] = parent
    return [pid for pid, parent in serving.items() if parent in serving]


# ------------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Outcome:
    name: str
    figures: dict = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)


class Load:
    """Two paced client processes of reliability/history.py writing into one scenario's tenant."""

    def __init__(self, name: str, base_url: str, workdir: Path, *, operations: int = 500, pace: float = 0.02):
        self.world = history.seed_world(name=name, wallets=6, clients=2)
        self.plans = history.plan_clients(
            self.world, base_url=base_url, operations=operations, clients=2, workdir=workdir / name, seed=7,
            pace=pace, patience=PATIENCE, short_timeout_share=0.0,
        )  # fmt: skip
        self.processes = history.start_clients(self.plans)
        self.started = time.time()

    def finish(self, outcome: Outcome, *, fault: tuple[float, float] | None = None) -> Outcome:
        history.join_clients(self.processes)
        entries = history.read_history(plan.history_path for plan in self.plans)
        from django.db import connections

        connections.close_all()  # the cluster may have restarted under this process's connection
        verdict = history.verify(self.world, entries)
        outcome.figures.update(verdict.figures)
        outcome.violations += verdict.violations
        if fault is not None:
            outcome.figures.update(outage_figures(entries, *fault))
        outcome.figures["client seconds"] = round(time.time() - self.started, 1)
        return outcome


def outage_figures(entries: list[dict], fault_start: float, fault_end: float) -> dict:
    """What clients were told while the fault lasted, and how long until the first ok after it."""
    during = Counter(
        str(entry.get("status") or entry.get("error")) for entry in entries if fault_start <= entry["t1"] <= fault_end + 1
    )
    after_ok = [entry["t1"] for entry in entries if entry["phase"] == "ok" and entry["t0"] >= fault_end]
    overlapping = [entry["t1"] - entry["t0"] for entry in entries if entry["t0"] <= fault_end and entry["t1"] >= fault_start]
    return {
        "answers during the fault": dict(during),
        "seconds to the first ok after the fault": round(min(after_ok) - fault_end, 2) if after_ok else None,
        "slowest answer during the fault (s)": round(max(overlapping, default=0.0), 2),
    }


def scenario_worker_kill(base_url: str, workdir: Path) -> Outcome:
    killed = Counter()
    rng = random.Random(3)

    def kill_workers():
        for _ in range(6):
            workers = gunicorn_workers(base_url)
            if workers:
                os.kill(rng.choice(workers), signal.SIGKILL)
                killed["workers"] += 1
            time.sleep(1.5)

    outcome = _fault_under_load("worker-kill", base_url, workdir, begin=kill_workers)
    outcome.figures["workers killed"] = killed["workers"]
    return outcome


def _fault_under_load(name: str, base_url: str, workdir: Path, *, begin, end=None, lasting: float = 0.0) -> Outcome:
    """Start the load, ``begin()`` the fault after 3 s, ``end()`` it ``lasting`` seconds later."""
    load = Load(name, base_url, workdir)
    time.sleep(3)
    started = time.time()
    begin()
    time.sleep(lasting)
    if end is not None:
        end()
    return load.finish(Outcome(name), fault=(started, time.time()))


def scenario_pg_restart(base_url: str, workdir: Path) -> Outcome:
    return _fault_under_load("pg-restart", base_url, workdir, begin=lambda: pg_ctl("restart", "-m", "fast"))


def scenario_pg_crash(base_url: str, workdir: Path) -> Outcome:
    return _fault_under_load(
        "pg-crash",
        base_url,
        workdir,
        begin=lambda: pg_ctl("stop", "-m", "immediate"),
        end=lambda: pg_ctl("start"),
        lasting=OUTAGE_SECONDS,
    )


def scenario_pg_terminate(base_url: str, workdir: Path) -> Outcome:
    from django.db import connection

    terminated = Counter()

    def terminate_every_app_connection():
        for _ in range(10):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                )
                terminated["backends"] += cursor.fetchone()[0]
            time.sleep(0.5)

    outcome = _fault_under_load("pg-terminate", base_url, workdir, begin=terminate_every_app_connection)
    outcome.figures["backends terminated"] = terminated["backends"]
    return outcome


def scenario_redis_restart(base_url: str, workdir: Path, redis: PrivateRedis) -> Outcome:
    return _fault_under_load("redis-restart", base_url, workdir, begin=redis.kill, end=redis.start, lasting=OUTAGE_SECONDS)


def scenario_redis_hang(base_url: str, workdir: Path, redis: PrivateRedis) -> Outcome:
    """Redis stops answering without refusing (SIGSTOP): requests must give up within the timeouts."""
    outcome = _fault_under_load(
        "redis-hang", base_url, workdir, begin=lambda: redis.process.send_signal(signal.SIGSTOP),
        end=lambda: redis.process.send_signal(signal.SIGCONT), lasting=2 * OUTAGE_SECONDS,
    )  # fmt: skip
    slowest = outcome.figures["slowest answer during the fault (s)"]
    if slowest > MAX_HANG_SECONDS:
        outcome.violations.append(f"a request took {slowest:.1f} s while Redis hung (limit {MAX_HANG_SECONDS} s)")
    return outcome


def scenario_durability(base_url: str, workdir: Path) -> Outcome:
    """§3.3: every acknowledged top-up survives a crash of PostgreSQL."""
    from django.db import connection, connections

    from wallets.models import WalletTransaction

    outcome = Outcome("durability")
    world = history.seed_world(name="durability", wallets=1, clients=1)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        outcome.figures["synchronous_commit"] = cursor.fetchone()[0]
    acknowledged = []
    with httpx.Client(base_url=base_url, headers={"x-api-key": world.api_keys[0]}, timeout=10) as client:
        for n in range(200):
            key = f"durable-{n}"
            response = client.post(
                f"/v1/wallets/{world.wallet_ids[0]}/top-up",
                json={"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT", "idempotency_key": key},
            )
            if response.status_code == 200:
                acknowledged.append(key)
    pg_ctl("stop", "-m", "immediate")
    pg_ctl("start")
    connections.close_all()
    present = WalletTransaction.objects.filter(environment_id=world.environment_id, idempotency_key__in=acknowledged).count()
    outcome.figures.update({"acknowledged": len(acknowledged), "present after the crash": present})
    if len(acknowledged) != 200 or present != len(acknowledged):
        outcome.violations.append(f"{len(acknowledged)} acknowledged, {present} present after the crash")
    if outcome.figures["synchronous_commit"] != "on":
        outcome.violations.append("synchronous_commit is not on")
    return outcome


SCENARIOS = ["worker-kill", "pg-restart", "pg-crash", "pg-terminate", "redis-restart", "redis-hang", "durability"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, help="run only these scenarios")
    parser.add_argument("--workdir", default="var/reliability/faults", help="where the histories go")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    if workdir.exists():
        shutil.rmtree(workdir)
    outcomes = []
    with private_postgres() as database_url, tempfile.TemporaryDirectory() as redis_dir:
        redis = PrivateRedis(Path(redis_dir))
        redis.start()
        try:
            # Django reads these at set-up, which reliability.scratch does on import.
            os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis.url)
            from reliability import scratch

            with scratch.database() as scratch_url, scratch.server(scratch_url) as base_url:
                from django.db import connections

                for name in args.only or SCENARIOS:
                    connections.close_all()  # a scenario may have restarted the cluster under them
                    started = time.monotonic()
                    run_scenario = globals()[f"scenario_{name.replace('-', '_')}"]
                    extra = (redis,) if name.startswith("redis") else ()
                    outcome = run_scenario(base_url, workdir, *extra)
                    outcome.figures["scenario seconds"] = round(time.monotonic() - started, 1)
                    outcomes.append(outcome)
                    print(
                        json.dumps(
                            {"scenario": outcome.name, **outcome.figures, "violations": outcome.violations[:20]},
                            indent=1,
                            sort_keys=True,
                            default=str,
                        ),
                        flush=True,
                    )
        finally:
            redis.kill()
    passed = [outcome.name for outcome in outcomes if not outcome.violations]
    print(f"{len(passed)}/{len(outcomes)} scenarios passed: {', '.join(passed) or 'none'}")
    return 0 if len(passed) == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
