"""Where a worker's CPU goes, by layer: py-spy samples of one server worker under load, classified.

Usage (from the project root, PostgreSQL and Redis running; py-spy installed in .venv, wrk optional):
    .venv/bin/python benchmarks/layer_profile.py                      # top-up, GET wallet, customer wallets
    .venv/bin/python benchmarks/layer_profile.py --request top-up --seconds 20
    .venv/bin/python benchmarks/layer_profile.py --classify profile.txt  # a py-spy raw file recorded elsewhere

One worker (the benchmarks' server, worker class and threads) serves ``--clients`` closed-loop
clients on wallets loaded as in B1/B3, while ``py-spy record --rate 500 --gil -f raw`` samples
it. ``--gil`` keeps only the thread holding the interpreter lock: with several threads, a thread
waiting for the lock (or for PostgreSQL, Redis or a client) is not running Python. Each sample's
stack is given to one layer (``classify``): the leaf's library when it is one of psycopg, Redis
or JSON wherever they are called from; otherwise the stage of the request it is in (the server,
Django's handler and middleware, DRF's authentication, permissions and throttling, content
negotiation, parsing, rendering) and, inside the view, DRF serializers, the Django ORM or our
code. The shares are turned into milliseconds with the worker's user-space CPU per request,
read from /proc; the kernel's share (socket calls, polling) is given apart. The table goes to
the "layer profile" section of RESULTS.md under ``--label``.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import harness, load, results  # noqa: E402

LAYERS = (
    "server (gunicorn or granian: HTTP, sockets)",
    "Django handler, URL resolving, request/response",
    "Django middleware",
    "DRF request set-up and dispatch",
    "DRF authentication (with our key lookup)",
    "DRF permissions and throttling",
    "DRF content negotiation",
    "DRF parsing (with our JSON parser)",
    "DRF serializers (input validation)",
    "DRF rendering",
    "Django ORM",
    "our code (views, services, ledger, render)",
    "psycopg and Django's DB wrapper",
    "Redis client",
    "JSON encode/decode",
    "other",
)
WAITING = "waiting for PostgreSQL or Redis (not CPU)"

OUR_PACKAGES = ("billing", "core", "tenancy", "customers", "wallets", "invoices", "webhooks", "scheduling")
# DRF's stages, by the function of rest_framework/views.py (or request.py) that runs them.
DRF_STAGES = {
    "perform_authentication": "DRF authentication (with our key lookup)",
    "_authenticate": "DRF authentication (with our key lookup)",
    "check_permissions": "DRF permissions and throttling",
    "check_throttles": "DRF permissions and throttling",
    "perform_content_negotiation": "DRF content negotiation",
    "_parse": "DRF parsing (with our JSON parser)",
    "rendered_content": "DRF rendering",
}
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _frames(stack: str) -> list[tuple[str, str]]:
    """py-spy's ``a (file:line);b (file:line)`` (root first) as [(function, file)], thread names dropped."""
    frames = []
    for part in stack.split(";"):
        match = _FRAME.match(part.strip())
        if match:
            frames.append((match["function"], match["file"]))
    return frames


THIRD_PARTY = (
    "django",
    "rest_framework",
    "gunicorn",
    "granian",
    "psycopg",
    "psycopg_binary",
    "psycopg_pool",
    "redis",
    "whitenoise",
    "django_filters",
    "drf_spectacular",
    "asgiref",
    "orjson",
)
# Leaf frames where a thread sleeps until PostgreSQL, Redis or a client answers (py-spy may count them as active).
WAITS = (
    ("psycopg/", "Connection.wait"),
    ("psycopg/waiting.py", ""),
    ("redis/_parsers/socket.py", "SocketBuffer._read_from_socket"),
    ("stdlib/selectors.py", "select"),
    ("stdlib/concurrent/futures/thread.py", "_worker"),
)


def _package(file: str) -> str:
    """``django/db/models/query.py`` stays; our modules get ``ours/``, the standard library ``stdlib/``."""
    if "site-packages/" in file:
        file = file.split("site-packages/", 1)[1]
    elif file.startswith(str(ROOT) + "/"):
        file = file[len(str(ROOT)) + 1 :]
    top = file.split("/", 1)[0]
    if top in OUR_PACKAGES:
        return "ours/" + file
    if top in THIRD_PARTY:
        return file
    return "stdlib/" + file


def _name(function: str) -> str:
    """py-spy's qualified name (``APIView.dispatch``) without its class."""
    return function.rsplit(".", 1)[-1]


