"""B4: the transaction search at 100k, 1M (and 10M) ledger rows, one request at a time.

Usage (from the project root, PostgreSQL and Redis running):
    .venv/bin/python benchmarks/b4_transaction_search.py                          # 100k and 1M rows
    .venv/bin/python benchmarks/b4_transaction_search.py --rows 100000 1000000 10000000
    .venv/bin/python benchmarks/b4_transaction_search.py --rows 2000 --samples 5 --no-results  # CI size

Each size gets its own database, loaded with COPY: wallets of 100 rows each (so a wallet's or a
customer's history is the same length at every size), credits and the debits that consume them
with their allocations, and the last 10 credits of each wallet still open, purchased and free,
free ones expiring 90 days after they were granted. One row every 3 seconds across the
environment, so a one-hour window holds the same rows at every size. Balances, chains and
allocations are consistent (the ledger checker is run on a sample of wallets).

Measured over HTTP (``POST /v1/wallets/transactions/search``, limit 50, newest first unless
sorted), each shape with random wallets, customers or windows:
by wallet; by customer (a filter); a one-hour time range over the environment; a wallet's
credits expiring before a date; a wallet's open lots (credits_available_gt 0); a customer's
rows sorted by credit_amount. EXPLAIN (ANALYZE, BUFFERS) of each shape's page and count
queries goes to the details, to show which index serves each.

Target: p95 <= 20 ms at the largest size, and p95(largest) <= 2 x p95(smallest) for every shape.
"""

import argparse
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import harness, load, results  # noqa: E402

TARGET_P95_MS = 20.0
TARGET_GROWTH = 2.0
ROWS_PER_WALLET = 100
OPEN_LOTS = 10
LOT = Decimal(10)
STEP = timedelta(seconds=3)
EXPIRY = timedelta(days=90)
SEARCH = "/v1/wallets/transactions/search"


def _label(rows: int) -> str:
    return f"{rows // 1_000_000}M" if rows >= 1_000_000 else f"{rows // 1000}k"


