"""B5: a debit's latency against the lots a wallet holds (10, 1,000, 100,000) and the lots it consumes.

Usage (from the project root, PostgreSQL and Redis running):
    .venv/bin/python benchmarks/b5_debit_lots.py
    .venv/bin/python benchmarks/b5_debit_lots.py --lots 10 100 --samples 5 --no-results  # CI size

Each wallet holds N open lots of 1 credit (purchased and free alternating, half with an expiry
date). Measured over HTTP, one request at a time (``POST /v1/wallets/{id}/debit``):
- "holds N, takes 1": debits of 0.01 credit, each touching one lot, on the wallets of N lots;
- "holds the most, takes k": debits of k credits on the largest wallet, each consuming k lots.
Also counted: the SQL statements of one debit in the service (in this process).

Target: latency follows the lots a debit consumes, not those the wallet holds: p50 with the
most lots <= 1.5 x p50 with the fewest, at the same statement count.
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

TARGET_HOLDS_RATIO = 1.5
TAKES = (10, 100)


def lots(count: int) -> list[harness.Lot]:
    soon = datetime.now(UTC) + timedelta(days=30)
    return [
        harness.Lot(
            Decimal(1),
            "PURCHASED_CREDIT_DIRECT" if n % 2 else "FREE_CREDIT_GRANT",
            expiry=soon + timedelta(minutes=n) if n % 4 < 2 else None,
        )
        for n in range(count)
    ]


def statements_per_debit(wallet, credits: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.ids import new_id
    from wallets.services import wallet_debit

    with CaptureQueriesContext(connection) as queries:
        wallet_debit(wallet, credits=Decimal(credits), idempotency_key=new_id("count"))
    return len(queries.captured_queries)


def main() -> int:
    parser = harness.arguments(
        argparse.ArgumentParser(description=__doc__.splitlines()[0]), database="billing_bench_b5", concurrent=False
    )
    parser.add_argument("--lots", type=int, nargs="+", default=[10, 1_000, 100_000], help="lots held, one wallet each")
    parser.add_argument("--samples", type=int, default=200, help="debits measured per case")
    args = parser.parse_args()
    machine = harness.machine()
    harness.fresh_database(args.database, template=args.template)
    tenant = harness.bench_tenant()
    wallets = {n: harness.bulk_wallets(tenant.environment, 1, lots=lots(n), prefix=f"b5-{n}")[0] for n in args.lots}
    largest = wallets[max(args.lots)]
    statements = {n: statements_per_debit(wallet, "0.01") for n, wallet in wallets.items()}
    from django.db import connections

    connections.close_all()

    def debits(wallet, credits: str, count: int) -> list[tuple[str, str]]:
        # Keys unique across cases: a key seen before would be answered as a replay, not debited.
        return [
            (
                f"/v1/wallets/{wallet.id}/debit",
                json.dumps(
                    {
                        "credits": credits,
                        "transaction_reason": "MANUAL_BALANCE_DEBIT",
                        "idempotency_key": f"b5-{wallet.id}-{credits}-{n}",
                    }
                ),
            )
            for n in range(count)
        ]

    cases = {f"holds {n:,}, takes 1": debits(wallet, "0.01", args.samples) for n, wallet in wallets.items()}
    cases |= {f"holds {max(args.lots):,}, takes {k}": debits(largest, str(k), max(5, args.samples // 4)) for k in TAKES}
    figures = {}
    with harness.server_for(args) as server:
        load.one_at_a_time(server, "GET", [("/healthz", None)] * 20, tenant.api_key)  # every worker warm
        for name, calls in cases.items():
            latencies, failures = load.one_at_a_time(server, "POST", calls, tenant.api_key)
            figures[name] = {
                "requests": len(latencies),
                "failures": failures,
                "p50_ms": load.percentile(latencies, 50),
                "p95_ms": load.percentile(latencies, 95),
                "p99_ms": load.percentile(latencies, 99),
            }
            print(
                f"  {name:<26} p50 {figures[name]['p50_ms']:6.2f}  p95 {figures[name]['p95_ms']:6.2f}  "
                f"p99 {figures[name]['p99_ms']:6.2f} ms  failures {failures}",
                flush=True,
            )
        description = server.describe()

    from wallets.ledger.integrity import check_wallets
    from wallets.models import Wallet

    problems = check_wallets(Wallet.objects.all())
    # Every measured request must have written its own debit (a replayed key would be measured as a debit).
    from wallets.models import WalletTransaction

    written = WalletTransaction.objects.filter(idempotency_key__startswith="b5-wallet").count()
    requested = sum(len(calls) for calls in cases.values())
    fewest, most = f"holds {min(args.lots):,}, takes 1", f"holds {max(args.lots):,}, takes 1"
    holds_ratio = figures[most]["p50_ms"] / figures[fewest]["p50_ms"]
    failures = sum(figure["failures"] for figure in figures.values()) + (requested - written)
    print(
        json.dumps(
            {
                "holds_ratio": round(holds_ratio, 3),
                "cases": figures,
                "statements": statements,
                "debits_written": f"{written} of {requested}",
                "ledger_problems": len(problems),
            }
        )
    )
    if not args.no_results:
        same_statements = len(set(statements.values())) == 1
        met = holds_ratio <= TARGET_HOLDS_RATIO and same_statements and failures == 0
        table = [
            "| Case | p50 ms | p95 ms | p99 ms | requests | failures |",
            "| --- | --- | --- | --- | --- | --- |",
            *(
                f"| {name} | {f['p50_ms']:.2f} | {f['p95_ms']:.2f} | {f['p99_ms']:.2f} | {f['requests']} | {f['failures']} |"
                for name, f in figures.items()
            ),
        ]
        results.record(
            "B5",
            [
                [
                    "B5 debit vs lots held",
                    "p50 "
                    + ", ".join(f"{n:,} lots {figures[f'holds {n:,}, takes 1']['p50_ms']:.1f} ms" for n in args.lots)
                    + "; "
                    + ", ".join(f"takes {k}: {figures[f'holds {max(args.lots):,}, takes {k}']['p50_ms']:.1f} ms" for k in TAKES)
                    + f"; SQL per debit {sorted(set(statements.values()))}",
                    "— (the wallet with the fewest lots)",
                    f"{holds_ratio:.2f} (p50 most/fewest lots)",
                    f"≤ {TARGET_HOLDS_RATIO}, same statements",
                    ("met: " if met else "not met: ") + results.distance(holds_ratio, TARGET_HOLDS_RATIO, higher_is_better=False),
                    harness.today(),
                    f"`{harness.command_line()}`",
                ]
            ],
            f"""### B5: a debit against the lots a wallet holds ({harness.today()})

Machine: {machine}. Server: {description}, DEBUG off, production settings; one request at a time.
Lots of 1 credit, purchased and free alternating, half with an expiry date.

{chr(10).join(table)}

SQL statements of one 0.01-credit debit in the service, by lots held: {", ".join(f"{n:,}: {c}" for n, c in statements.items())}.
Debits written: {written} of {requested} requests. Ledger checker problems afterwards: {len(problems)}.""",
            path=args.results,
        )
    if not args.keep:
        harness.drop_database(args.database)
    return 0 if not problems and failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
