"""Ledger integrity checks: does what is stored still add up?

Read-only audits of the invariants the write path (wallets.ledger.postings) promises, run by the
``check_ledger`` command and by the tests after every concurrency run. Each check is a query
that returns only the rows that break a rule, so a healthy ledger costs a handful of queries
per batch of wallets. Nothing here writes.

Invariant labels follow guides/reliability.md §2:
- I1  credit_balance = Σ completed credits − Σ completed debits; balance = round(credit_balance × rate, 9);
- I2  Σ credits_available of completed credits + Σ open earmarks = max(0, credit_balance) (a credit
      landing on a negative wallet repays the overdraft first, debits expire past-due lots first,
      and no overdraft is allowed while a hold is open, so a negative wallet holds no credits), and
      the purchased part of it = purchased_credits_available;
- I3  0 ≤ credits_available ≤ credit_amount; only completed credits hold credits;
- I5  per lot, credit_amount = credits_available + Σ its allocations + Σ its open earmarks; a debit's allocations never
      exceed it, only MANUAL_BALANCE_DEBIT may be uncovered, and the uncovered part of all debits
      is the overdraft max(0, −credit_balance); allocations join a credit and a debit of one wallet;
- I8  the rows with a sequence run 1..n, each starts where the previous ended, the first at 0,
      the last at credit_balance; completed rows and only they carry a sequence;
- I9  at most one row per (environment, idempotency key);
- IDS a debit's ``consumed_credit_tx_ids`` metadata lists the lots its allocations drew on, in order;
- IH  holds (wallets.services.holds): held_credits = Σ credits of the wallet's held holds; a held
      hold's earmarks hold exactly its credits, a closed hold's hold nothing; an earmark draws on a
      completed credit of the hold's wallet; a captured hold's ledger row is a HOLD_CAPTURE debit of
      its wallet for exactly the captured credits;
- VOID a CREDIT_VOID or CREDIT_REFUND debit has exactly one allocation, of its whole amount, to
      the credit lot of its own wallet it names as its parent (it emptied that one lot);
- IXF a transfer (wallets.ledger.transfers): its TRANSFER_OUT debit moves the transfer's credits and
      its credits add up to it; each credit is the lot it names, with that lot's expiry, priority,
      kind (purchased or free) and the credits the debit took from it; the rows point at each
      other and at the transfer; no transfer row exists without its transfer.

What other apps keep beside the ledger (invoices' credit notes, CN) is checked by the checks they
add with ``add_check`` at start-up (invoices.apps), so every caller of this module runs them too.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Window
from django.db.models.functions import Coalesce, Lag, RowNumber

from wallets.ledger import money, postings, transfers
from wallets.models import CreditAllocation, HoldEarmark, Wallet, WalletHold, WalletTransaction, WalletTransfer

Type = WalletTransaction.Type
COMPLETED = WalletTransaction.Status.COMPLETED
# Wallets are checked this many at a time, so memory stays flat on a large ledger.
BATCH_SIZE = 200

# A debit that empties one named lot: a void or a refund.
LOT_DEBIT_REASONS = (WalletTransaction.Reason.CREDIT_VOID, WalletTransaction.Reason.CREDIT_REFUND)


@dataclass(frozen=True)
class Problem:
    wallet_id: str
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"{self.wallet_id} [{self.invariant}] {self.detail}"


Check = Callable[[list[str]], list["Problem"]]
_added_checks: list[Check] = []


def add_check(check: Check) -> None:
    """Run ``check(wallet_ids)`` with the ledger's own checks from now on (once, however often added)."""
    if check not in _added_checks:
        _added_checks.append(check)


def check_wallet(wallet: Wallet) -> list[Problem]:
    return _check_batch([wallet.pk])


def check_environment(environment_id: str) -> list[Problem]:
    return check_wallets(Wallet.objects.filter(environment_id=environment_id))


def check_all() -> list[Problem]:
    return check_wallets(Wallet.objects.all())


def check_wallets(wallets: QuerySet) -> list[Problem]:
    """Check every wallet of ``wallets``, in batches of BATCH_SIZE."""
    problems: list[Problem] = []
    batch: list[str] = []
    for wallet_id in wallets.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=BATCH_SIZE):
        batch.append(wallet_id)
        if len(batch) == BATCH_SIZE:
            problems += _check_batch(batch)
            batch = []
    if batch:
        problems += _check_batch(batch)
    return problems