def classify(stack: str) -> str:
    """The layer of one sample (see the module docstring for the rules)."""
    frames = [(function, _package(file)) for function, file in _frames(stack)]
    if not frames:
        return "other"
    leaf_function, leaf = frames[-1]
    if any(leaf.startswith(package) and leaf_function.endswith(function) for package, function in WAITS):
        return WAITING
    # Leaf libraries, whoever calls them: the innermost frame outside the standard library decides.
    for _, package in reversed(frames):
        if package.startswith("stdlib/json/"):
            return "JSON encode/decode"
        if package.startswith("stdlib/"):
            continue
        if package.startswith(("psycopg", "django/db/backends/")):
            return "psycopg and Django's DB wrapper"
        if package.startswith("redis/"):
            return "Redis client"
        if package.startswith("orjson"):
            return "JSON encode/decode"
        break
    # Outside Django's handler: the server.
    if not any(p == "django/core/handlers/wsgi.py" and _name(f) == "__call__" for f, p in frames):
        return LAYERS[0]
    # DRF's stages, whatever they call (our authentication class and parser included).
    stage = None
    for function, package in frames:
        if package.startswith("rest_framework/") and _name(function) in DRF_STAGES:
            stage = DRF_STAGES[_name(function)]
    if stage:
        return stage
    package = next((p for _, p in reversed(frames) if not p.startswith("stdlib/")), "")
    in_view = any(p == "rest_framework/views.py" and _name(f) == "dispatch" for f, p in frames)
    if in_view:
        if package.startswith(("rest_framework/serializers.py", "rest_framework/fields.py", "rest_framework/utils/")):
            return "DRF serializers (input validation)"
        if package.startswith("django/db/"):
            return "Django ORM"
        if package.startswith("ours/") or any(p.startswith("ours/wallets/") for _, p in frames):
            return "our code (views, services, ledger, render)"  # with the Django utilities it calls
        return "DRF request set-up and dispatch"
    if package.startswith(
        ("django/middleware/", "django/contrib/", "whitenoise/", "django/utils/deprecation.py", "ours/core/security_headers.py")
    ):
        return "Django middleware"
    if package.startswith("rest_framework/"):
        return "DRF request set-up and dispatch"
    if package.startswith("django/db/"):
        return "Django ORM"
    if package.startswith("ours/"):
        return "our code (views, services, ledger, render)"
    if package.startswith(("django/", "asgiref/")):
        return "Django handler, URL resolving, request/response"
    if package.startswith(("gunicorn/", "granian/")):
        return LAYERS[0]
    return "other"


def layer_counts(raw: str) -> Counter:
    """Samples per layer in a py-spy raw file (``stack count`` per line)."""
    counts = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            counts[classify(stack)] += int(count)
    return counts


def shares(counts: Counter) -> dict[str, float]:
    """Each layer's share of the CPU samples (waiting left out), in percent."""
    busy = sum(n for layer, n in counts.items() if layer != WAITING) or 1
    return {layer: 100 * counts.get(layer, 0) / busy for layer in LAYERS}


def _requests(kind: str, tenant, wallets) -> load.Requests:
    if kind == "top-up":
        body = json.dumps({"credits_to_add": "10", "transaction_reason": "FREE_CREDIT_GRANT", "idempotency_key": "{key}"})
        return load.Requests("POST", [f"/v1/wallets/{w.id}/top-up" for w in wallets], tenant.api_key, body)
    if kind == "GET wallet":
        return load.Requests("GET", [f"/v1/wallets/{w.id}" for w in wallets], tenant.api_key)
    return load.Requests("GET", [f"/v1/customers/wallets?lookup_key={w.customer.external_id}" for w in wallets], tenant.api_key)


KINDS = ("top-up", "GET wallet", "customer wallets")


