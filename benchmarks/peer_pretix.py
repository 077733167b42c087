"""Peer: pretix's gift-card ledger measured beside ours, in the same run, on the same server model.

Usage (from the project root, PostgreSQL and Redis running; needs PyPI the first time):
    flock /tmp/bench.lock .venv/bin/python benchmarks/peer_pretix.py
    .venv/bin/python benchmarks/peer_pretix.py --wallets 20 --clients 4 --seconds 1 --rounds 1 --no-results  # CI size

pretix (PyPI ``pretix``, Django + DRF + PostgreSQL + Redis, like us) keeps gift cards as a
ledger: ``POST /api/v1/organizers/{o}/giftcards/{id}/transact/`` locks the card and writes a
transaction row, ``GET /api/v1/organizers/{o}/giftcards/{id}/`` reads one. This benchmark
- installs pretix PRETIX_VERSION (and our server versions) into a virtualenv of its own under
  var/peer_pretix/ (kept there, keyed by version; never a dependency of the product);
- migrates a template database for that version once (pretix's migrations take minutes) and
  clones it for each run: pretix's own database on the same PostgreSQL, its own Redis db
  (``--pretix-redis-db``) for cache and Celery broker, a configuration file with debug off and
  its own secret;
- creates an organizer, ``--wallets`` gift cards (two transactions each, as our wallets hold two
  lots) and an API token with pretix's own models (peer_pretix_setup.py, run by pretix's python);
- loads as many wallets on our side (B3's two lots each) and serves both with the same server
  and model (``--server``, ``--workers``, ``--worker-class``, ``--threads``: our benchmark defaults);
- alternates, round after round, our ``POST /v1/wallets/{id}/top-up`` (B1's load: a fresh
  idempotency key per request), pretix's transact, our ``GET /v1/wallets/{id}``, pretix's card
  GET, on random wallets and cards, ``--clients`` closed-loop clients;
- counts each side's statements per request in process, through each application's full Django
  handler (``peer_pretix_setup.statement_account``), and checks the rows each side wrote.

Targets (issue 12, medians of per-round ratios ours / pretix): top-ups >= 1.5 x transact,
reads >= 1.5 x card GET. Results go to the "Peer" rows and section of RESULTS.md.
"""

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import harness, load, results  # noqa: E402
from benchmarks.b1_top_up_http import top_up_requests  # noqa: E402
from benchmarks.b3_reads_http import wallet_lots  # noqa: E402
from benchmarks.peer_pretix_setup import TRANSACT_BODY, account_of  # noqa: E402

PRETIX_VERSION = "2026.8.0"
VENVS = ROOT / "var" / "peer_pretix"
SETUP_SCRIPT = Path(__file__).with_name("peer_pretix_setup.py")
TARGET_RATIO = 1.5
OURS_TOP_UP, PEER_TRANSACT, OURS_READ, PEER_READ = "ours: top-up", "pretix: transact", "ours: GET wallet", "pretix: card GET"


def pretix_python(version: str = PRETIX_VERSION) -> Path:
    """The python of a virtualenv holding pretix ``version``, installed on first use and kept.

    Under a file lock, so parallel runs install once; a venv is used only once its install
    finished (the marker file, which names what was installed: when our server versions change,
    the venv gets them too). Raises CalledProcessError when pip cannot install.
    """
    folder = VENVS / f"pretix-{version}"
    python, installed = folder / "bin" / "python", folder / ".installed"
    packages = [f"pretix=={version}", *same_servers()]
    VENVS.mkdir(parents=True, exist_ok=True)
    with open(VENVS / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed.exists():
            shutil.rmtree(folder, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        if not installed.exists() or installed.read_text().split() != packages:
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages],
                check=True,
                capture_output=True,
                text=True,
                timeout=1800,
            )
            installed.write_text(" ".join(packages) + "\n")
    return python


def same_servers() -> list[str]:
    """Our servers at our versions (gunicorn; granian where installed), so pretix is served by the same code."""
    found = []
    for name in ("gunicorn", "granian"):
        try:
            found.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return found


def write_config(folder: Path, *, database: str, redis_db: int, url: str) -> Path:
    """pretix's configuration file: its database and Redis db, debug off, a secret of its own."""
    from urllib.parse import urlsplit

    server, redis = urlsplit(harness.DATABASE_SERVER), urlsplit(harness.REDIS_URL)
    redis_url = f"redis://{redis.netloc}/{redis_db}"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    config = folder / "pretix.cfg"
    config.write_text(f"""[pretix]
instance_name=pretix peer benchmark
url={url}
datadir={folder / "data"}
[django]
secret={os.urandom(24).hex()}
debug=off
[database]
backend=postgresql
name={database}
user={server.username or ""}
password={server.password or ""}
host={server.hostname or ""}
port={server.port or ""}
[redis]
location={redis_url}
[celery]
broker={redis_url}
backend={redis_url}
""")
    return config