def _check_batch(wallet_ids: list[str]) -> list[Problem]:
    return [
        *_balances(wallet_ids),
        *_lot_bounds(wallet_ids),
        *_lot_conservation(wallet_ids),
        *_debit_cover(wallet_ids),
        *_allocation_links(wallet_ids),
        *_chain(wallet_ids),
        *_duplicate_keys(wallet_ids),
        *_consumed_ids(wallet_ids),
        *_holds(wallet_ids),
        *_lot_debits(wallet_ids),
        *(problem for check in _added_checks for problem in check(wallet_ids)),
        *_transfers(wallet_ids),
    ]


def _fmt(value) -> str:
    return money.format_decimal(value) if value is not None else "none"


def _rows(wallet_ids: Iterable[str]) -> QuerySet:
    return WalletTransaction.objects.filter(wallet_id__in=wallet_ids)


def _balances(wallet_ids: list[str]) -> list[Problem]:
    """I1, I2, the overdraft half of I5, and the chain's two ends (I8)."""
    completed = Q(transactions__transaction_status=COMPLETED)
    last_row = WalletTransaction.objects.filter(wallet_id=OuterRef("pk"), sequence__isnull=False).order_by("-sequence")
    # A grouped query of its own: as a subquery next to the aggregates below, PostgreSQL groups by
    # it and runs it once per ledger row, which on a wallet with many debits takes minutes.
    allocated_to_debits = dict(
        CreditAllocation.objects.filter(debit__wallet_id__in=wallet_ids, debit__transaction_status=COMPLETED)
        .values_list("debit__wallet_id")
        .annotate(total=Sum("credits"))
        .order_by()
    )
    earmarked, purchased_earmarked = _open_earmarks(wallet_ids)
    held = dict(
        WalletHold.objects.filter(wallet_id__in=wallet_ids, hold_status=WalletHold.Status.HELD)
        .values_list("wallet_id")
        .annotate(total=Sum("credits"))
        .order_by()
    )
    wallets = (
        Wallet.objects.filter(pk__in=wallet_ids)
        .annotate(
            credited=Coalesce(
                Sum("transactions__credit_amount", filter=completed & Q(transactions__type=Type.CREDIT)), money.ZERO
            ),
            debited=Coalesce(Sum("transactions__credit_amount", filter=completed & Q(transactions__type=Type.DEBIT)), money.ZERO),
            lots=Coalesce(
                Sum("transactions__credits_available", filter=completed & Q(transactions__type=Type.CREDIT)),
                money.ZERO,
            ),
            purchased_lots=Coalesce(
                Sum(
                    "transactions__credits_available",
                    filter=completed & Q(transactions__transaction_reason__in=postings.PURCHASED_REASONS),
                ),
                money.ZERO,
            ),
            sequenced=Count("transactions", filter=Q(transactions__sequence__isnull=False)),
            last_after=Subquery(last_row.values("credit_balance_after")[:1]),
        )
        .order_by("pk")
    )
    problems = []
    for wallet in wallets:
        cb = wallet.credit_balance
        ledger_sum = wallet.credited - wallet.debited
        if cb != ledger_sum:
            problems.append(Problem(wallet.pk, "I1", f"credit_balance {_fmt(cb)} but the ledger sums to {_fmt(ledger_sum)}"))
        value = money.credits_to_amount(cb, rate=wallet.conversion_rate)
        if wallet.balance != value:
            problems.append(
                Problem(
                    wallet.pk,
                    "I1",
                    f"balance {_fmt(wallet.balance)} but credit_balance × conversion_rate is {_fmt(value)}",
                )
            )
        lots = wallet.lots + earmarked.get(wallet.pk, money.ZERO)
        if lots != max(money.ZERO, cb):
            problems.append(
                Problem(wallet.pk, "I2", f"lots and open earmarks hold {_fmt(lots)} but credit_balance is {_fmt(cb)}")
            )
        purchased_lots = wallet.purchased_lots + purchased_earmarked.get(wallet.pk, money.ZERO)
        if purchased_lots != wallet.purchased_credits_available:
            problems.append(
                Problem(
                    wallet.pk,
                    "I2",
                    f"purchased lots and their open earmarks hold {_fmt(purchased_lots)} but purchased_credits_available is "
                    f"{_fmt(wallet.purchased_credits_available)}",
                )
            )
        if wallet.held_credits != held.get(wallet.pk, money.ZERO):
            problems.append(
                Problem(
                    wallet.pk,
                    "IH",
                    f"held_credits {_fmt(wallet.held_credits)} but its open holds hold {_fmt(held.get(wallet.pk, money.ZERO))}",
                )
            )
        uncovered = wallet.debited - allocated_to_debits.get(wallet.pk, money.ZERO)
        if uncovered != max(money.ZERO, -cb):
            problems.append(
                Problem(
                    wallet.pk,
                    "I5",
                    f"debits not backed by lots total {_fmt(uncovered)} but the overdraft is {_fmt(max(money.ZERO, -cb))}",
                )
            )
        if wallet.transaction_count != wallet.sequenced:
            problems.append(
                Problem(
                    wallet.pk,
                    "I8",
                    f"transaction_count {wallet.transaction_count} but {wallet.sequenced} rows carry a sequence",
                )
            )
        last_after = wallet.last_after if wallet.last_after is not None else money.ZERO
        if last_after != cb:
            problems.append(Problem(wallet.pk, "I8", f"the chain ends at {_fmt(last_after)} but credit_balance is {_fmt(cb)}"))
    return problems