def _user_system(pid: int) -> tuple[float, float]:
    """CPU seconds ``pid`` has used so far in user space and in the kernel."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def record(args) -> dict[str, tuple[Counter, list[float], float]]:
    """Per kind: the samples per layer, the worker's [user, kernel] CPU ms per request (from /proc), requests/s."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    lots = [harness.Lot(Decimal("100"), "PURCHASED_CREDIT_DIRECT"), harness.Lot(Decimal("25"))]
    setup = harness.prepare(args, wallets=args.wallets, lots=lots)
    found = {}
    with harness.Server(
        database=args.database, workers=1, worker_class=args.worker_class, threads=args.threads, server=args.server
    ) as server:
        worker = next(pid for pid in server.pids() if pid != server.process.pid)
        for kind in args.request or KINDS:
            requests = _requests(kind, setup.tenant, setup.wallets)
            load.http_phase("warm-up", server, requests, clients=args.clients, seconds=2)
            with tempfile.NamedTemporaryFile(suffix=".txt") as output:
                spy = subprocess.Popen(
                    [
                        py_spy,
                        "record",
                        "-p",
                        str(worker),
                        "--rate",
                        str(args.rate),
                        "-d",
                        str(args.seconds),
                        "-f",
                        "raw",
                        "-o",
                        output.name,
                        "--gil",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(0.5)
                before = _user_system(worker)
                phase = load.http_phase(kind, server, requests, clients=args.clients, seconds=args.seconds - 1)
                used = zip(_user_system(worker), before, strict=True)
                cpu_ms = [(after - start) * 1000 / max(phase.requests, 1) for after, start in used]
                spy.wait(timeout=args.seconds + 60)
                raw = Path(output.name).read_text()
            if args.save_raw:
                Path(args.save_raw).with_suffix(f".{kind.replace(' ', '_')}.txt").write_text(raw)
            found[kind] = (layer_counts(raw), cpu_ms, phase.ops)
    if not args.keep:
        harness.drop_database(args.database)
    return found


def table(found: dict) -> str:
    """Shares of the GIL samples by layer; with CPU figures, each share of the worker's user-space CPU in ms."""
    kinds = list(found)
    header = "| Layer | " + " | ".join(kinds) + " |\n| --- |" + " --- |" * len(kinds)
    per_kind = {kind: shares(counts) for kind, (counts, _, _) in found.items()}
    lines = []
    for layer in LAYERS:
        if any(per_kind[k][layer] >= 0.05 for k in kinds):
            cells = []
            for kind in kinds:
                user_ms = found[kind][1][0] if found[kind][1] else 0
                share = per_kind[kind][layer]
                cells.append(f"{share:.1f}%" + (f" ({share * user_ms / 100:.2f} ms)" if user_ms else ""))
            lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    if all(found[k][1] for k in kinds):
        for name, index in (("user space", 0), ("kernel (sockets, poll)", 1)):
            lines.append(
                f"| **worker CPU per request, {name} (/proc)** | "
                + " | ".join(f"{found[k][1][index]:.2f} ms" for k in kinds)
                + " |"
            )
    samples = " | ".join(
        f"{sum(n for layer, n in found[k][0].items() if layer != WAITING)} (+{found[k][0].get(WAITING, 0)} waiting)"
        for k in kinds
    )
    return "\n".join([header, *lines, f"| samples holding the GIL | {samples} |"])


def main() -> int:
    parser = harness.arguments(
        argparse.ArgumentParser(description=__doc__.splitlines()[0]), database="billing_bench_profile", concurrent=False
    )
    parser.add_argument("--request", action="append", choices=KINDS, help="profile only this kind (repeatable)")
    parser.add_argument("--seconds", type=int, default=20, help="sampling time per kind")
    parser.add_argument("--rate", type=int, default=500, help="py-spy samples per second")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--wallets", type=int, default=2000)
    parser.add_argument("--label", default="current tree", help="names this profile in RESULTS.md")
    parser.add_argument("--save-raw", help="also keep each kind's raw py-spy output next to this path")
    parser.add_argument("--classify", type=Path, help="only classify this py-spy raw file and print its table")
    args = parser.parse_args()
    if args.classify:
        print(table({args.classify.name: (layer_counts(args.classify.read_text()), [], 0.0)}))
        return 0
    found = record(args)
    text = table(found)
    print(text)
    if not args.no_results:
        model = args.worker_class if args.server == "gunicorn" else "wsgi"
        rates = ", ".join(f"{kind} {ops:.0f}/s" for kind, (_, _, ops) in found.items())
        results.record(
            f"LAYERS {args.label}",
            [],
            f"""### Layer profile: {args.label} ({harness.today()})

`{harness.command_line()}` on {harness.machine()}. One {args.server} worker
({model}, {args.threads} threads), {args.clients} clients, py-spy at {args.rate} Hz
for {args.seconds} s per kind (throughput while sampled: {rates}). Share of the worker's CPU samples by layer, and that share
of the worker's measured CPU per request.

{text}""",
            path=args.results,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
