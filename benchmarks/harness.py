"""Shared machinery of benchmarks b1-b5: their databases, bulk data, the server and CPU accounting.

- ``fresh_database`` recreates the benchmark's own database (optionally cloned from an already
  migrated template, which is how CI keeps each run short) and sets Django up on it;
- ``bench_tenant`` gives the environment and a read-write API key the requests use;
- ``bulk_wallets`` and ``copy_rows`` load customers, wallets and ledger rows in bulk (setup
  only: every balance and chain they write is consistent, and the benchmarks check it);
- ``Server`` runs gunicorn with production settings on loopback (benchmarks.bench_settings);
- ``cpu_seconds``, ``machine_busy`` and ``BackendCpu`` account for the CPU each side used.

Run ``python benchmarks/harness.py --template NAME`` to create a migrated template database.
"""

import argparse
import contextlib
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATABASE_SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SETTINGS = "benchmarks.bench_settings"
_TICKS = os.sysconf("SC_CLK_TCK")


def database_url(name: str) -> str:
    return f"{DATABASE_SERVER}/{name}"


def _admin(statement) -> None:
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as connection:
        connection.execute(statement)


def fresh_database(name: str, *, template: str | None = None) -> None:
    """Drop and recreate ``name`` (cloned from ``template`` when given, else migrated), then set Django up on it."""
    from psycopg import sql

    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    if template:
        _admin(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    else:
        _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    existing_database(name)
    if not template:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def database_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def existing_database(name: str) -> None:
    """Set Django up on the database ``name`` as it is."""
    os.environ["DATABASE_URL"] = database_url(name)
    os.environ["REDIS_URL"] = REDIS_URL
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django
    from django.db import connections

    django.setup()
    # A second database in the same run (B4's sizes): point the already configured connection at it.
    connections.close_all()
    connections["default"].settings_dict["NAME"] = name
    # This process only loads data: a COPY of millions of rows or an index build outlasts the
    # API's statement timeout (the server it starts keeps production's).
    connections["default"].settings_dict["OPTIONS"]["options"] = "-c statement_timeout=0"


def drop_database(name: str) -> None:
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass(frozen=True)
class Tenant:
    environment: object
    api_key: str  # the raw x-api-key value


def bench_tenant() -> Tenant:
    from tenancy.services import api_key_create, environment_get_or_create

    environment = environment_get_or_create(tenant_name="bench", environment_name="live")
    return Tenant(environment=environment, api_key=api_key_create(environment=environment, name="bench").raw_key)


@dataclass(frozen=True)
class Lot:
    """An open credit lot to load: ``credits`` of ``reason``, spendable until ``expiry`` (None: forever)."""

    credits: Decimal
    reason: str = "FREE_CREDIT_GRANT"
    expiry: datetime | None = None


# Every wallets_wallet column a bulk load does not set: COPY bypasses the model's defaults.
WALLET_DEFAULTS = {
    "currency": "usd", "name": "Bench", "description": "", "metadata": "{}", "wallet_type": "PRE_PAID",
    "wallet_status": "active", "conversion_rate": "1", "topup_conversion_rate": "1", "config": "{}",
    "auto_topup_enabled": "f", "auto_topup_invoicing": "f", "auto_topup_cooldown_unit": "", "alert_state": "ok",
    "status": "published", "created_by": "", "updated_by": "", "held_credits": "0",
}  # fmt: skip
# The same for customer rows.
CUSTOMER_DEFAULTS = {
    "email": "", "address_line1": "", "address_line2": "", "address_city": "", "address_state": "",
    "address_postal_code": "", "address_country": "", "metadata": "{}", "status": "published",
    "created_by": "", "updated_by": "",
}  # fmt: skip


def bulk_wallets(environment, count: int, *, lots: list[Lot] = (), prefix: str = "bench") -> list:
    """``count`` customers (external ids ``{prefix}-{n}``), each with one usd wallet holding ``lots``.

    Rows go in with COPY. Each wallet's lots are credits 1..k of an unbroken chain, and its
    balance is their sum, exactly as the ledger would have written them.
    """
    from django.utils import timezone as dj_timezone

    from core.ids import new_id
    from wallets.ledger.postings import PURCHASED_REASONS
    from wallets.models import Wallet

    now = dj_timezone.now()
    tenant_id, environment_id = environment.tenant_id, environment.id
    total = sum((lot.credits for lot in lots), Decimal(0))
    purchased = sum((lot.credits for lot in lots if lot.reason in PURCHASED_REASONS), Decimal(0))
    customers, wallets, rows = [], [], []
    for number in range(count):
        customer_id, wallet_id = new_id("cust"), new_id("wallet")
        customers.append((customer_id, tenant_id, environment_id, f"{prefix}-{number}", f"Customer {number}", now, now))
        wallets.append((wallet_id, tenant_id, environment_id, customer_id, total, total, purchased, len(lots), now, now))
        balance = Decimal(0)
        for sequence, lot in enumerate(lots, start=1):
            rows.append(
                ledger_row(
                    tenant_id=tenant_id,
                    environment_id=environment_id,
                    wallet_id=wallet_id,
                    customer_id=customer_id,
                    sequence=sequence,
                    type="credit",
                    reason=lot.reason,
                    credits=lot.credits,
                    before=balance,
                    available=lot.credits,
                    expiry=lot.expiry,
                    created_at=now,
                    key=f"{prefix}-{number}-{sequence}",
                )
            )
            balance += lot.credits
    copy_rows(
        "customers_customer",
        ("id", "tenant_id", "environment_id", "external_id", "name", "created_at", "updated_at"),
        customers,
        defaults=CUSTOMER_DEFAULTS,
    )
    copy_rows(
        "wallets_wallet",
        (
            "id",
            "tenant_id",
            "environment_id",
            "customer_id",
            "credit_balance",
            "balance",
            "purchased_credits_available",
            "transaction_count",
            "created_at",
            "updated_at",
        ),
        wallets,
        defaults=WALLET_DEFAULTS,
    )
    copy_ledger(rows)
    analyze()
    created = [row[0] for row in wallets]  # only this call's: B5 loads one wallet per call into one environment
    return list(Wallet.objects.filter(pk__in=created).select_related("customer").order_by("customer__external_id"))


LEDGER_COLUMNS = (
    "id",
    "tenant_id",
    "environment_id",
    "wallet_id",
    "customer_id",
    "sequence",
    "type",
    "transaction_reason",
    "credit_amount",
    "amount",
    "credit_balance_before",
    "credit_balance_after",
    "credits_available",
    "expiry_date",
    "idempotency_key",
    "reference_id",
    "metadata",
    "created_at",
    "updated_at",
)
LEDGER_DEFAULTS = {
    "transaction_status": "completed",
    "currency": "usd",
    "conversion_rate": "1",
    "topup_conversion_rate": "1",
    "reference_type": "EXTERNAL",
    "description": "",
    "request_fingerprint": "",
    "status": "published",
    "created_by": "",
    "updated_by": "",
}


def ledger_row(
    *,
    tenant_id,
    environment_id,
    wallet_id,
    customer_id,
    sequence,
    type,
    reason,
    credits,
    before,
    available,
    created_at,
    key,
    expiry=None,
    metadata="{}",
    row_id=None,
) -> tuple:
    """One completed ledger row in LEDGER_COLUMNS order; ``before`` is the balance it starts from."""
    from core.ids import new_id

    after = before + credits if type == "credit" else before - credits
    return (
        row_id or new_id("wtxn"),
        tenant_id,
        environment_id,
        wallet_id,
        customer_id,
        sequence,
        type,
        reason,
        credits,
        credits,
        before,
        after,
        available,
        expiry,
        key,
        key,
        metadata,
        created_at,
        created_at,
    )


def copy_ledger(rows) -> None:
    copy_rows("wallets_wallettransaction", LEDGER_COLUMNS, rows, defaults=LEDGER_DEFAULTS)


def copy_rows(table: str, columns: tuple[str, ...], rows, *, defaults: dict | None = None) -> int:
    """COPY ``rows`` (tuples in ``columns`` order) into ``table``; ``defaults`` fill the other NOT NULL columns."""
    from django.db import connection
    from psycopg import sql

    defaults = defaults or {}
    names = [*columns, *defaults]
    tail = tuple(defaults.values())
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names)))
    written = 0
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row + tail)
            written += 1
    return written