def load_ledger(environment, rows: int) -> tuple[int, datetime]:
    """COPY ``rows`` ledger rows (100 per wallet) with their customers, wallets and allocations; (wallets, first row time)."""
    wallets = max(1, rows // ROWS_PER_WALLET)
    tenant, env = environment.tenant_id, environment.id
    start = datetime.now(UTC).replace(microsecond=0) - STEP * (wallets * ROWS_PER_WALLET)
    now = datetime.now(UTC)

    def customer_id(w):
        return f"cust_B4{w:024d}"

    def wallet_id(w):
        return f"wallet_B4{w:024d}"

    def reason(i):
        return "PURCHASED_CREDIT_DIRECT" if (i // 2) % 2 else "FREE_CREDIT_GRANT"

    harness.copy_rows(
        "customers_customer",
        ("id", "tenant_id", "environment_id", "external_id", "created_at", "updated_at"),
        ((customer_id(w), tenant, env, f"b4-{w}", start, start) for w in range(wallets)),
        defaults={**harness.CUSTOMER_DEFAULTS, "name": ""},
    )
    open_purchased = LOT * sum(1 for i in range(ROWS_PER_WALLET - OPEN_LOTS, ROWS_PER_WALLET) if reason(i) != "FREE_CREDIT_GRANT")
    harness.copy_rows(
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
        (
            (
                wallet_id(w),
                tenant,
                env,
                customer_id(w),
                LOT * OPEN_LOTS,
                LOT * OPEN_LOTS,
                open_purchased,
                ROWS_PER_WALLET,
                start,
                now,
            )
            for w in range(wallets)
        ),
        defaults={**harness.WALLET_DEFAULTS, "name": ""},
    )

    def ledger():
        for i in range(ROWS_PER_WALLET):
            consumed = i < ROWS_PER_WALLET - OPEN_LOTS
            before = LOT * (i - (ROWS_PER_WALLET - OPEN_LOTS)) if not consumed else (LOT if i % 2 else Decimal(0))
            for w in range(wallets):
                g = i * wallets + w
                created = start + STEP * g
                common = {
                    "tenant_id": tenant,
                    "environment_id": env,
                    "wallet_id": wallet_id(w),
                    "customer_id": customer_id(w),
                    "sequence": i + 1,
                    "before": before,
                    "created_at": created,
                    "key": f"b4-{g}",
                    "row_id": f"wtxn_B4{g:024d}",
                }
                if consumed and i % 2:  # a debit taking the whole credit just before it
                    lot = f"wtxn_B4{g - wallets:024d}"
                    yield harness.ledger_row(
                        type="debit",
                        reason="MANUAL_BALANCE_DEBIT",
                        credits=LOT,
                        available=0,
                        metadata=json.dumps({"consumed_credit_tx_ids": lot}),
                        **common,
                    )
                else:
                    expiry = created + EXPIRY if reason(i) == "FREE_CREDIT_GRANT" else None
                    yield harness.ledger_row(
                        type="credit", reason=reason(i), credits=LOT, available=0 if consumed else LOT, expiry=expiry, **common
                    )

    def allocations():
        for i in range(1, ROWS_PER_WALLET - OPEN_LOTS, 2):
            for w in range(wallets):
                g = i * wallets + w
                yield f"wtxn_B4{g:024d}", f"wtxn_B4{g - wallets:024d}", LOT, start + STEP * g

    with harness.indexes_rebuilt("wallets_wallettransaction", "wallets_creditallocation"):
        harness.copy_ledger(ledger())
        harness.copy_rows("wallets_creditallocation", ("debit_id", "credit_id", "credits", "created_at"), allocations())
    harness.analyze()
    return wallets, start


def loaded_ledger() -> tuple[int, datetime]:
    """(wallets, first row time) of a ledger ``load_ledger`` wrote earlier."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM wallets_wallet WHERE id LIKE 'wallet_B4%%'")
        wallets = cursor.fetchone()[0]
        cursor.execute("SELECT created_at FROM wallets_wallettransaction WHERE id = 'wtxn_B4' || lpad('0', 24, '0')")
        return wallets, cursor.fetchone()[0]


def shapes(rng: random.Random, wallets: int, start: datetime, rows: int) -> dict:
    """Each search shape: a function giving a fresh request body."""

    def wallet():
        return f"wallet_B4{rng.randrange(wallets):024d}"

    def customer():
        return {"field": "customer_id", "operator": "eq", "value": {"string": f"cust_B4{rng.randrange(wallets):024d}"}}

    def window():
        begin = start + STEP * rng.randrange(max(1, rows - 1200))
        return {"start_time": _rfc3339(begin), "end_time": _rfc3339(begin + timedelta(hours=1))}

    def expiring():
        return _rfc3339(start + EXPIRY + STEP * rng.randrange(max(1, rows)))

    return {
        "by wallet": lambda: {"id": wallet(), "limit": 50},
        "by customer": lambda: {"filters": [customer()], "limit": 50},
        "time range (1 h)": lambda: {**window(), "limit": 50},
        "wallet, expiring before": lambda: {"id": wallet(), "expiry_date_before": expiring(), "limit": 50},
        "wallet, credits_available_gt 0": lambda: {"id": wallet(), "credits_available_gt": 0, "limit": 50},
        "customer, sorted by credit_amount": lambda: {
            "filters": [customer()],
            "sort": [{"field": "credit_amount", "direction": "desc"}],
            "limit": 50,
        },
    }


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def explain(api_key: str, body: dict) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the ledger queries one search runs (its page and its count)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_X_API_KEY=api_key, HTTP_HOST="127.0.0.1")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(SEARCH, json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    plans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            if "wallets_wallettransaction" in query["sql"]:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY OFF) " + query["sql"])
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return "\n\n".join(plans)


def measure(args, rows: int) -> dict:
    from django.db import connections

    database = f"{args.database}_{_label(rows).lower()}"
    if args.reuse and harness.database_exists(database):
        # A ledger kept by an earlier --keep run (the 10M load takes long): measure it as it is.
        harness.existing_database(database)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # a kept load may predate a migration (an index)
        tenant = harness.bench_tenant()
        wallets, start = loaded_ledger()
    else:
        harness.fresh_database(database, template=args.template)
        tenant = harness.bench_tenant()
        wallets, start = load_ledger(tenant.environment, rows)
    if args.load_only:
        return {}
    from wallets.ledger.integrity import check_wallets
    from wallets.models import Wallet

    sample = Wallet.objects.order_by("?")[:50] if wallets > 50 else Wallet.objects.all()
    problems = check_wallets(Wallet.objects.filter(pk__in=[w.pk for w in sample]))
    rng = random.Random(rows)
    bodies = shapes(rng, wallets, start, wallets * ROWS_PER_WALLET)
    plans = {name: explain(tenant.api_key, make()) for name, make in bodies.items()}
    connections.close_all()
    figures = {}
    with harness.server_for(args, database) as server:
        for name, make in bodies.items():
            load.one_at_a_time(server, "POST", [(SEARCH, json.dumps(make())) for _ in range(10)], tenant.api_key)
            latencies, failures = load.one_at_a_time(
                server, "POST", [(SEARCH, json.dumps(make())) for _ in range(args.samples)], tenant.api_key
            )
            figures[name] = {
                "p50_ms": load.percentile(latencies, 50),
                "p95_ms": load.percentile(latencies, 95),
                "p99_ms": load.percentile(latencies, 99),
                "failures": failures,
            }
            print(
                f"  {_label(rows):>4} {name:<34} p50 {figures[name]['p50_ms']:6.2f}  p95 {figures[name]['p95_ms']:6.2f}"
                f"  p99 {figures[name]['p99_ms']:6.2f} ms  failures {failures}",
                flush=True,
            )
        description = server.describe()
    if not args.keep:
        harness.drop_database(database)
    return {"figures": figures, "plans": plans, "problems": len(problems), "server": description}


def main() -> int:
    parser = harness.arguments(
        argparse.ArgumentParser(description=__doc__.splitlines()[0]), database="billing_bench_b4", concurrent=False
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000], help="ledger sizes, smallest first")
    parser.add_argument("--samples", type=int, default=200, help="requests measured per shape and size")
    parser.add_argument("--load-only", action="store_true", help="load each size's database (use with --keep) and stop")
    parser.add_argument(
        "--reuse", action="store_true", help="measure a size's database kept by an earlier run instead of loading it"
    )
    args = parser.parse_args()
    machine = harness.machine()
    sizes = {rows: measure(args, rows) for rows in sorted(args.rows)}
    if args.load_only:
        return 0
    smallest, largest = min(sizes), max(sizes)
    names = list(sizes[smallest]["figures"])
    growth = {name: sizes[largest]["figures"][name]["p95_ms"] / sizes[smallest]["figures"][name]["p95_ms"] for name in names}
    worst_p95 = max(figure["p95_ms"] for figure in sizes[largest]["figures"].values())
    failures = sum(f["failures"] for size in sizes.values() for f in size["figures"].values())
    problems = sum(size["problems"] for size in sizes.values())
    print(
        json.dumps(
            {"worst_p95_ms_largest": round(worst_p95, 2), "growth": growth, "failures": failures, "ledger_problems": problems}
        )
    )
    if not args.no_results:
        table = [
            "| Shape | " + " | ".join(f"{_label(r)} p50 / p95 / p99 ms" for r in sizes) + " | p95 growth |",
            "| --- |" + " --- |" * (len(sizes) + 1),
        ]
        for name in names:
            cells = [
                f"{f['p50_ms']:.1f} / {f['p95_ms']:.1f} / {f['p99_ms']:.1f}" for f in (s["figures"][name] for s in sizes.values())
            ]
            table.append(f"| {name} | " + " | ".join(cells) + f" | {growth[name]:.2f} |")
        plan_text = "\n\n".join(
            f"**{name}** ({_label(largest)} rows):\n\n```\n{plan}\n```" for name, plan in sizes[largest]["plans"].items()
        )
        rows = [
            [
                f"B4 search at {_label(r)} rows",
                "p95 " + ", ".join(f"{name} {f['p95_ms']:.1f}" for name, f in sizes[r]["figures"].items()) + " ms",
                "—",
                "—",
                f"p95 ≤ {TARGET_P95_MS:.0f} ms at the largest size",
                (
                    ("met: " if max(f["p95_ms"] for f in sizes[r]["figures"].values()) <= TARGET_P95_MS else "not met: ")
                    + "worst p95 "
                    + results.distance(
                        max(f["p95_ms"] for f in sizes[r]["figures"].values()), TARGET_P95_MS, higher_is_better=False
                    )
                )
                if r == largest
                else "(reference size)",
                harness.today(),
                f"`{harness.command_line()}`",
            ]
            for r in sizes
        ]
        rows.append(
            [
                f"B4 search growth {_label(smallest)} → {_label(largest)}",
                ", ".join(f"{name} ×{value:.2f}" for name, value in growth.items()),
                f"p95 at {_label(smallest)}",
                f"{max(growth.values()):.2f} (worst shape)",
                f"≤ {TARGET_GROWTH:.0f}",
                ("met: " if max(growth.values()) <= TARGET_GROWTH else "not met: ")
                + results.distance(max(growth.values()), TARGET_GROWTH, higher_is_better=False),
                harness.today(),
                f"`{harness.command_line()}`",
            ]
        )
        results.record(
            "B4",
            rows,
            f"""### B4: transaction search ({harness.today()})

Machine: {machine}. Server: {sizes[largest]["server"]}, DEBUG off, production settings; one request at a time,
{args.samples} per shape and size after 10 unmeasured, limit 50, each response carrying the total count.

{chr(10).join(table)}

Ledger checker problems on a sample of 50 wallets per size: {problems}. Failures: {failures}.

Plans at the largest size (page query, then count query):

{plan_text}""",
            path=args.results,
        )
    return 0 if failures == 0 and problems == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