def run_setup(python: Path, config: Path, *arguments: str) -> str:
    """Run peer_pretix_setup.py with pretix's python on ``config``; its standard output."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "SECRET_KEY")
    }
    completed = subprocess.run(
        [str(python), str(SETUP_SCRIPT), *arguments],
        env={**environment, "PRETIX_CONFIG_FILE": str(config)},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"peer_pretix_setup.py {arguments[0]} failed:\n{completed.stdout}\n{completed.stderr}")
    return completed.stdout


def _databases() -> set[str]:
    import psycopg

    with psycopg.connect(harness.database_url("postgres"), autocommit=True) as connection:
        return {name for (name,) in connection.execute("SELECT datname FROM pg_database").fetchall()}


def pretix_template(python: Path, folder: Path, redis_db: int) -> str:
    """A database migrated by pretix PRETIX_VERSION, made once and then cloned by every run.

    Migrated under a name of this process's own and renamed when done, so a run never clones
    a half-migrated template.
    """
    name = f"pretix_bench_template_{PRETIX_VERSION.replace('.', '_')}"
    if name in _databases():
        return name
    building = f"{name}_{os.getpid()}"
    harness._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
    try:
        print(f"Migrating pretix {PRETIX_VERSION} into a template database (once per version)...", flush=True)
        run_setup(python, write_config(folder, database=building, redis_db=redis_db, url="http://127.0.0.1"), "migrate")
        if name not in _databases():
            harness._admin(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building), sql.Identifier(name)))
    finally:
        harness._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(building)))
    return name


def flush_redis(db: int) -> None:
    """Empty pretix's own Redis db: its cache and Celery queue (tasks the run queued, never run)."""
    from urllib.parse import urlsplit

    import redis

    redis.Redis.from_url(f"redis://{urlsplit(harness.REDIS_URL).netloc}/{db}").flushdb()


@dataclass
class PretixServer(harness.Server):
    """``pretix.wsgi`` from pretix's virtualenv, served exactly as our server is (harness.Server.command)."""

    python: Path | None = None
    config: Path | None = None
    application = "pretix.wsgi"
    health_path = "/healthcheck/"

    def interpreter(self) -> str:
        return str(self.python)

    def environment(self) -> dict:
        kept = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "SECRET_KEY")
        }
        return {**kept, "PRETIX_CONFIG_FILE": str(self.config)}


