"""Load generators and floors for the benchmarks: wrk or an asyncio client over HTTP, and pgbench.

Every phase returns a ``Phase``: operations per second, p50/p95/p99 latency, failures, and the
CPU used while it ran by the server, the load generator, the database backends and the whole
machine (which includes anything else running on it). CPU figures are percent of one core.

The load is closed-loop: ``clients`` connections each send a request, wait for the answer and
send the next, on loopback, for ``seconds``. wrk is used when installed (light, written in C;
benchmarks/load.lua makes its requests); otherwise, or with ``--client asyncio``, a small
asyncio HTTP/1.1 client in this process does the same work.
"""

import asyncio
import itertools
import json
import random
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.harness import BackendCpu, cpu_seconds, database_url, machine_busy

LUA = Path(__file__).with_name("load.lua")
PGBENCH_CANDIDATES = ("pgbench", "/usr/lib/postgresql/15/bin/pgbench")


@dataclass
class Phase:
    name: str
    requests: int
    seconds: float
    failures: int  # transport errors, non-2xx answers, failed transactions
    p50_ms: float
    p95_ms: float
    p99_ms: float
    server_cpu: float | None = None
    client_cpu: float = 0.0
    db_cpu: float = 0.0
    machine_cpu: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def ops(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def summary(self, unit: str) -> str:
        """The results table's "Measured" cell: throughput in ``unit``/s, latencies and failures."""
        return (
            f"{self.ops:.0f} {unit}/s, p50/p95/p99 {self.p50_ms:.1f}/{self.p95_ms:.1f}/{self.p99_ms:.1f} ms, "
            f"{self.failures} failures"
        )

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "ops": round(self.ops, 1),
            "requests": self.requests,
            "failures": self.failures,
            "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "server_cpu": None if self.server_cpu is None else round(self.server_cpu),
            "client_cpu": round(self.client_cpu),
            "db_cpu": round(self.db_cpu),
            "machine_cpu": round(self.machine_cpu),
        }


@dataclass(frozen=True)
class Requests:
    """What the clients send: ``method`` to a path drawn from ``paths``; ``{key}`` in ``body`` made unique."""

    method: str
    paths: list[str]
    api_key: str | None = None
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # any others, e.g. the peer's Authorization


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (any order); 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))]


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


class _Meter:
    """CPU of the server, the load generator (this process's children, or itself), the database and the machine."""

    def __init__(self, database: str, server_pids: list[int] | None, *, client_in_process: bool):
        self.server_pids, self.client_in_process = server_pids, client_in_process
        self.backends = BackendCpu(database)

    def _client(self) -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF if self.client_in_process else resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def __enter__(self):
        self.backends.__enter__()
        self.started = time.perf_counter()
        self.client0 = self._client()
        self.server0 = cpu_seconds(self.server_pids) if self.server_pids else 0.0
        self.machine0 = machine_busy()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.started
        self.client = self._client() - self.client0
        self.server = cpu_seconds(self.server_pids) - self.server0 if self.server_pids else None
        busy, total = machine_busy()
        self.machine = (busy - self.machine0[0]) / max(total - self.machine0[1], 1e-9)
        self.backends.__exit__()

    def fill(self, phase: Phase, cores: int) -> Phase:
        percent = 100 / self.wall
        phase.server_cpu = None if self.server is None else self.server * percent
        phase.client_cpu = self.client * percent
        phase.db_cpu = self.backends.seconds * percent
        phase.machine_cpu = self.machine * 100 * cores
        return phase


def _lua_string(text: str) -> str:
    level = "=" * 4
    return f"[{level}[{text}]{level}]"


def _wrk_script(requests: Requests, run_id: str) -> str:
    headers = {"Content-Type": "application/json"}
    if requests.api_key:
        headers["x-api-key"] = requests.api_key
    headers.update(requests.headers)
    lines = [
        f"method = {_lua_string(requests.method)}",
        f"run_id = {_lua_string(run_id)}",
        "paths = {" + ", ".join(_lua_string(path) for path in requests.paths) + "}",
        "headers = {" + ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()) + "}",
        f"body = {_lua_string(requests.body) if requests.body is not None else 'nil'}",
    ]
    return "\n".join(lines) + "\n" + LUA.read_text()


