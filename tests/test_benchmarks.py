"""Each benchmark (benchmarks/b1-b5) runs at a tiny size: the commands still work, end to end.

No timing is asserted: a benchmark's exit code says only that its requests succeeded, its
floor ran and the ledger checker found nothing. The five run at once, each with its own
databases (cloned from one migrated template) and its own server, to keep this quick. One of
them uses the asyncio load generator, so it is covered where wrk is installed too.

The peer benchmark (benchmarks/peer_pretix.py) runs on its own, after pretix is installed into
var/peer_pretix/ (kept there for the next run; the first install and pretix's migrations take
minutes, later runs reuse both); it is skipped when BENCH_SKIP_PEER is set or pip cannot
install pretix (no network, no PyPI).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

TINY = {
    "b1_top_up_http.py": ["--wallets", "20", "--clients", "4", "--seconds", "1", "--rounds", "1", "--workers", "2"],
    "b2_hot_wallet_debits.py": ["--clients", "4", "--seconds", "1", "--rounds", "1", "--workers", "2"],
    "b3_reads_http.py": [
        "--wallets",
        "20",
        "--clients",
        "4",
        "--seconds",
        "1",
        "--rounds",
        "1",
        "--workers",
        "2",
        "--generator",
        "asyncio",
    ],
    "b4_transaction_search.py": ["--rows", "2000", "4000", "--samples", "5", "--workers", "2"],
    "b5_debit_lots.py": ["--lots", "10", "100", "--samples", "5", "--workers", "2"],
}
SUMMARY_ROW = {
    "b1_top_up_http.py": "| B1 ",
    "b2_hot_wallet_debits.py": "| B2 ",
    "b3_reads_http.py": "| B3 GET /v1/wallets/{id} ",
    "b4_transaction_search.py": "| B4 search growth ",
    "b5_debit_lots.py": "| B5 ",
}


def _environment() -> dict:
    environment = {key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    return {**environment, "BENCH_REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Start all five tiny runs together; wait for each (output, exit code, results file)."""
    folder = tmp_path_factory.mktemp("benchmarks")
    template = f"bench_ci_template_{os.getpid()}"
    subprocess.run(
        [sys.executable, "benchmarks/harness.py", "--template", template],
        cwd=ROOT,
        env=_environment(),
        check=True,
        timeout=120,
    )
    started = {}
    for script, options in TINY.items():
        results = folder / f"{script}.md"
        command = [
            sys.executable,
            f"benchmarks/{script}",
            *options,
            "--template",
            template,
            "--database",
            f"bench_ci_{script[:2]}_{os.getpid()}",
            "--results",
            str(results),
        ]
        started[script] = (
            subprocess.Popen(command, cwd=ROOT, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
            results,
        )
    finished = {}
    for script, (process, results) in started.items():
        output, _ = process.communicate(timeout=180)
        finished[script] = (output, process.returncode, results)
    subprocess.run([sys.executable, "-c", _DROP, template], cwd=ROOT, env=_environment(), check=True, timeout=60)
    return finished


_DROP = """
import sys
sys.path.insert(0, ".")
import psycopg
from benchmarks.harness import database_url
with psycopg.connect(database_url("postgres"), autocommit=True) as connection:
    connection.execute(f'DROP DATABASE IF EXISTS "{sys.argv[1]}" WITH (FORCE)')
"""


@pytest.mark.parametrize("script", sorted(TINY))
def test_benchmark_runs_and_records_its_rows(runs, script):
    output, returncode, results = runs[script]
    assert returncode == 0, output
    text = results.read_text()
    assert SUMMARY_ROW[script] in text, text
    assert f"<!-- {script[:2].upper()}:begin -->" in text


@pytest.mark.timeout(1200)  # a cold machine installs pretix and runs its migrations first
def test_peer_benchmark_runs_beside_pretix(tmp_path):
    if os.environ.get("BENCH_SKIP_PEER"):
        pytest.skip("BENCH_SKIP_PEER is set")
    from benchmarks.peer_pretix import PRETIX_VERSION, pretix_python

    try:
        pretix_python()
    except subprocess.CalledProcessError as error:
        reason = (error.stderr or "").strip().splitlines()[-1:] or [f"exit {error.returncode}"]
        pytest.skip(f"pip could not install pretix {PRETIX_VERSION}: {reason[0]}")
    results = tmp_path / "RESULTS.md"
    command = [
        sys.executable,
        "benchmarks/peer_pretix.py",
        "--wallets",
        "20",
        "--clients",
        "4",
        "--seconds",
        "1",
        "--rounds",
        "1",
        "--workers",
        "2",
        "--threads",
        "2",
        "--generator",
        "asyncio",
        "--results",
        str(results),
        "--database",
        f"bench_ci_peer_{os.getpid()}",
        "--pretix-database",
        f"pretix_ci_peer_{os.getpid()}",
        "--pretix-redis-db",
        "12",
    ]
    completed = subprocess.run(command, cwd=ROOT, env=_environment(), capture_output=True, text=True, timeout=1100)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    text = results.read_text()
    assert "| Peer pretix: our POST top-up / its transact " in text, text
    assert "| Peer pretix: our GET wallet / its card GET " in text, text
    assert "<!-- Peer:begin -->" in text
