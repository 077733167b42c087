"""F6 (reliability.md §3.2): two beat processes at once, then no beat for two periods, then one again.

Two real ``celery beat`` processes on the production scheduler (django_celery_beat's, reading the
same schedule rows) each send the credit expiry sweep every second, as a deploy that left the old
beat running would; one worker with two pool processes runs the duplicate sweeps side by side
over the same 1,200 due credits. Each credit must expire exactly once (one CREDIT_EXPIRED row,
keyed by the credit's id, and nothing left in the credit), and the after-test ledger check must
find no drift. Then both beats stop, new credits fall due and stay unexpired for two periods; one
beat starts again and they expire.

Negative control: the same two beats with a worker built without the wallet lock
(tests/workers/unsafe_settings.py) on a database without the guards that refuse a second expiry
(the unique idempotency key, the unique per-wallet sequence): the duplicate sweeps then expire
credits twice, and the same count says so.
"""

import re
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.workers.worker_process import BeatProcess, WorkerProcess, lots_expiring_now, wait_for
from wallets.models import WalletTransaction

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SWEEP = "wallets.tasks.credits_expire_sweep_task"
PERIOD = 1  # seconds between two sends of the sweep by one beat
WALLETS, LOTS_PER_WALLET = 60, 20
# The indexes that refuse a second expiry of one credit even without the wallet lock.
GUARDS = ["wallet_transaction_unique_idempotency_key", "wallet_transaction_unique_sequence"]


def report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n[beat] {line}")


@pytest.fixture
def processes():
    """Every worker and beat a test starts; stopped at the end whatever happened."""
    started = []
    yield started
    for process in reversed(started):
        process.stop()


def sweep_every_second() -> None:
    """The beats' schedule: only the expiry sweep, every PERIOD seconds."""
    PeriodicTask.objects.update(enabled=False)
    every, _ = IntervalSchedule.objects.get_or_create(every=PERIOD, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="Expire credits (every second, test)", task=SWEEP, interval=every)


def expiries(lots: list[str]) -> dict:
    """How many times each credit in ``lots`` expired, and what else expired."""
    effects = Counter(
        WalletTransaction.objects.filter(transaction_reason="CREDIT_EXPIRED").values_list("idempotency_key", flat=True)
    )
    wanted = set(lots)
    return {
        "expired once": sum(1 for lot in lots if effects[lot] == 1),
        "expired more than once": sum(1 for lot in lots if effects[lot] > 1),
        "not expired": sum(1 for lot in lots if effects[lot] == 0),
        "other expiries": sum(count for key, count in effects.items() if key not in wanted),
        "credits still holding credits": WalletTransaction.objects.filter(id__in=lots, credits_available__gt=0).count(),
    }


def all_spent(lots: list[str]) -> bool:
    return not WalletTransaction.objects.filter(id__in=lots, credits_available__gt=0).exists()


