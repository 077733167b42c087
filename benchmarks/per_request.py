"""What one API request costs the application: CPU, SQL statements and round trips, by kind.

Usage (from the project root, PostgreSQL and Redis running; strace for the round trips):
    .venv/bin/python benchmarks/per_request.py
    .venv/bin/python benchmarks/per_request.py --requests 20 --no-results   # quick

Unlike B1-B5 these figures barely depend on what else the machine runs, which makes them the
way to see what one change did: each kind of request (top-up, debit, GET wallet, customer
wallets, transaction search) goes through Django's full handler in this process (production
settings, real transactions; no HTTP server), and for each:
- CPU: this process's CPU time per request (median of 5 batches);
- PostgreSQL CPU: the CPU time of the server process behind this process's connection, per
  request over the 5 batches (read from /proc: the server runs on this machine);
- SQL statements, as Django sends them (the health check's SELECT 1 not included);
- round trips to PostgreSQL and to Redis, counted with strace: waits for an answer on each
  socket (statements pipelined together share one).
Results go to the "per request" section of RESULTS.md.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import harness, results  # noqa: E402

KINDS = ("top-up", "debit", "GET wallet", "customer wallets", "search by wallet")
MARK = "per-request-phase:"


def _request(client, kind: str, wallet, number: int):
    if kind == "top-up":
        body = {"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT", "idempotency_key": f"t{number}"}
        return client.post(f"/v1/wallets/{wallet.id}/top-up", json.dumps(body), content_type="application/json")
    if kind == "debit":
        body = {"credits": "0.01", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": f"d{number}"}
        return client.post(f"/v1/wallets/{wallet.id}/debit", json.dumps(body), content_type="application/json")
    if kind == "GET wallet":
        return client.get(f"/v1/wallets/{wallet.id}")
    if kind == "customer wallets":
        return client.get(f"/v1/customers/wallets?lookup_key={wallet.customer.external_id}")
    body = {"id": wallet.id, "limit": 50}
    return client.post("/v1/wallets/transactions/search", json.dumps(body), content_type="application/json")


def _backend_cpu_seconds(connection) -> float:
    """CPU time so far of the PostgreSQL server process serving ``connection`` (user + system)."""
    return harness.cpu_seconds([connection.connection.info.backend_pid])


def measure(args) -> dict:
    """In this process: CPU and statements per request of each kind (marks the strace output between kinds)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    setup = harness.prepare(
        args, wallets=200, lots=[harness.Lot(Decimal(1000), "PURCHASED_CREDIT_DIRECT"), harness.Lot(Decimal(1000))]
    )
    client = Client(HTTP_X_API_KEY=setup.tenant.api_key, HTTP_HOST="127.0.0.1")
    figures = {}
    counter = iter(range(10**9))
    marker = os.open(os.devnull, os.O_WRONLY)
    for kind in KINDS:

        def send(kind=kind):  # this kind's requests only: it is called within the iteration
            n = next(counter)
            response = _request(client, kind, setup.wallets[n % len(setup.wallets)], n)
            assert response.status_code == 200, response.content

        for _ in range(10):
            send()
        with CaptureQueriesContext(connection) as queries:
            send()
        statements = len(queries.captured_queries)  # now: the log is cleared by the next request
        os.write(marker, f"{MARK}{kind}".encode())
        batches = []
        database_started = _backend_cpu_seconds(connection)
        for _ in range(5):
            started = time.process_time()
            for _ in range(args.requests):
                send()
            batches.append((time.process_time() - started) / args.requests * 1000)
        os.write(marker, f"{MARK}end".encode())
        database_ms = (_backend_cpu_seconds(connection) - database_started) / (5 * args.requests) * 1000
        figures[kind] = {"cpu_ms": statistics.median(batches), "database_cpu_ms": database_ms, "statements": statements}
    harness.drop_database(args.database)
    return figures


def count_round_trips(trace: str, requests: int) -> dict:
    """Round trips to PostgreSQL (:5432) and Redis (:6379) per request, between the marks of each kind.

    A round trip is a wait for an answer: on each socket, the first message received after one
    or more were sent (a pipeline sends several statements before it reads their answers).
    """
    counts, kind, waiting = {}, None, set()
    for line in trace.splitlines():
        mark = re.search(rf'"{MARK}([^"]*)"', line)
        if mark:
            kind = None if mark.group(1) == "end" else mark.group(1)
            if kind:
                counts[kind] = {"postgres": 0, "redis": 0}
            continue
        server = "postgres" if ":5432]" in line else "redis" if ":6379]" in line else None
        if kind is None or server is None:
            continue
        call = line.split("(", 1)[0].split()[-1]
        if call in ("sendto", "sendmsg"):
            waiting.add(server)
        elif call in ("recvfrom", "recvmsg") and server in waiting and not re.search(r"= -1 |= 0$", line):
            counts[kind][server] += 1
            waiting.discard(server)
    return {kind: {name: value / (5 * requests) for name, value in found.items()} for kind, found in counts.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="billing_bench_per_request")
    parser.add_argument("--template", help="clone this migrated database instead of migrating (harness.py --template)")
    parser.add_argument("--requests", type=int, default=60, help="requests per batch (5 batches per kind)")
    parser.add_argument("--label", default="current tree", help="names this run's column in RESULTS.md")
    parser.add_argument("--results", type=Path, default=results.DEFAULT_PATH)
    parser.add_argument("--no-results", action="store_true")
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)  # the child under strace
    args = parser.parse_args()
    if args.traced:
        print(json.dumps(measure(args)))
        return 0
    child = [sys.executable, __file__, "--traced", "--database", args.database, "--requests", str(args.requests)]
    if args.template:
        child += ["--template", args.template]
    output = subprocess.run(child, capture_output=True, text=True, check=True).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    round_trips = {}
    if shutil.which("strace"):  # a second run, traced: strace slows the process, so no CPU figures from it
        with tempfile.NamedTemporaryFile(suffix=".trace") as trace:
            command = [
                "strace",
                "-f",
                "-qq",
                "-yy",
                "-s",
                "64",
                "-e",
                "trace=sendto,sendmsg,recvfrom,recvmsg,write",
                "-o",
                trace.name,
                *child,
            ]
            subprocess.run(command, capture_output=True, text=True, check=True)
            round_trips = count_round_trips(Path(trace.name).read_text(), args.requests)
    for kind in figures:
        figures[kind] |= round_trips.get(kind, {})
    print(json.dumps(figures))
    if not args.no_results:
        lines = [
            f"| {kind} | {f['cpu_ms']:.2f} | {f['database_cpu_ms']:.2f} | {f['statements']} | "
            f"{f.get('postgres', float('nan')):.1f} | {f.get('redis', float('nan')):.1f} |"
            for kind, f in figures.items()
        ]
        results.record(
            "P1",
            [],
            f"""### Per request, in process ({args.label}, {harness.today()})

`{harness.command_line()}` on {harness.machine()}.

| Request | CPU ms | PostgreSQL CPU ms | SQL statements | PostgreSQL round trips | Redis round trips |
| --- | --- | --- | --- | --- | --- |
{chr(10).join(lines)}""",
            path=args.results,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
