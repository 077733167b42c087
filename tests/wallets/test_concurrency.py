"""Concurrent top-ups and debits against PostgreSQL, then a reconcile (reliability.md §3.1 C1).

Real threads, each on its own database connection, hammer a hot wallet and a few cold ones
with random top-ups, debits (overdrawing manual debits included), replays and conflicting
replays. Afterwards wallets.ledger.integrity audits every invariant, and an independent tally of
what the callers were told (ok / refused) must match the stored balances exactly.

The negative controls prove the harness has teeth, with the test-only setting
LEDGER_UNSAFE_SKIP_WALLET_LOCK:
(a) lock off: the (wallet, sequence) unique constraint turns would-be lost updates into
    refused writes (IntegrityError), so the ledger still reconciles (defence in depth);
(b) lock off and that constraint (plus the per-row chain and balance CHECKs) dropped: lost
    updates land, and the reconcile must find them.
"""

import random
import threading
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from core.exceptions import AlreadyExists, InvalidOperation, ServiceError
from tests.wallets.services.concurrently import run_together
from wallets import services
from wallets.ledger import integrity, money
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
WORKERS = 8
OPS_PER_WORKER = 250
TOP_UP_REASONS = ["FREE_CREDIT_GRANT", "PURCHASED_CREDIT_DIRECT", "SUBSCRIPTION_CREDIT_GRANT", "CREDIT_NOTE"]
DEBIT_REASONS = ["MANUAL_BALANCE_DEBIT", "INVOICE_PAYMENT", "INVOICE_PAYMENT", "CREDIT_ADJUSTMENT"]


def random_credits(rng: random.Random, top: int) -> Decimal:
    """Between one billionth and ``top`` credits, with up to 9 decimal places."""
    return D(rng.randint(1, top * 10**9)).scaleb(-9)


def report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n[concurrency] {line}")


@pytest.fixture
def wallets(make_customer, make_wallet):
    """One hot wallet and three cold ones, each seeded with three lots worth 1000 credits."""
    first, second = make_customer(), make_customer()
    made = [make_wallet(first), make_wallet(first, currency="eur"), make_wallet(second), make_wallet(second, currency="eur")]
    later = timezone.now()
    for wallet in made:
        for credits, fields in (
            ("400", {"priority": 1, "expiry_date": later + timedelta(days=30)}),
            ("350", {"expiry_date": later + timedelta(days=60)}),
            ("250", {}),
        ):
            services.wallet_top_up(wallet, credits=D(credits), reason="FREE_CREDIT_GRANT", **fields)
    return made