def count_rows(database: str, *tables: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(harness.database_url(database), autocommit=True) as connection:
        return {table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


def our_accounts(tenant, wallet) -> dict:
    """Our side's statement account of a top-up and a GET wallet, through Django's full handler here."""
    from django.test import Client

    client = Client(HTTP_X_API_KEY=tenant.api_key, HTTP_HOST="127.0.0.1")
    keys = iter(range(10**9))

    def top_up():
        body = {"credits_to_add": "10", "transaction_reason": "FREE_CREDIT_GRANT", "idempotency_key": f"count-{next(keys)}"}
        return client.post(f"/v1/wallets/{wallet.id}/top-up", json.dumps(body), content_type="application/json")

    return {"top-up": account_of(top_up), "GET wallet": account_of(lambda: client.get(f"/v1/wallets/{wallet.id}"))}


def main() -> int:
    parser = harness.arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]), database="billing_bench_peer")
    parser.add_argument("--wallets", type=int, default=10_000, help="wallets on our side and gift cards on pretix's")
    parser.add_argument("--pretix-database", default="pretix_bench_peer", help="recreated on every run")
    parser.add_argument("--pretix-redis-db", type=int, default=13, help="pretix's own Redis db, emptied before and after")
    args = parser.parse_args()
    try:
        return run(args)
    finally:  # a failed run leaves nothing behind either
        flush_redis(args.pretix_redis_db)
        if not args.keep:
            for database in (args.database, args.pretix_database):
                harness._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def run(args) -> int:
    """Set both sides up, measure them in alternating rounds, record; the exit code (0: all answered, all accounted)."""
    python = pretix_python()
    folder = VENVS / "runs" / args.pretix_database
    template = pretix_template(python, folder, args.pretix_redis_db)
    setup = harness.prepare(args, wallets=args.wallets, lots=wallet_lots())
    ours_accounts = our_accounts(setup.tenant, setup.wallets[0])
    from django.db import connections

    connections.close_all()
    harness._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(args.pretix_database)))
    harness._admin(
        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(args.pretix_database), sql.Identifier(template))
    )
    flush_redis(args.pretix_redis_db)
    peer = PretixServer(
        database=args.pretix_database,
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads,
        server=args.server,
        python=python,
    )
    peer.config = write_config(folder, database=args.pretix_database, redis_db=args.pretix_redis_db, url=peer.url)
    loaded = json.loads(run_setup(python, peer.config, "load", "--cards", str(args.wallets)).strip().splitlines()[-1])
    peer_accounts = json.loads(
        run_setup(
            python,
            peer.config,
            "count",
            "--organizer",
            loaded["organizer"],
            "--token",
            loaded["token"],
            "--card",
            str(loaded["cards"][0]),
        )
        .strip()
        .splitlines()[-1]
    )

    cards = f"/api/v1/organizers/{loaded['organizer']}/giftcards"
    authorization = (("Authorization", f"Token {loaded['token']}"),)
    loads = {
        OURS_TOP_UP: top_up_requests(setup.wallets, setup.tenant.api_key),
        PEER_TRANSACT: load.Requests(
            "POST",
            [f"{cards}/{card}/transact/" for card in loaded["cards"]],
            body=json.dumps(TRANSACT_BODY),
            headers=authorization,
        ),
        OURS_READ: load.Requests("GET", [f"/v1/wallets/{wallet.id}" for wallet in setup.wallets], setup.tenant.api_key),
        PEER_READ: load.Requests("GET", [f"{cards}/{card}/" for card in loaded["cards"]], headers=authorization),
    }
    our_tables, peer_tables = ("wallets_wallettransaction",), ("pretixbase_giftcardtransaction", "pretixbase_logentry")
    rows_before = count_rows(args.database, *our_tables) | count_rows(args.pretix_database, *peer_tables)
    options = {"clients": args.clients, "generator": args.generator}
    with harness.server_for(args) as ours, peer:
        servers = {OURS_TOP_UP: ours, PEER_TRANSACT: peer, OURS_READ: ours, PEER_READ: peer}
        warm_ups = [load.http_phase("warm-up", servers[name], loads[name], seconds=1, **options) for name in loads]
        runs = load.interleaved(
            {
                name: (lambda name=name: load.http_phase(name, servers[name], loads[name], seconds=args.seconds, **options))
                for name in loads
            },
            args.rounds,
        )
        described = ours.describe()
    rows_after = count_rows(args.database, *our_tables) | count_rows(args.pretix_database, *peer_tables)
    written = {table: rows_after[table] - rows_before[table] for table in rows_after}

    from wallets.ledger.integrity import check_all

    problems = check_all()
    phases = {name: load.median_phase(rounds) for name, rounds in runs.items()}
    ratios = {
        "top-ups": load.ratio(runs[OURS_TOP_UP], runs[PEER_TRANSACT]),
        "reads": load.ratio(runs[OURS_READ], runs[PEER_READ]),
    }
    answered = {
        name: sum(p.requests - p.failures for p in [warm_up, *runs[name]]) for name, warm_up in zip(loads, warm_ups, strict=True)
    }
    # wrk stops without waiting for requests in flight: up to one uncounted write per client and phase.
    slack = args.clients * (1 + args.rounds)
    accounted = {
        "ours": answered[OURS_TOP_UP] <= written["wallets_wallettransaction"] <= answered[OURS_TOP_UP] + slack,
        "pretix": answered[PEER_TRANSACT] <= written["pretixbase_giftcardtransaction"] <= answered[PEER_TRANSACT] + slack
        and written["pretixbase_logentry"] == written["pretixbase_giftcardtransaction"],
    }
    failures = sum(phase.failures for rounds in runs.values() for phase in rounds)
    print(
        json.dumps(
            {
                "ratios": ratios,
                "phases": [p.as_dict() for p in phases.values()],
                "server": described,
                "statements": {"ours": ours_accounts, "pretix": peer_accounts},
                "rows_written": written,
                "accounted": accounted,
                "ledger_problems": len(problems),
            }
        )
    )
    if not args.no_results:
        results.record(
            "Peer",
            summary_rows(phases, ratios),
            details(args, setup.machine, described, runs, phases, ratios, ours_accounts, peer_accounts, written),
            path=args.results,
        )
    connections.close_all()
    return 0 if failures == 0 and not problems and all(accounted.values()) else 1


def summary_rows(phases, ratios) -> list[list[str]]:
    rows = []
    for kind, (ours, peer), unit in (
        ("top-ups", (OURS_TOP_UP, PEER_TRANSACT), "top-ups"),
        ("reads", (OURS_READ, PEER_READ), "req"),
    ):
        label = (
            "Peer pretix: our POST top-up / its transact" if kind == "top-ups" else "Peer pretix: our GET wallet / its card GET"
        )
        met = ratios[kind] >= TARGET_RATIO and phases[ours].failures == 0
        rows.append(
            [
                label,
                phases[ours].summary(unit),
                f"pretix {PRETIX_VERSION}: {phases[peer].summary('req')}",
                f"{ratios[kind]:.2f}",
                f"≥ {TARGET_RATIO} × pretix",
                ("met: " if met else "not met: ") + results.distance(ratios[kind], TARGET_RATIO),
                harness.today(),
                f"`{harness.command_line()}`",
            ]
        )
    return rows


