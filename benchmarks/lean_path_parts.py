"""The CPU of each part of the request path that issue 12 replaced, old and new side by side, in process.

Usage (from the project root, PostgreSQL and Redis running):
    .venv/bin/python benchmarks/lean_path_parts.py

A change worth 20-50 µs per request is lost in the noise of a whole request measured on a busy
2-core machine (benchmarks/per_request.py moves by ±0.2 ms between runs), so each part is timed
on its own, the old way and the new way alternated in one process, as CPU time per call (median
of 7 batches): rendering a wallet and a top-up's body (DRF's JSONRenderer against
core.api.renderers), building and validating a top-up's body (DRF's deep copy of every field
against core.api.serializers), and running GET wallet's statement through psycopg with
client-side against server-side binding (prepared after a few runs).
"""

import argparse
import json
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402


def cpu_us(call, *, calls: int, batches: int = 7) -> float:
    """CPU microseconds per ``call()``, median of ``batches`` batches of ``calls``."""
    for _ in range(min(calls, 200)):
        call()
    figures = []
    for _ in range(batches):
        started = time.process_time()
        for _ in range(calls):
            call()
        figures.append((time.process_time() - started) / calls * 1e6)
    return statistics.median(figures)


def compare(name: str, old, new, *, calls: int) -> dict:
    """Old and new alternated twice; the lower of each side's two medians."""
    old_us, new_us = [], []
    for _ in range(2):
        old_us.append(cpu_us(old, calls=calls))
        new_us.append(cpu_us(new, calls=calls))
    return {"part": name, "old_us": round(min(old_us), 1), "new_us": round(min(new_us), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="billing_bench_parts")
    parser.add_argument("--template", help="clone this migrated database instead of migrating")
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    setup = harness.prepare(args, wallets=10, lots=[harness.Lot(Decimal(100), "PURCHASED_CREDIT_DIRECT")])

    import psycopg
    from django.db import connection
    from rest_framework import renderers, serializers

    from core.api.renderers import JSONRenderer
    from wallets import selectors
    from wallets.api import render
    from wallets.api.serializers import WalletTopUpInputSerializer

    class DeepCopiedTopUp(WalletTopUpInputSerializer):
        get_fields = serializers.Serializer.get_fields  # DRF's own: a deep copy of every declared field

    wallet = setup.wallets[0]
    environment_id = setup.tenant.environment.id
    wallet_body = render.one_wallet_data(selectors.wallet_get(environment_id=environment_id, wallet_id=wallet.id))
    top_up_body = {**wallet_body, "wallet_transaction": dict(wallet_body), "wallet": wallet_body}
    top_up_input = {"credits_to_add": "10", "transaction_reason": "FREE_CREDIT_GRANT", "idempotency_key": "k-1"}
    now = connection.ops.adapt_datetimefield_value(wallet.created_at)
    wallet_statement, wallet_params = selectors._wallet_sql(), [now, now, environment_id, wallet.id]
    connection.close()
    url = harness.database_url(args.database)
    client_side = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor)
    server_side = psycopg.connect(url, autocommit=True)

    def run(database):
        return lambda: database.execute(wallet_statement, wallet_params).fetchall()

    parts = [
        compare(
            "render a wallet",
            lambda: renderers.JSONRenderer().render(wallet_body, "application/json", {}),
            lambda: JSONRenderer().render(wallet_body, "application/json", {}),
            calls=args.calls * 4,
        ),
        compare(
            "render a top-up's body",
            lambda: renderers.JSONRenderer().render(top_up_body, "application/json", {}),
            lambda: JSONRenderer().render(top_up_body, "application/json", {}),
            calls=args.calls * 4,
        ),
        compare(
            "build and validate a top-up's body",
            lambda: DeepCopiedTopUp(data=top_up_input).is_valid(raise_exception=True),
            lambda: WalletTopUpInputSerializer(data=top_up_input).is_valid(raise_exception=True),
            calls=args.calls,
        ),
        compare(
            "GET wallet's statement through psycopg (client-side vs server-side binding)",
            run(client_side),
            run(server_side),
            calls=args.calls,
        ),
    ]
    client_side.close()
    server_side.close()
    for part in parts:
        print(json.dumps(part))
    harness.drop_database(args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
