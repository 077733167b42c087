"""B2: debits on one hot wallet over HTTP, 16 clients, against pgbench doing the same work on that row.

Usage (from the project root, PostgreSQL and Redis running; wrk used when installed):
    .venv/bin/python benchmarks/b2_hot_wallet_debits.py
    .venv/bin/python benchmarks/b2_hot_wallet_debits.py --clients 4 --seconds 1 --rounds 1 --no-results  # CI size

Every request is ``POST /v1/wallets/{id}/debit`` (1 credit, MANUAL_BALANCE_DEBIT, a fresh
idempotency key) on the same wallet, which holds one large lot; all of them queue on its row
lock, so this measures how long a debit holds the lock.

Floor, in the same run, on the same wallet and tables: pgbench at the same concurrency doing
a debit's database work (lock the wallet, find the first open lot, insert the debit row, take
the credit from the lot, record the allocation, update the wallet, commit). Target: HTTP
debits/s >= 0.55 x the floor's transactions/s, no failures; the ledger checker must then find
no problem on the wallet (the floor's rows are consistent ledger rows too).
"""

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import harness, load, results  # noqa: E402

TARGET_RATIO = 0.55  # issue 12
LOT_CREDITS = Decimal(10**9)


def floor_script(wallet_id: str) -> str:
    """pgbench: the database work of one 1-credit debit on the hot wallet."""
    return f"""BEGIN;
SELECT credit_balance AS balance, transaction_count AS count FROM wallets_wallet WHERE id = '{wallet_id}' FOR UPDATE \\gset
SELECT id AS lot FROM wallets_wallettransaction
WHERE wallet_id = '{wallet_id}' AND type = 'credit' AND transaction_status = 'completed' AND credits_available > 0
  AND (expiry_date IS NULL OR expiry_date > now())
ORDER BY priority ASC NULLS LAST, expiry_date ASC NULLS LAST, credit_amount DESC, created_at, id LIMIT 50 \\gset
INSERT INTO wallets_wallettransaction (
    id, tenant_id, environment_id, wallet_id, customer_id, sequence, type, transaction_reason, transaction_status,
    credit_amount, amount, credit_balance_before, credit_balance_after, credits_available, currency, conversion_rate,
    reference_type, reference_id, description, metadata, idempotency_key, request_fingerprint, status, created_at,
    updated_at, created_by, updated_by)
SELECT 'wtxn_floor_' || md5(random()::text || clock_timestamp()::text), tenant_id, environment_id, id, customer_id,
    :count + 1, 'debit', 'MANUAL_BALANCE_DEBIT', 'completed', 1, 1, :balance, :balance - 1, 0, currency,
    conversion_rate, 'REQUEST', 'floor', '', jsonb_build_object('consumed_credit_tx_ids', ':lot'),
    'floor-' || md5(random()::text || clock_timestamp()::text), '', 'published', now(), now(), 'floor', 'floor'
FROM wallets_wallet WHERE id = '{wallet_id}'
RETURNING id AS debit \\gset
UPDATE wallets_wallettransaction SET credits_available = credits_available - 1, updated_at = now() WHERE id = ':lot';
INSERT INTO wallets_creditallocation (debit_id, credit_id, credits, created_at) VALUES (':debit', ':lot', 1, now());
UPDATE wallets_wallet SET credit_balance = credit_balance - 1, balance = balance - 1,
    transaction_count = transaction_count + 1, updated_at = now(), updated_by = 'floor'
WHERE id = '{wallet_id}';
END;
"""


def main() -> int:
    parser = harness.arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]), database="billing_bench_b2")
    args = parser.parse_args()
    setup = harness.prepare(args, wallets=1, lots=[harness.Lot(LOT_CREDITS)])
    wallet = setup.wallets[0]

    body = json.dumps({"credits": "1", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "{key}"})
    requests = load.Requests("POST", [f"/v1/wallets/{wallet.id}/debit"], setup.tenant.api_key, body)
    with harness.server_for(args) as server:
        run = load.compare_with_pgbench(args, server, requests, floor_script(wallet.id), "HTTP debits")

    from wallets.ledger.integrity import check_wallet
    from wallets.models import WalletTransaction

    floor, http, ratio = run.floor, run.http, run.ratio
    written = WalletTransaction.objects.filter(type="debit").exclude(created_by="floor").count()
    problems = check_wallet(wallet)
    print(
        json.dumps(
            {
                "ratio": round(ratio, 3),
                "http": http.as_dict(),
                "floor": floor.as_dict(),
                "server": run.server,
                "debits_written_by_http": written,
                "ledger_problems": len(problems),
            }
        )
    )
    ok = not problems and http.failures == 0 and floor.failures == 0 and run.accounts_for(written)
    if not args.no_results:
        met = ratio >= TARGET_RATIO and http.failures == 0
        results.record(
            "B2",
            [
                [
                    "B2 debits on one hot wallet",
                    http.summary("debits"),
                    f"pgbench {floor.ops:.0f} tx/s",
                    f"{ratio:.2f}",
                    f"≥ {TARGET_RATIO}",
                    ("met: " if met else "not met: ") + results.distance(ratio, TARGET_RATIO),
                    harness.today(),
                    f"`{harness.command_line()}`",
                ]
            ],
            f"""### B2: debits on one hot wallet ({harness.today()})

Machine: {setup.machine}. Server: {run.server}, DEBUG off, production settings. {args.clients} clients on
one wallet, {args.rounds} rounds of {args.seconds:g} s per phase, floor and HTTP alternating; figures are
medians over rounds, the ratio is the median of each round's HTTP/floor.

{
                results.pgbench_comparison(
                    run,
                    written=f"Debits written over HTTP: {written} ({run.answered} answered 2xx; accounted for: "
                    f"{run.accounts_for(written)}); ledger checker problems on the wallet: {len(problems)}.",
                    floor_heading=f"Floor script (pgbench, {args.clients} clients; the wallet id is written in):",
                    floor_sql=floor_script("WALLET_ID"),
                )
            }""",
            path=args.results,
        )
    if not args.keep:
        harness.drop_database(args.database)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