@contextlib.contextmanager
def indexes_rebuilt(*tables: str):
    """Drop the indexes of ``tables`` that back no constraint, and build them again on the way out.

    For bulk loads: one sorted build per index is many times faster than maintaining every index
    row by row, and leaves the same indexes.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            [list(tables)],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for _, definition in indexes:
                cursor.execute(definition)


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pids) -> float:
    """User + system CPU time of ``pids`` (gone processes count as 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / _TICKS, sum(values) / _TICKS


class BackendCpu:
    """CPU time of the database's server processes, sampled while a phase runs.

    Backends come and go with their clients (pgbench), so a thread polls them and keeps the
    last reading of each; a backend alive at the start counts from its reading then.
    """

    def __init__(self, database: str, interval: float = 0.25):
        self.database, self.interval = database, interval
        self._start: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _pids(self) -> list[int]:
        rows = self._connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.database]
        ).fetchall()
        return [pid for (pid,) in rows]

    def _poll(self) -> None:
        while not self._stop.is_set():
            for pid in self._pids():
                self._last[pid] = cpu_seconds([pid])
            self._stop.wait(self.interval)

    def __enter__(self):
        import psycopg

        self._connection = psycopg.connect(database_url("postgres"), autocommit=True)
        for pid in self._pids():
            self._start[pid] = cpu_seconds([pid])
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        for pid in self._pids():
            self._last[pid] = cpu_seconds([pid])
        self._connection.close()

    @property
    def seconds(self) -> float:
        return sum(value - self._start.get(pid, 0.0) for pid, value in self._last.items())


