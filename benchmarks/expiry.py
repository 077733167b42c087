"""Credit expiry benchmark: N expiring credits over W wallets, swept by the real service.

Usage (from the project root, PostgreSQL running):
    .venv/bin/python benchmarks/expiry.py                       # 100,000 credits over 1,000 wallets
    .venv/bin/python benchmarks/expiry.py --credits 2000 --wallets 20   # the tiny CI size

It uses its own database (``billing_bench`` by default, recreated each run), loads the lots in
bulk (setup only: every balance and chain is consistent, and the ledger checker verifies it),
then measures:
- the sweep (wallets.services.automation.credits_expire_sweep): total time, credits per second,
  and the longest a wallet lock was held;
- a floor in the same run: the same database work per credit in plain SQL over psycopg
  (lock the wallet, insert a debit row, zero the lot, update the wallet, commit), on copies of
  the same tables. The ratio sweep/floor is the figure to compare between machines.
"""

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _setup_django(database: str) -> None:
    base = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{database}"')
    os.environ["DATABASE_URL"] = f"{base}/{database}"
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _load(credits: int, wallets: int, expiry):
    """Bulk-load ``credits`` lots of 1.5 credits over ``wallets`` wallets, all expired at ``expiry``."""
    from customers.services import customer_create
    from tenancy.services import environment_get_or_create
    from wallets.ledger import money
    from wallets.models import Wallet, WalletTransaction

    environment = environment_get_or_create(tenant_name="bench", environment_name="live")
    per_wallet = credits // wallets
    lot = Decimal("1.5")
    rows = []
    for number in range(wallets):
        customer = customer_create(environment=environment, external_id=f"bench-{number}")
        total = lot * per_wallet
        wallet = Wallet.objects.create(
            tenant_id=environment.tenant_id,
            environment=environment,
            customer=customer,
            currency="usd",
            name="Bench",
            conversion_rate=Decimal(1),
            topup_conversion_rate=Decimal(1),
            credit_balance=total,
            balance=money.credits_to_amount(total, rate=Decimal(1)),
            transaction_count=per_wallet,
        )
        for sequence in range(1, per_wallet + 1):
            rows.append(
                WalletTransaction(
                    tenant_id=environment.tenant_id,
                    environment=environment,
                    wallet=wallet,
                    customer=customer,
                    sequence=sequence,
                    type="credit",
                    transaction_reason="FREE_CREDIT_GRANT",
                    transaction_status="completed",
                    credit_amount=lot,
                    amount=lot,
                    currency="usd",
                    credit_balance_before=lot * (sequence - 1),
                    credit_balance_after=lot * sequence,
                    credits_available=lot,
                    expiry_date=expiry,
                    topup_conversion_rate=Decimal(1),
                    idempotency_key=f"bench-{number}-{sequence}",
                )
            )
        if len(rows) >= 20_000:
            WalletTransaction.objects.bulk_create(rows)
            rows = []
    WalletTransaction.objects.bulk_create(rows)
    return per_wallet * wallets


def _floor(credits: int) -> tuple[float, float]:
    """The same per-credit work in plain SQL on copies of the tables; returns (seconds, longest lock ms)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE floor_wallet AS SELECT id, credit_balance FROM wallets_wallet")
        cursor.execute("ALTER TABLE floor_wallet ADD PRIMARY KEY (id)")
        cursor.execute("CREATE TEMP TABLE floor_lot AS SELECT id, wallet_id, credits_available FROM wallets_wallettransaction")
        cursor.execute("ALTER TABLE floor_lot ADD PRIMARY KEY (id)")
        cursor.execute(
            "CREATE TEMP TABLE floor_debit (id bigserial PRIMARY KEY, wallet_id text, lot_id text UNIQUE, credits numeric(20,9))"
        )
        cursor.execute("SELECT id, wallet_id, credits_available FROM floor_lot ORDER BY wallet_id, id")
        lots = cursor.fetchall()
    raw = connection.connection  # the psycopg connection under Django's
    raw.autocommit = False
    longest = 0.0
    started = time.perf_counter()
    for lot_id, wallet_id, available in lots:
        began = time.perf_counter()
        with raw.cursor() as cursor:
            cursor.execute("SELECT credit_balance FROM floor_wallet WHERE id = %s FOR UPDATE", [wallet_id])
            cursor.execute(
                "INSERT INTO floor_debit (wallet_id, lot_id, credits) VALUES (%s, %s, %s)", [wallet_id, lot_id, available]
            )
            cursor.execute("UPDATE floor_lot SET credits_available = 0 WHERE id = %s", [lot_id])
            cursor.execute("UPDATE floor_wallet SET credit_balance = credit_balance - %s WHERE id = %s", [available, wallet_id])
        raw.commit()
        longest = max(longest, (time.perf_counter() - began) * 1000)
    raw.autocommit = True
    return time.perf_counter() - started, longest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credits", type=int, default=100_000)
    parser.add_argument("--wallets", type=int, default=1_000)
    parser.add_argument("--database", default="billing_bench")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    args = parser.parse_args()
    _setup_django(args.database)

    from django.utils import timezone

    from wallets.ledger.integrity import check_all
    from wallets.models import WalletTransaction
    from wallets.services.automation import credits_expire_sweep

    expiry = timezone.now() - timedelta(minutes=1)
    load_started = time.perf_counter()
    loaded = _load(args.credits, args.wallets, expiry)
    load_seconds = time.perf_counter() - load_started

    floor_seconds, floor_lock_ms = _floor(loaded)

    started = time.perf_counter()
    result = credits_expire_sweep()
    sweep_seconds = time.perf_counter() - started

    expired = WalletTransaction.objects.filter(transaction_reason="CREDIT_EXPIRED").count()
    problems = check_all()
    figures = {
        "credits": loaded,
        "wallets": args.wallets,
        "load_seconds": round(load_seconds, 1),
        "sweep_seconds": round(sweep_seconds, 2),
        "sweep_credits_per_second": round(loaded / sweep_seconds),
        "sweep_longest_lock_ms": round(result.longest_lock_ms, 1),
        "floor_seconds": round(floor_seconds, 2),
        "floor_credits_per_second": round(loaded / floor_seconds),
        "floor_longest_lock_ms": round(floor_lock_ms, 1),
        "ratio_to_floor": round(floor_seconds / sweep_seconds, 3),
        "expired_rows": expired,
        "ledger_problems": len(problems),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        width = max(map(len, figures))
        for name, value in figures.items():
            print(f"{name:<{width}}  {value}")
    ok = expired == loaded and result.credits_expired == loaded and not problems
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