def _account_cell(account: dict) -> str:
    writes = ", ".join(f"{count} {write}" for write, count in account["writes"].items()) or "none"
    return f"{account['statements']} | {account['locks']} | {writes} | {account['redis']}"


def cpu_per_request(phases) -> str:
    def cell(phase):
        return f"{phase.name} {phase.server_cpu * 10 / phase.ops:.1f} + {phase.db_cpu * 10 / phase.ops:.1f} ms"

    return ", ".join(cell(phase) for phase in phases.values() if phase.ops and phase.server_cpu is not None)


def details(args, machine, server, runs, phases, ratios, ours_accounts, peer_accounts, written) -> str:
    each_round = "; ".join(
        f"{kind}: "
        + ", ".join(f"{m.ops / p.ops:.2f} ({m.ops:.0f}/{p.ops:.0f})" for m, p in zip(runs[ours], runs[peer], strict=True))
        for kind, ours, peer in (("top-ups", OURS_TOP_UP, PEER_TRANSACT), ("reads", OURS_READ, PEER_READ))
    )
    return f"""### Peer: pretix {PRETIX_VERSION} beside us ({harness.today()})

Machine: {machine}.
Both served by {server} (the same server version, pretix's in its own virtualenv under var/),
DEBUG off: ours on production settings, pretix on a configuration file with debug off, its own
secret, its own database on the same PostgreSQL and its own Redis db (cache and Celery broker;
no Celery worker runs for either side during the run).
{args.clients} clients, {args.wallets:,} wallets and as many gift cards (two ledger rows each),
{args.rounds} rounds of {args.seconds:g} s per phase, the four phases alternating (ours, pretix,
ours, pretix); figures are medians over rounds, each ratio the median of its rounds' ours/pretix.
Our top-ups carry a fresh idempotency key each (as B1); pretix's transact is sent without its
optional `X-Idempotency-Key` header (with it, pretix would also lock or insert a row per call
and store the response in it).

{results.phase_table(phases.values())}

Every round, ours/pretix (ours/pretix req/s): {each_round}.
CPU per request (medians' CPU / medians' throughput), server + database backends: {cpu_per_request(phases)}.
Rows written during the run: {", ".join(f"{table} {count}" for table, count in written.items())}.

**Work per request, measured**: one request of each kind through each application's full
Django handler in its own process (after 5 warm-ups), statements as Django records them,
BEGIN and COMMIT included (`benchmarks/peer_pretix_setup.py`, `statement_account`); Redis
sends as redis-py makes them (a pipeline is one).

| Request | statements | row locks | writes | Redis sends |
| --- | --- | --- | --- | --- |
| ours: POST /v1/wallets/{{id}}/top-up | {_account_cell(ours_accounts["top-up"])} |
| pretix: POST …/giftcards/{{id}}/transact/ | {_account_cell(peer_accounts["transact"])} |
| ours: GET /v1/wallets/{{id}} | {_account_cell(ours_accounts["GET wallet"])} |
| pretix: GET …/giftcards/{{id}}/ | {_account_cell(peer_accounts["card GET"])} |

{WORK_READ_FROM_CODE}"""


WORK_READ_FROM_CODE = f"""**Work per request, read from the code** (pretix {PRETIX_VERSION}, the gift-card view set of its
REST API, its token authentication and its logging mixin; ours, `wallets/` and `tenancy/`):
- *pretix transact*: finds the organizer by its slug and the token with its team (two reads,
  outside any transaction), then in one transaction reads the card with its value summed from
  all its transaction rows (the object lookup), reads it again with a row lock on the card,
  sums its transaction rows again to refuse a negative result, inserts the transaction row,
  inserts an audit log row (the request's value and text as JSON, with the token that made it)
  and queues a webhook notification task with Celery (the Redis sends above), then sums the
  transactions a third time and reads the organizer to answer. A card stores no balance: every
  read of its value sums its whole history.
- *pretix card GET*: organizer, token, and the card with its value summed in a subquery; no
  Redis (its API has no rate limit).
- *ours, top-up*: the API key is remembered per process (one Redis round trip carries the rate
  limit's count and the key generation); then one transaction locks the wallet row, which is
  also the wallet's only read (a published wallet of the key's environment, a 404 otherwise),
  inserts the ledger row and updates the wallet's cached balance. The idempotency key lives on
  the ledger row under a unique index, so a new key costs no lookup; there is no separate audit
  row (the ledger row is the record, with the key and the request's fingerprint).
- *ours, GET wallet*: the same Redis round trip, then one read of the wallet with its cached
  balances."""


if __name__ == "__main__":
    sys.exit(main())