def waiting_on_a_lock() -> int:
    """Sessions of the test database (the worker's) waiting for a lock right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def sweeps_in(worker: WorkerProcess) -> tuple[list[int], int]:
    """(credits expired by each sweep that finished, sweeps received but not finished) from the worker log."""
    log = worker.log_path.read_text()
    task = re.escape(SWEEP)
    done = [int(n) for n in re.findall(rf"Task {task}\[[^\]]+\] succeeded in [0-9.e-]+s: (\d+)", log)]
    failed = len(re.findall(rf"Task {task}\[[^\]]+\] raised", log))
    received = len(re.findall(rf"Task {task}\[[^\]]+\] received", log))
    return done, received - len(done) - failed


def run_two_beats(tmp_path, processes, queue, lots, *, settings_module="billing.settings") -> dict:
    """Two beats and a two-process worker until no credit in ``lots`` holds anything; the figures."""
    sweep_every_second()
    worker = WorkerProcess(tmp_path / "worker.log", concurrency=2, settings_module=settings_module)
    processes.append(worker)
    worker.start()
    beats = [BeatProcess(tmp_path / f"beat-{n}.log") for n in (1, 2)]
    processes.extend(beats)
    for beat in beats:  # both launched before either is waited for: they run side by side
        beat.launch()
    for beat in beats:
        beat.wait_ready()
    samples_with_a_lock_wait = 0
    deadline = time.monotonic() + 120
    while not all_spent(lots):
        assert time.monotonic() < deadline, f"credits still due after 120 s: {expiries(lots)}"
        samples_with_a_lock_wait += waiting_on_a_lock() > 0
        time.sleep(0.02)
    time.sleep(2 * PERIOD)  # the sweeps already running finish, and find nothing more
    for beat in beats:
        beat.stop()
    queue.delete(settings.CELERY_TASK_DEFAULT_QUEUE)  # sweeps sent but not yet taken: nothing left for them
    wait_for(lambda: sweeps_in(worker)[1] == 0, timeout=60, what="the worker to finish the sweeps it took")
    done, _ = sweeps_in(worker)
    return {
        "sweeps sent": [beat.sent(SWEEP) for beat in beats],
        "sweeps run": len(done),
        "sweeps that expired credits": sum(1 for n in done if n > 0),
        "samples with a sweep waiting on another's lock": samples_with_a_lock_wait,
        **expiries(lots),
    }


def test_two_beats_at_once_expire_each_credit_once_and_a_restarted_beat_catches_up(
    tmp_path, processes, queue, make_wallet, make_customer, capsys
):
    lots = lots_expiring_now(make_wallet, make_customer, wallets=WALLETS, lots_per_wallet=LOTS_PER_WALLET)
    figures = run_two_beats(tmp_path, processes, queue, lots)
    report(capsys, f"two beats, {len(lots)} credits due: {figures}")
    assert all(sent >= 1 for sent in figures["sweeps sent"]), "each beat sent the sweep"
    assert figures["sweeps run"] >= 2, "duplicate sweeps ran"
    # Whether a sample (every 20 ms) catches one sweep waiting on the other's lock is chance, so it
    # is reported, not required; the negative control below shows these sweeps do overlap.
    assert figures["expired once"] == len(lots)
    assert figures["expired more than once"] == figures["not expired"] == figures["other expiries"] == 0
    assert figures["credits still holding credits"] == 0

    # No beat for two periods: credits falling due meanwhile wait; one beat back, they expire.
    late = lots_expiring_now(make_wallet, make_customer, wallets=5, lots_per_wallet=4)
    time.sleep(2 * PERIOD)
    assert expiries(late)["not expired"] == len(late), "nothing runs the sweep while no beat is up"
    restarted = BeatProcess(tmp_path / "beat-3.log")
    processes.append(restarted)
    back = time.monotonic()
    restarted.launch()  # timed from the process's start: its first tick may come before the log says it is up
    wait_for(lambda: all_spent(late), timeout=60, interval=0.02, what="the restarted beat's sweep")
    caught_up = time.monotonic() - back
    outcome = {name: value for name, value in expiries(late).items() if name != "other expiries"}
    report(
        capsys,
        f"beat down {2 * PERIOD} s then one restarted: the {len(late)} credits due meanwhile expired "
        f"{caught_up:.1f} s after the beat process started (period {PERIOD} s): {outcome}",
    )
    assert outcome["expired once"] == len(late)


def _guard_definitions() -> dict[str, str]:
    """Each guard's index definition (the sequence's is a constraint's index)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)", [GUARDS])
        return dict(cursor.fetchall())


def _sequence_constraint() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s", [GUARDS[1]])
        return cursor.fetchone()[0]


def test_negative_control_without_the_lock_and_the_unique_keys_duplicate_sweeps_expire_credits_twice(
    tmp_path, processes, queue, make_wallet, make_customer, ledger_may_drift, capsys
):
    saved, sequence = _guard_definitions(), _sequence_constraint()
    assert sorted(saved) == sorted(GUARDS)
    key, sequence_name = GUARDS
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE wallets_wallettransaction DROP CONSTRAINT {sequence_name}")
            cursor.execute(f"DROP INDEX {key}")
        lots = lots_expiring_now(make_wallet, make_customer, wallets=WALLETS, lots_per_wallet=LOTS_PER_WALLET)
        figures = run_two_beats(tmp_path, processes, queue, lots, settings_module="tests.workers.unsafe_settings")
        report(capsys, f"control, no lock and no unique keys: {figures}")
        assert figures["expired more than once"] > 0, "unguarded duplicate sweeps must expire some credits twice"
    finally:
        for process in reversed(processes):
            process.stop()
        with connection.cursor() as cursor:
            # The duplicates would block the unique indexes; the test database is flushed after this test anyway.
            cursor.execute(
                "TRUNCATE wallets_creditallocation, wallets_wallettransaction, wallets_walletstatuschange, wallets_wallet CASCADE"
            )
            cursor.execute(f"ALTER TABLE wallets_wallettransaction ADD CONSTRAINT {sequence_name} {sequence}")
            cursor.execute(saved[key])
    assert _guard_definitions() == saved