@dataclass
class Server:
    """billing.wsgi with benchmarks.bench_settings on 127.0.0.1, served by gunicorn or granian.

    gunicorn: ``worker_class`` sync or gthread; granian: its WSGI interface (HTTP in Rust, the
    application on blocking threads). Either way ``workers`` processes of ``threads`` threads each.
    The per-key rate limit is raised so the limiter runs on every request but never refuses one.
    """

    database: str
    workers: int = 4
    worker_class: str = "gthread"
    threads: int = 4
    server: str = "gunicorn"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    application = "billing.wsgi"  # the WSGI module served (class attributes, not dataclass fields)
    health_path = "/healthz"  # answers 200 once the application is up

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "DATABASE_URL": database_url(self.database),
            "REDIS_URL": REDIS_URL,
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only"),
            "API_RATE_LIMIT": "100000000/min",
            "LOG_LEVEL": "WARNING",
        }

    def command(self) -> list[str]:
        """The server and its model (the same for every application a benchmark serves, the peer's too)."""
        if self.server == "granian":
            return [
                self.interpreter(),
                "-m",
                "granian",
                "--interface",
                "wsgi",
                f"{self.application}:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--blocking-threads",
                str(self.threads),
                "--no-ws",
                "--log-level",
                "warning",
            ]
        return [
            self.interpreter(),
            "-m",
            "gunicorn",
            self.application,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--threads",
            str(self.threads),
            "--log-level",
            "warning",
            "--preload",
            "--timeout",
            "60",
        ]

    def interpreter(self) -> str:
        """The python that runs the server (the peer's runs from its own virtualenv)."""
        return sys.executable

    def __enter__(self):
        self.process = subprocess.Popen(self.command(), cwd=ROOT, env=self.environment())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.server} exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    probe.sendall(f"GET {self.health_path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
                    if probe.recv(64).split(b" ", 2)[1:2] == [b"200"] and len(self.pids()) > self.workers:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"{self.server} did not answer {self.health_path} within 60 s")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def pids(self) -> list[int]:
        return [self.process.pid, *children(self.process.pid)]

    def describe(self) -> str:
        if self.server == "granian":
            return f"granian wsgi {self.workers} workersx{self.threads} blocking threads"
        threads = f"x{self.threads} threads" if self.worker_class == "gthread" else ""
        return f"gunicorn {self.worker_class} {self.workers} workers{threads}".strip()