def _open_earmarks(wallet_ids: list[str]) -> tuple[dict, dict]:
    """Credits still earmarked per wallet (by the earmarked lot's wallet): all of them, and those of purchased lots."""
    open_ = HoldEarmark.objects.filter(lot__wallet_id__in=wallet_ids, credits__gt=0).values_list("lot__wallet_id").order_by()
    every = dict(open_.annotate(total=Sum("credits")))
    purchased = dict(
        open_.filter(lot__transaction_reason__in=postings.PURCHASED_REASONS).annotate(total=Sum("credits")).order_by()
    )
    return every, purchased


def _lot_bounds(wallet_ids: list[str]) -> list[Problem]:
    """I3: no lot negative or above its grant; debits and unsettled rows hold nothing."""
    bad = _rows(wallet_ids).filter(
        Q(credits_available__lt=0)
        | Q(credits_available__gt=F("credit_amount"))
        | (Q(type=Type.DEBIT) & ~Q(credits_available=0))
        | (~Q(transaction_status=COMPLETED) & ~Q(credits_available=0))
    )
    return [
        Problem(
            row.wallet_id,
            "I3",
            f"{row.type} {row.id} ({row.transaction_status}) holds {_fmt(row.credits_available)} of {_fmt(row.credit_amount)}",
        )
        for row in bad.order_by("wallet_id", "sequence", "id")
    ]


def _lot_conservation(wallet_ids: list[str]) -> list[Problem]:
    """I5 per lot: what a grant gave plus what it still holds is what it granted."""
    # A subquery, not a second join: two joins would multiply each other's rows in the sums.
    earmarked = (
        HoldEarmark.objects.filter(lot=OuterRef("pk"), credits__gt=0).values("lot").annotate(total=Sum("credits")).values("total")
    )
    credits = (
        _rows(wallet_ids)
        .filter(type=Type.CREDIT)
        .annotate(
            allocated=Coalesce(Sum("allocations_given__credits"), money.ZERO),
            earmarked=Coalesce(Subquery(earmarked[:1]), money.ZERO),
        )
    )
    unbalanced = credits.filter(transaction_status=COMPLETED).exclude(
        credit_amount=F("credits_available") + F("allocated") + F("earmarked")
    )
    unsettled_but_spent = credits.exclude(transaction_status=COMPLETED).exclude(allocated=0)
    return [
        Problem(
            row.wallet_id,
            "I5",
            f"lot {row.id} granted {_fmt(row.credit_amount)} but holds {_fmt(row.credits_available)} "
            f"and gave {_fmt(row.allocated)}"
            + (f", with {_fmt(row.earmarked)} earmarked by open holds" if row.earmarked else ""),
        )
        for row in [*unbalanced.order_by("id"), *unsettled_but_spent.order_by("id")]
    ]


def _debit_cover(wallet_ids: list[str]) -> list[Problem]:
    """I5 per debit: never over-allocated; only a manual debit may be left uncovered (the overdraft)."""
    debits = _rows(wallet_ids).filter(type=Type.DEBIT).annotate(covered=Coalesce(Sum("allocations_paid__credits"), money.ZERO))
    over = debits.filter(covered__gt=F("credit_amount"))
    short = debits.exclude(transaction_reason=WalletTransaction.Reason.MANUAL_BALANCE_DEBIT).exclude(covered=F("credit_amount"))
    return [
        Problem(
            row.wallet_id,
            "I5",
            f"debit {row.id} ({row.transaction_reason}) of {_fmt(row.credit_amount)} is backed by {_fmt(row.covered)}",
        )
        for row in [*over.order_by("id"), *short.order_by("id")]
    ]