class Worker:
    """One thread's random operations and what each caller was told."""

    def __init__(self, index: int, wallets):
        self.index = index
        self.rng = random.Random(20261122 + index)
        self.wallets = wallets
        self.stats = Counter()
        self.effects: Counter = Counter()  # wallet id → net credits of the calls answered "ok" (not replays)
        self.done: list[tuple] = []  # (kind, wallet, kwargs, transaction id) of every first-time success
        self.refused_keys: list[str] = []

    def run(self) -> None:
        for n in range(OPS_PER_WORKER):
            self.step(n)

    def pick_wallet(self):
        return self.wallets[0] if self.rng.random() < 0.5 else self.rng.choice(self.wallets[1:])

    def step(self, n: int) -> None:
        roll = self.rng.random()
        if roll < 0.10 and self.done:
            return self.replay()
        if roll < 0.15 and self.done:
            return self.conflicting_replay()
        wallet = self.pick_wallet()
        if roll < 0.55:
            kwargs = {
                "credits": random_credits(self.rng, 50),
                "reason": self.rng.choice(TOP_UP_REASONS),
                "priority": self.rng.choice([None, None, 0, 1, 2, 3]),
                "expiry_date": self.rng.choice([None, timezone.now() + timedelta(days=self.rng.randint(1, 90))]),
                "idempotency_key": f"t-{self.index}-{n}",
            }
            self.attempt("top_up", wallet, kwargs, +1)
        else:
            kwargs = {
                "credits": random_credits(self.rng, 60),
                "reason": self.rng.choice(DEBIT_REASONS),
                "idempotency_key": f"d-{self.index}-{n}",
            }
            self.attempt("debit", wallet, kwargs, -1)

    def call(self, kind, wallet, kwargs):
        service = services.wallet_top_up if kind == "top_up" else services.wallet_debit
        return service(wallet, **kwargs)

    def attempt(self, kind, wallet, kwargs, sign) -> None:
        self.stats["ops"] += 1
        try:
            result = self.call(kind, wallet, kwargs)
        except InvalidOperation:
            self.stats["refused_insufficient"] += 1
            self.refused_keys.append(kwargs["idempotency_key"])
            return
        self.stats["ok"] += 1
        if result.replayed:
            self.stats["unexpected_replay"] += 1
        self.effects[wallet.pk] += sign * kwargs["credits"]
        self.done.append((kind, wallet, kwargs, result.transaction.pk))

    def replay(self) -> None:
        kind, wallet, kwargs, transaction_id = self.rng.choice(self.done)
        self.stats["ops"] += 1
        result = self.call(kind, wallet, kwargs)
        self.stats["replayed"] += 1
        if not result.replayed or result.transaction.pk != transaction_id:
            self.stats["replay_with_new_effect"] += 1

    def conflicting_replay(self) -> None:
        kind, wallet, kwargs, _ = self.rng.choice(self.done)
        self.stats["ops"] += 1
        try:
            self.call(kind, wallet, {**kwargs, "credits": kwargs["credits"] + D("0.000000001")})
        except AlreadyExists:
            self.stats["refused_conflict"] += 1
        else:
            self.stats["conflict_accepted"] += 1


def test_random_top_ups_and_debits_reconcile(wallets, capsys):
    seeded = {wallet.pk: D("1000") for wallet in wallets}
    workers = [Worker(i, wallets) for i in range(WORKERS)]
    started = time.monotonic()
    _, errors = run_together(WORKERS, lambda i: workers[i].run())
    elapsed = time.monotonic() - started
    assert errors == [None] * WORKERS

    stats = sum((worker.stats for worker in workers), Counter())
    problems = integrity.check_all()
    expected = Counter(seeded)
    for worker in workers:
        expected.update(worker.effects)
    lost = sum(abs(expected[w.pk] - type(w).objects.get(pk=w.pk).credit_balance) for w in wallets)
    rows = WalletTransaction.objects.count()
    report(
        capsys,
        f"{WORKERS} workers × {OPS_PER_WORKER}: {stats['ops']} ops in {elapsed:.1f} s ({stats['ops'] / elapsed:.0f} ops/s): "
        f"{stats['ok']} ok, {stats['replayed']} replayed, {stats['refused_insufficient']} refused (insufficient), "
        f"{stats['refused_conflict']} refused (changed body); {rows} ledger rows; "
        f"{len(problems)} invariant problems; lost updates {money.format_decimal(lost)}",
    )
    assert stats["ops"] == WORKERS * OPS_PER_WORKER
    assert stats["ok"] > WORKERS * OPS_PER_WORKER // 2 and stats["refused_insufficient"] > 0, "the mix exercises both outcomes"
    assert problems == []
    assert lost == 0
    assert stats["unexpected_replay"] == stats["replay_with_new_effect"] == stats["conflict_accepted"] == 0
    # Every success is in the ledger exactly once; every refusal left no row.
    done_ids = [transaction_id for worker in workers for *_, transaction_id in worker.done]
    assert WalletTransaction.objects.filter(pk__in=done_ids).count() == len(set(done_ids)) == len(done_ids)
    refused = [key for worker in workers for key in worker.refused_keys]
    assert not WalletTransaction.objects.filter(idempotency_key__in=refused).exists()
    seed_rows = 3 * len(wallets)
    expiry_rows = WalletTransaction.objects.filter(transaction_reason="CREDIT_EXPIRED").count()
    assert rows == seed_rows + len(done_ids) + expiry_rows
    assert expiry_rows == 0, "no lot was due during the run"