def _run_wrk(url: str, requests: Requests, *, clients: int, seconds: float, run_id: str) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(_wrk_script(requests, run_id))
        script.flush()
        command = [
            "wrk",
            f"-t{min(2, clients)}",
            f"-c{clients}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
            url,
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    return {
        "requests": figures["requests"],
        "seconds": figures["duration_s"],
        "failures": figures["errors"] + figures["non_2xx"],
        "p50_ms": figures["p50_ms"],
        "p95_ms": figures["p95_ms"],
        "p99_ms": figures["p99_ms"],
    }


async def _asyncio_clients(url: str, requests: Requests, *, clients: int, seconds: float, run_id: str) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port
    common = f"Host: {host}:{port}\r\nContent-Type: application/json\r\n"
    if requests.api_key:
        common += f"x-api-key: {requests.api_key}\r\n"
    common += "".join(f"{name}: {value}\r\n" for name, value in requests.headers)
    rng = random.Random(run_id)
    counter = itertools.count(1)
    latencies: list[float] = []
    failures = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    async def client() -> None:
        nonlocal failures
        reader = writer = None
        while loop.time() < deadline:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            body = b""
            if requests.body is not None:
                body = requests.body.replace("{key}", f"{run_id}-{next(counter)}").encode()
            head = f"{requests.method} {rng.choice(requests.paths)} HTTP/1.1\r\n{common}Content-Length: {len(body)}\r\n\r\n"
            started = time.perf_counter()
            writer.write(head.encode() + body)
            try:
                status = await reader.readline()
                length, close = 0, False
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection":
                        close = value.strip().lower() == b"close"
                await reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                failures += 1
                writer.close()
                writer = None
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            if not status.split(b" ", 2)[1].startswith(b"2"):
                failures += 1
            if close:
                writer.close()
                writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return {
        "requests": len(latencies),
        "seconds": time.perf_counter() - started,
        "failures": failures,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
    }


def http_phase(name: str, server, requests: Requests, *, clients: int, seconds: float, generator: str = "auto") -> Phase:
    """Run ``clients`` closed-loop clients against ``server`` for ``seconds``."""
    use_wrk = generator == "wrk" or (generator == "auto" and wrk_available())
    run_id = f"{name}-{time.time_ns()}"
    with _Meter(server.database, server.pids(), client_in_process=not use_wrk) as meter:
        if use_wrk:
            figures = _run_wrk(server.url, requests, clients=clients, seconds=seconds, run_id=run_id)
        else:
            figures = asyncio.run(_asyncio_clients(server.url, requests, clients=clients, seconds=seconds, run_id=run_id))
    phase = Phase(name=name, **figures, extra={"generator": "wrk" if use_wrk else "asyncio"})
    return meter.fill(phase, cores=_cores())


def one_at_a_time(server, method: str, calls: list[tuple[str, str | None]], api_key: str) -> tuple[list[float], int]:
    """Send ``calls`` ((path, body or None)) one after the other; (latencies in ms, failures).

    For latency benchmarks (B4, B5): a single client, so each figure is one request's own time.
    """
    import http.client

    latencies, failures = [], 0
    headers = {"x-api-key": api_key, "Content-Type": "application/json", "Host": f"127.0.0.1:{server.port}"}
    for path, body in calls:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        failures += not 200 <= response.status < 300
        connection.close()
    return latencies, failures


def pgbench_path() -> str:
    for candidate in PGBENCH_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise RuntimeError("pgbench not found (install postgresql-contrib or the PostgreSQL client tools)")


def pgbench_phase(name: str, database: str, script: str, *, clients: int, seconds: float) -> Phase:
    """Run ``script`` (pgbench's custom-script language) with ``clients`` connections for ``seconds``."""
    with tempfile.TemporaryDirectory() as folder:
        script_path = Path(folder) / "floor.sql"
        script_path.write_text(script)
        command = [
            pgbench_path(),
            "--no-vacuum",
            f"--client={clients}",
            f"--jobs={min(2, clients)}",
            f"--time={max(1, round(seconds))}",
            f"--file={script_path}",
            "--log",
            f"--log-prefix={folder}/log",
            database_url(database),
        ]
        with _Meter(database, None, client_in_process=False) as meter:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
        if completed.returncode != 0:
            raise RuntimeError(f"pgbench failed:\n{completed.stdout}\n{completed.stderr}")
        latencies = [int(line.split()[2]) / 1000 for log in Path(folder).glob("log*") for line in log.read_text().splitlines()]
    output = completed.stdout
    failed = re.search(r"number of failed transactions: (\d+)", output)
    tps = re.search(r"tps = ([\d.]+)", output)
    phase = Phase(
        name=name,
        requests=len(latencies),
        seconds=len(latencies) / float(tps.group(1)) if tps and float(tps.group(1)) else meter.wall,
        failures=int(failed.group(1)) if failed else 0,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        extra={"generator": "pgbench"},
    )
    return meter.fill(phase, cores=_cores())


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def interleaved(runs: dict[str, Callable[[], Phase]], rounds: int) -> dict[str, list[Phase]]:
    """Run each phase once per round, in turn, so floor and measurement see the same background load."""
    results: dict[str, list[Phase]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            phase = run()
            results[name].append(phase)
            print(
                f"  {name:<22} {phase.ops:8.1f} ops/s  p50 {phase.p50_ms:6.2f}  p95 {phase.p95_ms:6.2f}  "
                f"p99 {phase.p99_ms:6.2f} ms  failures {phase.failures}  cpu server {phase.server_cpu or 0:.0f}% "
                f"client {phase.client_cpu:.0f}% db {phase.db_cpu:.0f}% machine {phase.machine_cpu:.0f}%",
                flush=True,
            )
    return results


def median_phase(phases: list[Phase]) -> Phase:
    """One phase summarising several rounds: median of each figure, failures summed."""

    def mid(attribute):
        values = [getattr(phase, attribute) for phase in phases]
        return None if any(value is None for value in values) else statistics.median(values)

    ops = statistics.median(phase.ops for phase in phases)
    return Phase(
        name=phases[0].name,
        requests=sum(p.requests for p in phases),
        seconds=sum(p.requests for p in phases) / ops if ops else 0,
        failures=sum(p.failures for p in phases),
        p50_ms=mid("p50_ms"),
        p95_ms=mid("p95_ms"),
        p99_ms=mid("p99_ms"),
        server_cpu=mid("server_cpu"),
        client_cpu=mid("client_cpu"),
        db_cpu=mid("db_cpu"),
        machine_cpu=mid("machine_cpu"),
        extra=phases[0].extra,
    )


@dataclass
class Comparison:
    """HTTP writes against their pgbench floor, round by round (B1, B2)."""

    warm_up: Phase
    http_rounds: list[Phase]
    floor_rounds: list[Phase]
    server: str
    clients: int

    @property
    def http(self) -> Phase:
        return median_phase(self.http_rounds)

    @property
    def floor(self) -> Phase:
        return median_phase(self.floor_rounds)

    @property
    def ratio(self) -> float:
        return ratio(self.http_rounds, self.floor_rounds)

    @property
    def answered(self) -> int:
        return sum(p.requests - p.failures for p in [self.warm_up, *self.http_rounds])

    def accounts_for(self, written: int) -> bool:
        """Every 2xx wrote its row; wrk stops without waiting for the requests in flight, so each
        phase may also have written up to one row per client that it never counted."""
        return self.answered <= written <= self.answered + self.clients * (1 + len(self.http_rounds))

    def each_round(self) -> str:
        return ", ".join(f"{m.ops:.0f}/{f.ops:.0f}" for m, f in zip(self.http_rounds, self.floor_rounds, strict=True))


def compare_with_pgbench(args, server, requests: Requests, script: str, label: str) -> Comparison:
    """Warm ``server`` up, then alternate pgbench running ``script`` and HTTP ``requests`` for ``args.rounds`` rounds."""
    options = {"clients": args.clients, "generator": args.generator}
    warm_up = http_phase("warm-up", server, requests, seconds=1, **options)
    runs = interleaved(
        {
            "pgbench floor": lambda: pgbench_phase(
                "pgbench floor", args.database, script, clients=args.clients, seconds=args.seconds
            ),
            label: lambda: http_phase(label, server, requests, seconds=args.seconds, **options),
        },
        args.rounds,
    )
    return Comparison(warm_up, runs[label], runs["pgbench floor"], server.describe(), args.clients)


def ratio(measured: list[Phase], floor: list[Phase]) -> float:
    """Median over rounds of measured ops / floor ops (each round's pair ran back to back)."""
    return statistics.median(m.ops / f.ops if f.ops else 0.0 for m, f in zip(measured, floor, strict=True))