def _allocation_links(wallet_ids: list[str]) -> list[Problem]:
    """An allocation joins a credit and a debit of the same wallet."""
    bad = CreditAllocation.objects.filter(Q(debit__wallet_id__in=wallet_ids) | Q(credit__wallet_id__in=wallet_ids)).filter(
        ~Q(debit__wallet_id=F("credit__wallet_id")) | ~Q(debit__type=Type.DEBIT) | ~Q(credit__type=Type.CREDIT)
    )
    return [
        Problem(
            allocation.debit.wallet_id,
            "I5",
            f"allocation {allocation.pk} joins {allocation.credit_id} ({allocation.credit.type}, wallet "
            f"{allocation.credit.wallet_id}) to {allocation.debit_id} ({allocation.debit.type})",
        )
        for allocation in bad.select_related("debit", "credit").order_by("pk")
    ]


def _chain(wallet_ids: list[str]) -> list[Problem]:
    """I8: sequence 1..n without gaps, each row starting where the previous one ended."""
    ordering = {"partition_by": [F("wallet_id")], "order_by": F("sequence").asc()}
    sequenced = (
        _rows(wallet_ids)
        .filter(sequence__isnull=False)
        .annotate(
            position=Window(RowNumber(), **ordering),
            previous_after=Window(Lag("credit_balance_after"), **ordering),
        )
    )
    broken = sequenced.filter(
        ~Q(sequence=F("position"))
        | (Q(position=1) & ~Q(credit_balance_before=0))
        | (Q(position__gt=1) & ~Q(credit_balance_before=F("previous_after")))
    )
    problems = []
    for row in broken.order_by("wallet_id", "sequence", "id"):
        if row.sequence != row.position:
            problems.append(Problem(row.wallet_id, "I8", f"row {row.id} has sequence {row.sequence}, expected {row.position}"))
        else:
            expected = row.previous_after if row.position > 1 else money.ZERO
            problems.append(
                Problem(
                    row.wallet_id,
                    "I8",
                    f"row {row.id} (sequence {row.sequence}) starts at {_fmt(row.credit_balance_before)}, "
                    f"expected {_fmt(expected)}",
                )
            )
    moves_wrongly = (
        _rows(wallet_ids)
        .filter(transaction_status=COMPLETED)
        .exclude(
            Q(type=Type.CREDIT, credit_balance_after=F("credit_balance_before") + F("credit_amount"))
            | Q(type=Type.DEBIT, credit_balance_after=F("credit_balance_before") - F("credit_amount"))
        )
    )
    problems += [
        Problem(
            row.wallet_id,
            "I8",
            f"row {row.id} goes from {_fmt(row.credit_balance_before)} to {_fmt(row.credit_balance_after)} "
            f"but moves {row.type} {_fmt(row.credit_amount)}",
        )
        for row in moves_wrongly.order_by("wallet_id", "sequence", "id")
    ]
    unnumbered = _rows(wallet_ids).filter(
        Q(transaction_status=COMPLETED, sequence__isnull=True) | (~Q(transaction_status=COMPLETED) & Q(sequence__isnull=False))
    )
    problems += [
        Problem(row.wallet_id, "I8", f"{row.transaction_status} row {row.id} has sequence {row.sequence}")
        for row in unnumbered.order_by("id")
    ]
    return problems


def _duplicate_keys(wallet_ids: list[str]) -> list[Problem]:
    """I9: one row per (environment, idempotency key); the unique index enforces it, this proves it."""
    twin = WalletTransaction.objects.filter(
        environment_id=OuterRef("environment_id"), idempotency_key=OuterRef("idempotency_key")
    ).exclude(pk=OuterRef("pk"))
    duplicated = _rows(wallet_ids).filter(idempotency_key__isnull=False).filter(Exists(twin))
    return [
        Problem(row.wallet_id, "I9", f"idempotency key {row.idempotency_key!r} of row {row.id} is used more than once")
        for row in duplicated.order_by("id")
    ]


