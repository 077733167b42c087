"""The debit preview (wallets.services.previews) outside any test transaction, as production runs it.

These tests run with transaction=True, so the preview opens its own REPEATABLE READ, READ ONLY
transaction (core.db.snapshots) instead of joining the test's. They show that it writes nothing
(every row, the wallet's updated_at, the sequences), that its plan is what a debit right after
takes, lot for lot, over varied wallets, and that its reads agree while a debit commits between
them; the negative control reads at READ COMMITTED and sees them disagree.
"""

import random
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import InternalError, connection, connections
from django.utils import timezone

from core.db import snapshots
from core.db.snapshots import read_only_snapshot
from wallets import selectors, services
from wallets.ledger import postings
from wallets.models import CreditAllocation, Wallet
from wallets.services import holds, previews

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
DATA_APPS = ("customers", "wallets", "invoices", "webhooks")


def _ref(wallet: Wallet) -> selectors.WalletRef:
    return selectors.WalletRef(id=wallet.id, environment_id=wallet.environment_id)


def _everything() -> list[tuple]:
    """Every tenant-data table's row count and a digest of all its rows, and every sequence's last value."""
    tables = sorted(model._meta.db_table for model in apps.get_models() if model._meta.app_label in DATA_APPS)
    rows = " UNION ALL ".join(
        f"SELECT '{table}', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(rows)
        digests = cursor.fetchall()
        cursor.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1")
        return digests + cursor.fetchall()


def test_a_preview_writes_nothing(wallet, credit):
    credit("30", expiry_date=timezone.now() + timedelta(days=1))
    credit("70")
    holds.hold_place(wallet, credits=D("5"), idempotency_key="h")
    services.wallet_debit(wallet, credits=D("1"), idempotency_key="d")
    before = _everything()
    updated_at = Wallet.objects.get(pk=wallet.pk).updated_at
    for credits, reason in [("10", "MANUAL_BALANCE_DEBIT"), ("94", "INVOICE_PAYMENT"), ("500", "MANUAL_BALANCE_DEBIT")]:
        previews.wallet_debit_preview(_ref(wallet), credits=D(credits), reason=reason)
    assert _everything() == before
    assert Wallet.objects.get(pk=wallet.pk).updated_at == updated_at
    assert not connection.in_atomic_block  # the preview's own transaction ended


def test_the_snapshot_refuses_writes(wallet):
    with pytest.raises(InternalError, match="read-only transaction"), read_only_snapshot():
        Wallet.objects.filter(pk=wallet.pk).update(name="renamed")
    assert Wallet.objects.get(pk=wallet.pk).name == wallet.name


def _random_wallet(make_wallet, rng: random.Random, number: int) -> Wallet:
    """A wallet with lots of mixed priorities, expiries, sizes and kinds, some spent, some held, one past its expiry."""
    wallet = make_wallet(
        currency=rng.choice(["usd", "eur", "gbp", "jpy", "chf"]), wallet_type=rng.choice(["PRE_PAID", "PROMOTIONAL"])
    )
    now = timezone.now()
    for _ in range(rng.randint(1, 12)):
        services.wallet_top_up(
            wallet,
            credits=D(rng.choice(["1", "2.5", "10", "10", "33.333333333", "100"])),
            reason=rng.choice(["FREE_CREDIT_GRANT", "PURCHASED_CREDIT_DIRECT"]),
            priority=rng.choice([None, None, 1, 2]),
            expiry_date=rng.choice([None, now + timedelta(days=rng.randint(1, 9)), now + timedelta(seconds=2)]),
        )
    balance = Wallet.objects.get(pk=wallet.pk).credit_balance
    if rng.random() < 0.5:
        services.wallet_debit(
            wallet, credits=(balance / 3).quantize(D("0.001")), idempotency_key=f"pre-{number}", reason="INVOICE_PAYMENT"
        )
    if rng.random() < 0.4:
        holds.hold_place(wallet, credits=D("1"), idempotency_key=f"hold-{number}")
    return wallet


def test_the_preview_is_what_a_debit_right_after_takes(make_wallet, make_customer, capsys):
    rng = random.Random(20261205)
    compared = refused = overdrawn = 0
    wallets = []
    for number in range(12):
        wallets.append(_random_wallet(lambda **fields: make_wallet(owner=make_customer(), **fields), rng, number))
    time.sleep(2.1)  # the lots expiring in two seconds are now past their expiry: the debit expires them first
    for number, wallet in enumerate(wallets):
        balance = Wallet.objects.get(pk=wallet.pk).credit_balance
        credits = max(D("0.001"), (balance * D(rng.choice(["0.2", "0.7", "1", "1.3"]))).quantize(D("0.001")))
        reason = rng.choice(["MANUAL_BALANCE_DEBIT", "INVOICE_PAYMENT"])
        preview = previews.wallet_debit_preview(_ref(wallet), credits=credits, reason=reason)
        try:
            row = services.wallet_debit(wallet, credits=credits, idempotency_key=f"after-{number}", reason=reason).transaction
        except Exception as error:  # the preview must have named the same refusal
            assert preview.refusal is not None, error
            assert (preview.refusal.code, preview.refusal.message, preview.refusal.details) == (
                error.code,
                error.message,
                error.details,
            )
            refused += 1
            continue
        assert preview.would_succeed
        taken = list(CreditAllocation.objects.filter(debit=row).order_by("id").values_list("credit_id", "credits"))
        assert taken == [(planned.lot.id, planned.credits) for planned in preview.lots]
        assert (row.credit_balance_before, row.credit_balance_after) == (
            preview.credit_balance_before,
            preview.credit_balance_after,
        )
        overdrawn += preview.overdraft_credits > 0
        compared += 1
    assert compared and refused and overdrawn  # the seed reaches each outcome
    with capsys.disabled():
        print(f"\n[preview] {compared} previews equal to the debit after them ({overdrawn} overdrawn), {refused} refused alike")


def _preview_with_a_debit_between_its_reads(wallet):
    """Preview 100 credits; between reading the wallet and its lots, another connection debits 30 and commits."""
    original = postings.spendable_lots
    preview_thread = threading.current_thread()

    def lots_after_a_debit(*args, **kwargs):
        if threading.current_thread() is preview_thread:  # (the debit reads its lots through here too)
            thread = threading.Thread(target=_debit_elsewhere, args=(wallet,))
            thread.start()
            thread.join()
        return original(*args, **kwargs)

    postings.spendable_lots = lots_after_a_debit
    try:
        return previews.wallet_debit_preview(_ref(wallet), credits=D("100"), reason="INVOICE_PAYMENT")
    finally:
        postings.spendable_lots = original


def _debit_elsewhere(wallet):
    try:
        services.wallet_debit(wallet, credits=D("30"), idempotency_key="between", reason="INVOICE_PAYMENT")
    finally:
        connections.close_all()


def test_the_balance_and_the_lots_come_from_one_snapshot(wallet, credit):
    credit("100")
    preview = _preview_with_a_debit_between_its_reads(wallet)
    # the debit committed (the wallet now holds 70), but the preview saw the wallet as it stood before it
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == D("70")
    assert preview.credit_balance_before == D("100") and preview.would_succeed
    assert sum(planned.credits for planned in preview.lots) == D("100")


def test_negative_control_read_committed_reads_a_balance_its_lots_disagree_with(wallet, credit, monkeypatch):
    monkeypatch.setattr(snapshots, "ISOLATION", "READ COMMITTED")
    credit("100")
    preview = _preview_with_a_debit_between_its_reads(wallet)
    # the balance says 100, the lots (read after the debit committed) hold 70: the debit is refused
    assert preview.credit_balance_before == D("100")
    assert not preview.would_succeed and preview.refusal.details["available_credits"] == "70"


def test_timing_of_a_preview_over_300_lots(wallet, capsys):
    now = timezone.now()
    for number in range(300):
        services.wallet_top_up(
            wallet,
            credits=D("1"),
            reason="FREE_CREDIT_GRANT",
            priority=number % 3,
            expiry_date=now + timedelta(days=1 + number % 30),
        )
    timings = []
    for _ in range(21):
        started = time.perf_counter()
        preview = previews.wallet_debit_preview(_ref(wallet), credits=D("100"))
        timings.append(time.perf_counter() - started)
    assert preview.would_succeed and len(preview.lots) == 100
    timings.sort()
    with capsys.disabled():
        median, slowest = timings[10] * 1000, timings[-1] * 1000
        print(f"\n[preview] 100 credits over 300 lots: median {median:.1f} ms, slowest {slowest:.1f} ms (21 runs)")
