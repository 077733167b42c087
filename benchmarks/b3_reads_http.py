"""B3: the two hot reads over HTTP against a constant-JSON floor on the same server, 16 clients.

Usage (from the project root, PostgreSQL and Redis running; wrk used when installed):
    .venv/bin/python benchmarks/b3_reads_http.py
    .venv/bin/python benchmarks/b3_reads_http.py --wallets 20 --clients 4 --seconds 1 --rounds 1 --no-results  # CI size

Measured: ``GET /v1/customers/wallets?lookup_key=`` and ``GET /v1/wallets/{id}``, each on a
customer or wallet drawn at random from 10,000 (every wallet holds a purchased and a free lot,
so the breakdown has work to do). Floor, same server and middleware, same run:
``GET /bench/constant`` (benchmarks.bench_urls), a plain view answering wallet-sized JSON
bytes built once. Target: each read >= 0.40 x the floor's requests/s.
"""

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import harness, load, results  # noqa: E402

TARGET_RATIO = 0.40  # issue 12


def wallet_lots() -> list[harness.Lot]:
    """Each read wallet's lots (the peer benchmark's too): one purchased, one free that expires in a year."""
    return [
        harness.Lot(Decimal("100"), "PURCHASED_CREDIT_DIRECT"),
        harness.Lot(Decimal("25"), "FREE_CREDIT_GRANT", expiry=datetime.now(UTC) + timedelta(days=365)),
    ]


def main() -> int:
    parser = harness.arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]), database="billing_bench_b3")
    parser.add_argument("--wallets", type=int, default=10_000)
    args = parser.parse_args()
    setup = harness.prepare(args, wallets=args.wallets, lots=wallet_lots())
    machine, tenant, wallets = setup.machine, setup.tenant, setup.wallets

    floor = load.Requests("GET", ["/bench/constant"], tenant.api_key)
    lookup = load.Requests("GET", [f"/v1/customers/wallets?lookup_key=bench-{n}" for n in range(len(wallets))], tenant.api_key)
    by_id = load.Requests("GET", [f"/v1/wallets/{wallet.id}" for wallet in wallets], tenant.api_key)
    options = {"clients": args.clients, "seconds": args.seconds, "generator": args.generator}
    with harness.server_for(args) as server:
        for requests in (floor, lookup, by_id):
            load.http_phase("warm-up", server, requests, clients=args.clients, seconds=1, generator=args.generator)
        runs = load.interleaved(
            {
                "constant floor": lambda: load.http_phase("constant floor", server, floor, **options),
                "customer wallets": lambda: load.http_phase("customer wallets", server, lookup, **options),
                "wallet by id": lambda: load.http_phase("wallet by id", server, by_id, **options),
            },
            args.rounds,
        )
        description = server.describe()

    phases = {name: load.median_phase(rounds) for name, rounds in runs.items()}
    ratios = {name: load.ratio(runs[name], runs["constant floor"]) for name in ("customer wallets", "wallet by id")}
    failures = sum(phase.failures for phase in phases.values())
    print(json.dumps({"ratios": ratios, "phases": [p.as_dict() for p in phases.values()], "server": description}))
    if not args.no_results:
        base = phases["constant floor"]
        routes = {"customer wallets": "GET /v1/customers/wallets?lookup_key=", "wallet by id": "GET /v1/wallets/{id}"}
        rows = [
            [
                f"B3 {routes[name]}",
                phases[name].summary("req"),
                f"constant JSON {base.ops:.0f} req/s",
                f"{ratios[name]:.2f}",
                f"≥ {TARGET_RATIO}",
                ("met: " if ratios[name] >= TARGET_RATIO else "not met: ") + results.distance(ratios[name], TARGET_RATIO),
                harness.today(),
                f"`{harness.command_line()}`",
            ]
            for name in routes
        ]
        each_round = "; ".join(
            f"{name}: " + ", ".join(f"{m.ops:.0f}/{f.ops:.0f}" for m, f in zip(runs[name], runs["constant floor"], strict=True))
            for name in routes
        )
        results.record(
            "B3",
            rows,
            f"""### B3: hot reads over HTTP ({harness.today()})

Machine: {machine}. Server: {description}, DEBUG off, production settings plus the floor route.
{args.clients} clients, {args.wallets} wallets of 2 lots, {args.rounds} rounds of {args.seconds:g} s per phase,
the three phases alternating; figures are medians over rounds, each ratio the median of its rounds' read/floor.

{results.phase_table(phases.values())}

Every round (read/floor req/s): {each_round}.""",
            path=args.results,
        )
    if not args.keep:
        harness.drop_database(args.database)
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