def _consumed_ids(wallet_ids: list[str]) -> list[Problem]:
    """A debit's metadata names the lots it consumed, in allocation order.

    Allocations from credits that came after the debit are overdraft repayments, not
    consumption, so they are not in the debit's list.
    """
    consumed: dict[str, list[str]] = defaultdict(list)
    allocations = CreditAllocation.objects.filter(
        debit__wallet_id__in=wallet_ids, credit__sequence__lt=F("debit__sequence")
    ).order_by("pk")
    for debit_id, credit_id in allocations.values_list("debit_id", "credit_id"):
        consumed[debit_id].append(credit_id)
    problems = []
    debits = _rows(wallet_ids).filter(type=Type.DEBIT).order_by("wallet_id", "sequence", "id")
    for debit_id, wallet_id, metadata in debits.values_list("id", "wallet_id", "metadata"):
        listed = (metadata or {}).get("consumed_credit_tx_ids", "")
        listed_ids = [part for part in listed.split(",") if part] if isinstance(listed, str) else None
        if listed_ids != consumed.get(debit_id, []):
            problems.append(
                Problem(
                    wallet_id,
                    "IDS",
                    f"debit {debit_id} lists consumed_credit_tx_ids {listed!r} but its allocations drew on "
                    f"{','.join(consumed.get(debit_id, []))!r}",
                )
            )
    return problems


def _holds(wallet_ids: list[str]) -> list[Problem]:
    """IH: each hold's earmarks and capture agree with its status."""
    holds = (
        WalletHold.objects.filter(wallet_id__in=wallet_ids)
        .annotate(earmarked=Coalesce(Sum("earmarks__credits"), money.ZERO))
        .select_related("capture_transaction")
    )
    problems = []
    for hold in holds.order_by("wallet_id", "created_at", "id"):
        expected = hold.credits if hold.hold_status == WalletHold.Status.HELD else money.ZERO
        if hold.earmarked != expected:
            problems.append(
                Problem(
                    hold.wallet_id,
                    "IH",
                    f"{hold.hold_status} hold {hold.id} of {_fmt(hold.credits)} has {_fmt(hold.earmarked)} earmarked, "
                    f"expected {_fmt(expected)}",
                )
            )
        row = hold.capture_transaction
        if row is not None and (
            row.wallet_id != hold.wallet_id
            or row.type != Type.DEBIT
            or row.transaction_reason != WalletTransaction.Reason.HOLD_CAPTURE
            or row.credit_amount != hold.captured_credits
        ):
            problems.append(
                Problem(
                    hold.wallet_id,
                    "IH",
                    f"hold {hold.id} captured {_fmt(hold.captured_credits)} but its row {row.id} is a {row.type} "
                    f"{row.transaction_reason} of {_fmt(row.credit_amount)} on {row.wallet_id}",
                )
            )
    strays = HoldEarmark.objects.filter(hold__wallet_id__in=wallet_ids).exclude(
        lot__wallet_id=F("hold__wallet_id"), lot__type=Type.CREDIT, lot__transaction_status=COMPLETED
    )
    problems += [
        Problem(
            earmark.hold.wallet_id,
            "IH",
            f"hold {earmark.hold_id} earmarks {earmark.lot_id}, not a completed credit of its wallet",
        )
        for earmark in strays.select_related("hold").order_by("pk")
    ]
    return problems


def _lot_debits(wallet_ids: list[str]) -> list[Problem]:
    """VOID: a void or refund took its whole amount from the one lot of its wallet it names."""
    debits = (
        _rows(wallet_ids)
        .filter(type=Type.DEBIT, transaction_reason__in=LOT_DEBIT_REASONS)
        .annotate(
            allocations=Count("allocations_paid"),
            to_parent=Count(
                "allocations_paid",
                filter=Q(
                    allocations_paid__credit_id=F("parent_transaction_id"),
                    allocations_paid__credit__wallet_id=F("wallet_id"),
                    allocations_paid__credit__type=Type.CREDIT,
                    allocations_paid__credits=F("credit_amount"),
                ),
            ),
        )
        .exclude(allocations=1, to_parent=1)
    )
    return [
        Problem(
            row.wallet_id,
            "VOID",
            f"{row.transaction_reason} {row.id} of {_fmt(row.credit_amount)} has {row.allocations} allocation(s), "
            f"{row.to_parent} of its whole amount to its lot {row.parent_transaction_id} of its wallet",
        )
        for row in debits.order_by("wallet_id", "sequence", "id")
    ]


# --- Transfers (issue 14)