# --- negative controls --------------------------------------------------------------------------

ROUNDS = 12
# The guards whose absence lets a lost update land: the per-wallet sequence's uniqueness, and the
# row/wallet arithmetic CHECKs (which a stale writer still satisfies, but drop them as the spec asks).
GUARDS = [
    ("wallets_wallettransaction", "wallet_transaction_unique_sequence"),
    ("wallets_wallettransaction", "wallet_transaction_balance_chain"),
    ("wallets_wallet", "wallet_balance_is_credits_times_rate"),
]


def race_on(wallet, rng_seed: int) -> Counter:
    """WORKERS threads, released together for each of ROUNDS rounds, each top up or debit ``wallet``."""
    each_round = threading.Barrier(WORKERS, timeout=60)
    stats = Counter()
    lock = threading.Lock()

    def worker(i):
        rng = random.Random(rng_seed + i)
        for r in range(ROUNDS):
            each_round.wait()
            key = f"r{rng_seed}-{i}-{r}"
            try:
                if rng.random() < 0.7:
                    services.wallet_top_up(
                        wallet, credits=random_credits(rng, 20), reason="FREE_CREDIT_GRANT", idempotency_key=key
                    )
                else:
                    services.wallet_debit(wallet, credits=random_credits(rng, 20), idempotency_key=key, reason="INVOICE_PAYMENT")
                outcome = "ok"
            except IntegrityError:
                outcome = "refused_by_database"
            except ServiceError:
                outcome = "refused_by_service"
            except Exception as exc:  # anything else is a harness failure, reported in the counts
                outcome = f"error {type(exc).__name__}: {exc}"
            with lock:
                stats[outcome] += 1

    _, errors = run_together(WORKERS, worker)
    assert errors == [None] * WORKERS
    return stats


def test_negative_control_a_lock_off_the_sequence_constraint_refuses_the_races(wallets, settings, capsys):
    settings.LEDGER_UNSAFE_SKIP_WALLET_LOCK = True
    stats = race_on(wallets[0], rng_seed=7)
    problems = integrity.check_all()
    report(capsys, f"control (a), lock off: {dict(stats)}; {len(problems)} invariant problems")
    assert set(stats) <= {"ok", "refused_by_database", "refused_by_service"}, stats
    assert stats["refused_by_database"] > 0, "without the lock, racing writers must collide on the sequence"
    assert problems == [], "the unique sequence turned every lost update into a refused write"


def _constraint_definitions() -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = ANY(%s)",
            [[name for _, name in GUARDS]],
        )
        return cursor.fetchall()


def test_negative_control_b_lock_and_guards_off_the_reconcile_finds_drift(wallets, settings, capsys):
    saved = _constraint_definitions()
    assert len(saved) == len(GUARDS)
    settings.LEDGER_UNSAFE_SKIP_WALLET_LOCK = True
    try:
        with connection.cursor() as cursor:
            for table, name in GUARDS:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        stats = race_on(wallets[0], rng_seed=11)
        problems = integrity.check_all()
        by_invariant = Counter(problem.invariant for problem in problems)
        report(
            capsys, f"control (b), lock and guards off: {dict(stats)}; {len(problems)} invariant problems {dict(by_invariant)}"
        )
        assert not any(outcome.startswith("error") for outcome in stats), stats
        assert problems, "lost updates must not go unnoticed"
        assert {"I1", "I8"} <= set(by_invariant)
        assert {problem.wallet_id for problem in problems} == {wallets[0].pk}, "only the raced wallet drifted"
    finally:
        settings.LEDGER_UNSAFE_SKIP_WALLET_LOCK = False
        with connection.cursor() as cursor:
            # The drifted rows would block the unique constraint; the test database is flushed after this test anyway.
            cursor.execute(
                "TRUNCATE wallets_creditallocation, wallets_wallettransaction, wallets_walletstatuschange, wallets_wallet CASCADE"
            )
            for table, name, definition in saved:
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    assert sorted(_constraint_definitions()) == sorted(saved)