def arguments(parser: argparse.ArgumentParser, *, database: str, concurrent: bool = True) -> argparse.ArgumentParser:
    """The options every benchmark takes: its database, the server, the load (``concurrent``), the results."""
    from benchmarks import results

    parser.add_argument("--database", default=database, help="recreated on every run (default %(default)s)")
    parser.add_argument("--template", help="clone this migrated database instead of migrating (harness.py --template)")
    # gthread: a worker's threads overlap their database round trips and keep connections alive;
    # 2 x cores workers of 4 threads serve the 16 clients at once (see RESULTS.md for sync against it).
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1), help="gunicorn workers")
    parser.add_argument("--server", choices=["gunicorn", "granian"], default="gunicorn")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="gthread", help="gunicorn's")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread, granian)")
    if concurrent:
        parser.add_argument("--clients", type=int, default=16, help="concurrent closed-loop clients")
        parser.add_argument("--rounds", type=int, default=3, help="floor and measurement alternate this many times")
        parser.add_argument("--seconds", type=float, default=10, help="length of each measured phase")
        parser.add_argument(
            "--generator",
            choices=["auto", "wrk", "asyncio"],
            default="auto",
            help="auto: wrk when installed, else the asyncio client",
        )
    parser.add_argument("--results", type=Path, default=results.DEFAULT_PATH, help="the RESULTS.md to update")
    parser.add_argument("--no-results", action="store_true", help="print the figures without updating RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser


@dataclass(frozen=True)
class Setup:
    machine: str
    tenant: Tenant
    wallets: list


def prepare(args, *, wallets: int, lots: list[Lot] = ()) -> Setup:
    """The usual start of a run: note the machine, recreate the database, load ``wallets`` wallets of ``lots``."""
    from django.db import connections

    described = machine()
    fresh_database(args.database, template=args.template)
    tenant = bench_tenant()
    loaded = bulk_wallets(tenant.environment, wallets, lots=lots)
    connections.close_all()  # the server and pgbench start on a quiet database
    return Setup(machine=described, tenant=tenant, wallets=loaded)


def command_line() -> str:
    """The command that produced a result, as it would be typed from the project root."""
    script = Path(sys.argv[0]).resolve()
    with contextlib.suppress(ValueError):
        script = script.relative_to(ROOT)
    return " ".join([".venv/bin/python", str(script), *sys.argv[1:]])


def server_for(args, database: str | None = None) -> "Server":
    return Server(
        database=database or args.database,
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads,
        server=args.server,
    )


def machine() -> str:
    """One line naming the machine: CPU model and count, memory, PostgreSQL, load when the run began."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory_gib = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    import psycopg

    with psycopg.connect(database_url("postgres")) as connection:
        version = connection.execute("SHOW server_version").fetchone()[0].split()[0]
    load = os.getloadavg()[0]
    python = platform.python_version()
    return f"{os.cpu_count()} x {model}, {memory_gib:.0f} GiB, PostgreSQL {version}, Python {python}, load {load:.1f} at start"


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def main() -> int:
    parser = argparse.ArgumentParser(description="Create a migrated template database for the benchmarks.")
    parser.add_argument("--template", required=True, help="name of the database to (re)create and migrate")
    args = parser.parse_args()
    fresh_database(args.template)
    from django.db import connections

    connections.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