def _transfers(wallet_ids: list[str]) -> list[Problem]:
    """IXF: each transfer whose source is in the batch, then transfer rows of the batch without a transfer."""
    Reason = WalletTransaction.Reason
    batch = list(WalletTransfer.objects.filter(from_wallet_id__in=wallet_ids).select_related("debit").order_by("pk"))
    credits: dict[str, list[WalletTransaction]] = defaultdict(list)
    for row in WalletTransaction.objects.filter(
        reference_type=transfers.REFERENCE_TYPE, type=Type.CREDIT, reference_id__in=[t.pk for t in batch]
    ).order_by("sequence", "id"):
        credits[row.reference_id].append(row)
    taken: dict[str, list[tuple[str, object]]] = defaultdict(list)
    for debit_id, lot_id, amount in (
        CreditAllocation.objects.filter(debit_id__in=[t.debit_id for t in batch])
        .order_by("pk")
        .values_list("debit_id", "credit_id", "credits")
    ):
        taken[debit_id].append((lot_id, amount))
    lot_ids = {lot_id for pairs in taken.values() for lot_id, _ in pairs}
    lots = {lot.pk: lot for lot in WalletTransaction.objects.filter(pk__in=lot_ids)}
    problems = []
    for transfer in batch:
        problems += [
            Problem(transfer.from_wallet_id, "IXF", f"transfer {transfer.pk}: {text}")
            for text in _transfer_drift(transfer, credits[transfer.pk], taken[transfer.debit_id], lots)
        ]
    out_without = _rows(wallet_ids).filter(transaction_reason=Reason.TRANSFER_OUT, transfer__isnull=True)
    in_without = (
        _rows(wallet_ids)
        .filter(transaction_reason__in=transfers.TRANSFER_IN_REASONS)
        .exclude(Exists(WalletTransfer.objects.filter(pk=OuterRef("reference_id"), to_wallet_id=OuterRef("wallet_id"))))
    )
    problems += [
        Problem(row.wallet_id, "IXF", f"{row.transaction_reason} row {row.id} belongs to no transfer of this wallet")
        for row in [*out_without.order_by("id"), *in_without.order_by("id")]
    ]
    return problems


def _transfer_drift(transfer, credits: list[WalletTransaction], taken: list[tuple[str, object]], lots: dict) -> list[str]:
    """What is wrong with one transfer, given its credits (in sequence order) and its debit's allocations."""
    debit = transfer.debit
    drift = []
    if (debit.wallet_id, debit.type, debit.transaction_reason) != (
        transfer.from_wallet_id,
        Type.DEBIT,
        WalletTransaction.Reason.TRANSFER_OUT,
    ):
        drift.append(f"debit {debit.id} is a {debit.type} {debit.transaction_reason} on {debit.wallet_id}")
    if (debit.reference_type, debit.reference_id) != (transfers.REFERENCE_TYPE, transfer.pk):
        drift.append(f"debit {debit.id} refers to {debit.reference_type} {debit.reference_id!r}")
    if debit.credit_amount != transfer.credits:
        drift.append(f"debit {debit.id} moves {_fmt(debit.credit_amount)} of {_fmt(transfer.credits)}")
    total = sum((row.credit_amount for row in credits), money.ZERO)
    if total != debit.credit_amount:
        drift.append(f"credits add up to {_fmt(total)} but debit {debit.id} takes {_fmt(debit.credit_amount)}")
    listed = (debit.metadata or {}).get(transfers.CREDIT_IDS_KEY)
    if listed != ",".join(row.id for row in credits):
        drift.append(f"debit {debit.id} lists credits {listed!r} but {','.join(row.id for row in credits)!r} refer to it")
    sources = [(row.metadata or {}).get(transfers.SOURCE_LOT_KEY) for row in credits]
    if sources != [lot_id for lot_id, _ in taken]:
        drift.append(f"credits name lots {sources} but debit {debit.id} took {[lot_id for lot_id, _ in taken]}")
    for row, (lot_id, share) in zip(credits, taken, strict=False):
        lot = lots.get(lot_id)
        if row.wallet_id != transfer.to_wallet_id or row.parent_transaction_id != debit.id:
            drift.append(f"credit {row.id} is on {row.wallet_id} under {row.parent_transaction_id}")
        if lot is None or row.metadata.get(transfers.SOURCE_LOT_KEY) != lot_id:
            continue
        if (row.credit_amount, row.expiry_date, row.priority) != (share, lot.expiry_date, lot.priority):
            drift.append(
                f"credit {row.id} carries {_fmt(row.credit_amount)} expiring {row.expiry_date} priority {row.priority}, but "
                f"lot {lot_id} gave {_fmt(share)} expiring {lot.expiry_date} priority {lot.priority}"
            )
        if row.transaction_reason != transfers.credit_reason(lot.transaction_reason):
            drift.append(f"credit {row.id} is {row.transaction_reason} but lot {lot_id} is {lot.transaction_reason}")
    return drift
