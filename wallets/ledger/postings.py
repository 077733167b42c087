"""The one write path for balances: locking, posting ledger rows, consuming lots.

Every function here expects to run inside ``transaction.atomic()`` on a wallet returned by
``lock_wallet``. Services (wallets.services) own the transaction and the validation; this module
owns the bookkeeping that must never differ between them:

- a row's ``credit_balance_before/after`` and ``sequence`` are taken from the locked wallet;
- the wallet's ``credit_balance`` and ``balance`` change in the same transaction as the row;
- a credit that lands on a negative wallet first repays the overdraft (recorded as allocations);
- a debit consumes lots in the contract's order and records one allocation per lot it touched;
- a hold (wallets.services.holds) earmarks lots in the same order: the credits leave the lots'
  ``credits_available`` (so no debit, expiry or void can take them) but stay in the balance;
  its capture is a debit drawn from those earmarks (``post_debit``'s ``drawn``);
- every posting is announced through wallets.ledger.hooks, the one way its side effects (alert
  state, webhook events, an auto top-up) leave this package.
"""

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from core import rawsql
from core.exceptions import InvalidOperation, ValidationFailed
from wallets.ledger import hooks, money
from wallets.ledger.fingerprints import fingerprint
from wallets.models import CreditAllocation, HoldEarmark, Wallet, WalletTransaction

Reason = WalletTransaction.Reason
# Credits that were paid for; everything else counts as free in the balance breakdown.
# A transferred lot keeps what it was: TRANSFER_IN_PURCHASED is the one written for a purchased lot.
PURCHASED_REASONS = (Reason.PURCHASED_CREDIT_INVOICED, Reason.PURCHASED_CREDIT_DIRECT, Reason.TRANSFER_IN_PURCHASED)
# Lots are read in pages (50, then twice as many each time), so a debit's cost follows the lots
# it consumes, not the lots it has, and the usual debit reads one page in one statement.
_FIRST_LOT_PAGE = 50


_PURCHASED_SQL = ", ".join(f"'{reason}'" for reason in PURCHASED_REASONS)


def expired_holdings_columns(table: str = "wallets_wallet") -> str:
    """Two columns for a query on ``table``: what its lots past their expiry still hold, purchased then free.

    Each takes one parameter, the time they are read at. A lot's expiry has passed but the sweep
    has not expired it yet: a debit cannot spend it, so the balance breakdown leaves it out. The
    partial index on (wallet, expiry) of open lots holds exactly these lots, usually none.
    """
    lots = (
        "SELECT COALESCE(SUM(lot.credits_available), 0) FROM wallets_wallettransaction lot"
        f" WHERE lot.wallet_id = {table}.id AND lot.type = 'credit' AND lot.transaction_status = 'completed'"
        " AND lot.credits_available > 0 AND lot.expiry_date IS NOT NULL AND lot.expiry_date <= %s"
        " AND lot.transaction_reason"
    )
    return f"({lots} IN ({_PURCHASED_SQL})), ({lots} NOT IN ({_PURCHASED_SQL}))"


def read_expired_holdings(wallet: Wallet, row, start: int, *, now: datetime) -> None:
    """Keep on ``wallet`` the two ``expired_holdings_columns`` read into ``row[start:start + 2]`` at ``now``.

    The ledger keeps them exact while it changes the wallet's lots (``_lot_changed``), and
    wallets.selectors.credits_breakdown then needs no query for this wallet.
    """
    credits = Wallet._meta.get_field("credit_balance")
    wallet.expired_holdings = (rawsql.value(credits, row[start]), rawsql.value(credits, row[start + 1]))
    wallet.expired_as_of = now


@functools.cache
def _lock_sql(lock: bool, in_environment: bool = False) -> str:
    # in_environment: the wallet as the API sees it (wallets.selectors.wallet_get's conditions).
    scope = " AND wallets_wallet.environment_id = %s AND wallets_wallet.status = 'published'" if in_environment else ""
    return (
        f"SELECT {rawsql.columns(Wallet)}, EXISTS (SELECT 1 FROM webhooks_webhookendpoint"
        " WHERE webhooks_webhookendpoint.environment_id = wallets_wallet.environment_id"
        f" AND webhooks_webhookendpoint.enabled), {expired_holdings_columns()}"
        " FROM wallets_wallet WHERE wallets_wallet.id = %s" + scope + (" FOR UPDATE OF wallets_wallet" if lock else "")
    )


def lock_wallet(
    wallet_id: str, *, now: datetime | None = None, lots_page: bool = False, environment_id: str | None = None
) -> Wallet:
    """Re-read the wallet under ``SELECT ... FOR UPDATE``; every balance change starts here.

    The same statement reads whether the wallet's environment has an enabled webhook endpoint
    (``has_webhook_endpoints``: without one, postings never query the endpoints, wallets.services.events)
    and what its lots past their expiry at ``now`` hold (``read_expired_holdings``: a debit
    with none skips looking for them, and the response's breakdown needs no query). Written out
    in SQL: it runs on every write (core.rawsql says why). Raises Wallet.DoesNotExist.

    ``lots_page`` (a debit at ``now``): the first page of open lots is read right after the
    lock, in the same round trip where it can be (core.rawsql.fetch_together), for post_debit.

    ``environment_id``: only a published wallet of that environment, as the API looks wallets up,
    so the lock can be a request's only read of the wallet (Wallet.DoesNotExist otherwise).
    """
    now = now or timezone.now()
    lock = connection.features.has_select_for_update and not settings.LEDGER_UNSAFE_SKIP_WALLET_LOCK
    at = connection.ops.adapt_datetimefield_value(now)
    scope = [environment_id] if environment_id is not None else []
    statements = [(_lock_sql(lock, environment_id is not None), [at, at, wallet_id, *scope])]
    if lots_page:
        statements.append(_first_lot_page(wallet_id, at))
    results = rawsql.fetch_together(statements)
    if not results[0]:
        raise Wallet.DoesNotExist(f"Wallet {wallet_id} does not exist")
    row = results[0][0]
    wallet = rawsql.instance(Wallet, row)
    width = rawsql.width(Wallet)
    wallet.has_webhook_endpoints = bool(row[width])
    read_expired_holdings(wallet, row, width + 1, now=now)
    if lots_page:
        wallet.first_lot_page = [rawsql.instance(WalletTransaction, lot) for lot in results[1]]
    return wallet


# Stand-ins for the wallet id and the time in the compiled first page of open lots.
_PAGE_WALLET_MARK = "wallet_first_lot_page_mark"
_PAGE_NOW_MARK = datetime(2001, 2, 3, 4, 5, 6, 789, tzinfo=UTC)


@functools.cache
def _first_lot_page_statement(vendor: str) -> tuple[str, tuple, object]:
    """``open_lots``' first page as the ORM compiles it, once per database: (sql, parameters with
    the marks, the time mark as adapted for this database).

    Compiling it costs more CPU than the rest of a debit's Python; open_lots stays the one
    definition of the consumption order, and this is its compiled form.
    """
    page = open_lots(Wallet(pk=_PAGE_WALLET_MARK), now=_PAGE_NOW_MARK)[:_FIRST_LOT_PAGE]
    sql, params = page.query.get_compiler(connection=connection).as_sql()
    now_mark = connection.ops.adapt_datetimefield_value(_PAGE_NOW_MARK)
    if _PAGE_WALLET_MARK not in params or now_mark not in params:
        raise RuntimeError("open_lots no longer takes the wallet and the time as parameters; update _first_lot_page")
    return sql, tuple(params), now_mark


def _first_lot_page(wallet_id: str, at) -> tuple[str, list]:
    """The statement reading the first ``_FIRST_LOT_PAGE`` open lots of the wallet at ``at`` (adapted)."""
    sql, params, now_mark = _first_lot_page_statement(connection.vendor)
    return sql, [wallet_id if param == _PAGE_WALLET_MARK else at if param == now_mark else param for param in params]


def nothing_expired(wallet: Wallet, *, cutoff: datetime) -> bool:
    """True when the wallet is known (from lock_wallet) to hold no credits in lots expired at ``cutoff``."""
    return getattr(wallet, "expired_as_of", None) == cutoff and not any(wallet.expired_holdings)


@dataclass(frozen=True)
class Posting:
    """What a caller asks the ledger to write; the ledger fills in balances and sequence."""

    credits: Decimal
    reason: str
    actor: str
    now: datetime
    amount: Decimal | None = None  # currency value; computed from the wallet's rate when None
    idempotency_key: str | None = None
    fingerprint: str = ""
    description: str = ""
    metadata: dict | None = None
    reference_type: str = ""
    reference_id: str = ""
    expiry_date: datetime | None = None
    priority: int | None = None
    # A transfer's rows name each other before they exist (wallets.ledger.transfers): the row's
    # id chosen in advance. The row this one acts on or follows from: a void's or refund's lot,
    # a transfer credit's debit.
    row_id: str | None = None
    parent_transaction_id: str | None = None


def spendable(now: datetime) -> Q:
    """Ledger rows a debit could consume at ``now``; a lot expiring at T is not spendable at T."""
    return Q(
        type=WalletTransaction.Type.CREDIT,
        transaction_status=WalletTransaction.Status.COMPLETED,
        credits_available__gt=0,
    ) & (Q(expiry_date__isnull=True) | Q(expiry_date__gt=now))


def open_lots(wallet: Wallet, *, now: datetime):
    """The wallet's spendable credit lots, in consumption order.

    Order: priority ascending (none last), expiry ascending (none last), larger original
    grant first, then creation time and id so the order is total.
    """
    return WalletTransaction.objects.filter(spendable(now), wallet=wallet).order_by(
        F("priority").asc(nulls_last=True),
        F("expiry_date").asc(nulls_last=True),
        F("credit_amount").desc(),
        "created_at",
        "id",
    )


def unearmarked() -> Q:
    """Lots no open hold has earmarked: only these may expire.

    A lot expires once (its expiry row's key is its id); while a hold reserves part of it, the
    lot waits, and expires whole once the hold is captured, released or expired.
    """
    return ~Q(Exists(HoldEarmark.objects.filter(lot=OuterRef("pk"), credits__gt=0)))


def expired_lots(wallet: Wallet, *, now: datetime):
    """Lots whose expiry has passed but which still hold credits (the sweep has not reached them),
    and no open hold earmarks (``unearmarked``)."""
    return WalletTransaction.objects.filter(
        unearmarked(),
        wallet=wallet,
        type=WalletTransaction.Type.CREDIT,
        transaction_status=WalletTransaction.Status.COMPLETED,
        credits_available__gt=0,
        expiry_date__lte=now,
    ).order_by("expiry_date", "id")


def check_balance_fits(wallet: Wallet, new_credit_balance: Decimal) -> None:
    value = money.credits_to_amount(new_credit_balance, rate=wallet.conversion_rate)
    if not (money.fits_credit_column(new_credit_balance) and money.fits_credit_column(value)):
        raise ValidationFailed(
            "The operation would take the wallet past the largest balance it can hold",
            field="credits",
            details={"max_credit_balance": money.format_decimal(money.MAX_CREDITS)},
        )


# What a posting changes on the wallet row.
_BALANCE_FIELDS = [
    "credit_balance",
    "balance",
    "purchased_credits_available",
    "held_credits",
    "transaction_count",
    "updated_at",
    "updated_by",
]


def _store_balance(wallet: Wallet, new_credit_balance: Decimal, *, rows: int, actor: str, now: datetime) -> None:
    """Store the balance after ``rows`` new ledger rows (written in the same transaction)."""
    wallet.credit_balance = new_credit_balance
    wallet.balance = money.credits_to_amount(new_credit_balance, rate=wallet.conversion_rate)
    wallet.transaction_count += rows
    wallet.updated_at = now
    wallet.updated_by = actor
    rawsql.update(wallet, _BALANCE_FIELDS)


def _after_posting(wallet: Wallet, rows: list[WalletTransaction], *, now: datetime, created: bool = True) -> None:
    """Announce a posting that moved the balance (wallets.ledger.hooks says who listens)."""
    hooks.announce(hooks.Posted(wallet=wallet, rows=rows, now=now, created=created, balance_moved=True))


def _lot_changed(wallet: Wallet, lot: WalletTransaction, credits: Decimal) -> None:
    """Keep the wallet's totals in step when ``lot`` gains (or, negative, gives up) ``credits``.

    ``purchased_credits_available`` is stored with the balance; ``expired_holdings``, when
    lock_wallet read it, stays what lots past their expiry hold as of ``expired_as_of``.
    """
    purchased = lot.transaction_reason in PURCHASED_REASONS
    if purchased:
        wallet.purchased_credits_available += credits
    _expired_lot_changed(wallet, lot, credits)


def _expired_lot_changed(wallet: Wallet, lot: WalletTransaction, credits: Decimal) -> None:
    """Keep ``expired_holdings`` exact when ``lot``'s credits_available moves by ``credits``."""
    purchased = lot.transaction_reason in PURCHASED_REASONS
    expired_as_of = getattr(wallet, "expired_as_of", None)
    if expired_as_of is not None and lot.expiry_date is not None and lot.expiry_date <= expired_as_of:
        expired_purchased, expired_free = wallet.expired_holdings
        wallet.expired_holdings = (
            (expired_purchased + credits, expired_free) if purchased else (expired_purchased, expired_free + credits)
        )


def _new_row(wallet: Wallet, posting: Posting, **fields) -> WalletTransaction:
    if posting.row_id is not None:  # otherwise the model's default makes one
        fields["id"] = posting.row_id
    return WalletTransaction(
        tenant_id=wallet.tenant_id,
        environment_id=wallet.environment_id,
        wallet=wallet,
        customer_id=wallet.customer_id,
        currency=wallet.currency,
        credit_amount=posting.credits,
        idempotency_key=posting.idempotency_key,
        request_fingerprint=posting.fingerprint,
        description=posting.description,
        metadata=dict(posting.metadata or {}),
        reference_type=posting.reference_type,
        reference_id=posting.reference_id,
        parent_transaction_id=posting.parent_transaction_id,
        created_at=posting.now,
        updated_at=posting.now,
        created_by=posting.actor,
        updated_by=posting.actor,
        **fields,
    )


def post_credit(wallet: Wallet, posting: Posting, *, pending: bool = False) -> WalletTransaction:
    """Write a credit row. A pending credit changes no balance until ``complete_pending_credit``."""
    amount = posting.amount
    if amount is None:
        amount = money.credits_to_amount(posting.credits, rate=wallet.topup_conversion_rate)
    row = _new_row(
        wallet,
        posting,
        type=WalletTransaction.Type.CREDIT,
        transaction_reason=posting.reason,
        amount=amount,
        topup_conversion_rate=wallet.topup_conversion_rate,
        expiry_date=posting.expiry_date,
        priority=posting.priority,
        transaction_status=WalletTransaction.Status.PENDING if pending else WalletTransaction.Status.COMPLETED,
        credit_balance_before=wallet.credit_balance,
        credit_balance_after=wallet.credit_balance,
        credits_available=money.ZERO,
    )
    if pending:
        rawsql.insert(row)
        return row
    _apply_credit(wallet, row, actor=posting.actor, now=posting.now, insert=True)
    return row


def _require_pending(row: WalletTransaction) -> None:
    if row.transaction_status != WalletTransaction.Status.PENDING:
        raise InvalidOperation(
            f"Transaction {row.id} is {row.transaction_status}, not pending", details={"transaction_id": row.id}
        )


def complete_pending_credit(wallet: Wallet, row: WalletTransaction, *, actor: str, now: datetime) -> WalletTransaction:
    """Turn a pending credit into a completed one, exactly once (the caller holds the wallet lock)."""
    _require_pending(row)
    row.transaction_status = WalletTransaction.Status.COMPLETED
    _apply_credit(wallet, row, actor=actor, now=now, insert=False)
    return row


def fail_pending_credit(wallet: Wallet, row: WalletTransaction, *, actor: str, now: datetime) -> WalletTransaction:
    """Mark a pending credit failed (its invoice was voided); no balance ever moves."""
    _require_pending(row)
    row.transaction_status = WalletTransaction.Status.FAILED
    row.updated_at = now
    row.updated_by = actor
    row.save(update_fields=["transaction_status", "updated_at", "updated_by"])
    hooks.announce(hooks.Posted(wallet=wallet, rows=[row], now=now, created=False, balance_moved=False))
    return row


def _apply_credit(wallet: Wallet, row: WalletTransaction, *, actor: str, now: datetime, insert: bool) -> None:
    before = wallet.credit_balance
    after = before + row.credit_amount
    check_balance_fits(wallet, after)
    row.sequence = wallet.transaction_count + 1
    row.credit_balance_before = before
    row.credit_balance_after = after
    # Credit landing on an overdraft repays it first; only what is left over is spendable.
    row.credits_available = min(row.credit_amount, max(money.ZERO, after))
    _lot_changed(wallet, row, row.credits_available)
    row.updated_at = now
    row.updated_by = actor
    with rawsql.pipeline():  # the row, what it repays and the balance travel together
        if insert:
            rawsql.insert(row)
        else:
            rawsql.update(
                row,
                [
                    "transaction_status",
                    "sequence",
                    "credit_balance_before",
                    "credit_balance_after",
                    "credits_available",
                    "updated_at",
                    "updated_by",
                ],
            )
        if before < 0:
            _repay_overdraft(wallet, row, repaid=min(row.credit_amount, -before), now=now)
        _store_balance(wallet, after, rows=1, actor=actor, now=now)
    _after_posting(wallet, [row], now=now, created=insert)


def _repay_overdraft(wallet: Wallet, credit: WalletTransaction, *, repaid: Decimal, now: datetime) -> None:
    """Record which overdrawn manual debits ``credit`` paid back, oldest first."""
    uncovered_debits = (
        WalletTransaction.objects.filter(
            wallet=wallet, type=WalletTransaction.Type.DEBIT, transaction_reason=Reason.MANUAL_BALANCE_DEBIT
        )
        .annotate(covered=Coalesce(Sum("allocations_paid__credits"), money.ZERO))
        .filter(credit_amount__gt=F("covered"))
        .order_by("sequence")
    )
    allocations = []
    for debit in uncovered_debits:
        if repaid <= 0:
            break
        share = min(repaid, debit.credit_amount - debit.covered)
        allocations.append(CreditAllocation(debit=debit, credit=credit, credits=share, created_at=now))
        repaid -= share
    CreditAllocation.objects.bulk_create(allocations)


# What a debit took: each lot (id, reason, credits_available, expiry_date, priority, created_at
# loaded) and the credits taken from it, in consumption order.
Taken = list[tuple[WalletTransaction, Decimal]]


def post_debit(
    wallet: Wallet,
    posting: Posting,
    *,
    allow_overdraft: bool = False,
    drawn: Taken | None = None,
) -> WalletTransaction:
    """Write a debit row, consuming lots in order.

    Raises InvalidOperation("Insufficient balance ...") when the spendable lots do not cover
    the debit, unless ``allow_overdraft`` (MANUAL_BALANCE_DEBIT), which takes what the lots
    hold and lets the balance go negative by the rest.

    ``drawn``: the (lot, credits) pairs to consume instead, chosen by the caller and adding up
    to the debit (a hold's capture: its earmarks, given back to their lots first with ``unearmark``).
    """
    return post_debit_taking(wallet, posting, allow_overdraft=allow_overdraft, drawn=drawn)[0]


def post_debit_taking(
    wallet: Wallet,
    posting: Posting,
    *,
    allow_overdraft: bool = False,
    drawn: Taken | None = None,
    lots_metadata: Callable[[Taken], dict] | None = None,
) -> tuple[WalletTransaction, Taken]:
    """``post_debit``, also answering which lots the debit took and how much from each.

    ``lots_metadata(taken)``, when given, adds to the row's metadata once the lots are chosen and
    before the row is written (rows are never changed afterwards): a transfer lists its credits.
    """
    before = wallet.credit_balance
    after = before - posting.credits
    check_balance_fits(wallet, after)
    taken = drawn if drawn is not None else _take_from_lots(wallet, posting.credits, posting.now, allow_overdraft)
    metadata = dict(posting.metadata or {})
    metadata["consumed_credit_tx_ids"] = ",".join(lot.id for lot, _ in taken)
    if lots_metadata is not None:
        metadata |= lots_metadata(taken)
    row = _new_row(
        wallet,
        posting,
        type=WalletTransaction.Type.DEBIT,
        transaction_reason=posting.reason,
        amount=posting.amount
        if posting.amount is not None
        else money.credits_to_amount(posting.credits, rate=wallet.conversion_rate),
        conversion_rate=wallet.conversion_rate,
        transaction_status=WalletTransaction.Status.COMPLETED,
        sequence=wallet.transaction_count + 1,
        credit_balance_before=before,
        credit_balance_after=after,
        credits_available=money.ZERO,
    )
    row.metadata = metadata
    for lot, credits in taken:
        lot.credits_available -= credits
        lot.updated_at = posting.now
        _lot_changed(wallet, lot, -credits)
    with rawsql.pipeline():  # the row, the lots, the allocations and the balance travel together
        rawsql.insert(row)
        if taken:
            for lot, _ in taken:  # one short statement each, sent together (an ORM bulk_update compiles a CASE)
                rawsql.update(lot, ["credits_available", "updated_at"])
            rawsql.insert(
                *(CreditAllocation(debit=row, credit=lot, credits=credits, created_at=posting.now) for lot, credits in taken)
            )
        _store_balance(wallet, after, rows=1, actor=posting.actor, now=posting.now)
    _after_posting(wallet, [row], now=posting.now)
    return row, taken


def post_expiries(wallet: Wallet, lots: list[WalletTransaction], *, actor: str, now: datetime) -> list[WalletTransaction]:
    """Write one CREDIT_EXPIRED debit per lot for its remaining credits, in bulk.

    Each row's idempotency key is its lot's id, so a lot can never expire twice. The caller
    re-read ``lots`` under the wallet lock; they must hold credits and be past their expiry.
    """
    return post_lot_debits(
        wallet,
        [
            (
                lot,
                Posting(
                    credits=lot.credits_available,
                    reason=Reason.CREDIT_EXPIRED,
                    actor=actor,
                    now=now,
                    idempotency_key=lot.id,
                    fingerprint=fingerprint("expire", lot_id=lot.id),
                    description=f"Credit expiry for transaction {lot.id}",
                    metadata={
                        "expired_transaction_id": lot.id,
                        "expiry_date": lot.expiry_date.isoformat().replace("+00:00", "Z"),
                    },
                    reference_type=WalletTransaction.ReferenceType.REQUEST,
                    reference_id=lot.id,
                ),
            )
            for lot in lots
        ],
    )


def post_lot_debits(wallet: Wallet, debits: list[tuple[WalletTransaction, Posting]]) -> list[WalletTransaction]:
    """Write one debit per (lot, posting) that takes everything the lot still holds, in bulk.

    The way a single lot is emptied rather than spent: an expiry, a void, a refund. Unlike
    ``post_debit`` the lot is named, not chosen in consumption order, and each row has exactly
    one allocation, to its lot, of its whole amount (wallets.ledger.integrity checks the void
    and refund reasons for it). Each posting's ``credits`` must be its lot's ``credits_available``,
    re-read under the wallet lock, and positive; all postings share one ``now`` and actor.
    """
    if not debits:
        return []
    balance = wallet.credit_balance
    rows, allocations, lots = [], [], []
    for lot, posting in debits:
        credits = lot.credits_available
        if posting.credits != credits or credits <= 0 or lot.wallet_id != wallet.pk:
            raise ValueError(f"a lot debit must take all that lot {lot.id} of this wallet holds")
        row = _new_row(
            wallet,
            posting,
            type=WalletTransaction.Type.DEBIT,
            transaction_reason=posting.reason,
            amount=money.credits_to_amount(credits, rate=wallet.conversion_rate),
            conversion_rate=wallet.conversion_rate,
            transaction_status=WalletTransaction.Status.COMPLETED,
            sequence=wallet.transaction_count + len(rows) + 1,
            credit_balance_before=balance,
            credit_balance_after=balance - credits,
            credits_available=money.ZERO,
        )
        row.metadata["consumed_credit_tx_ids"] = lot.id
        balance -= credits
        rows.append(row)
        allocations.append(CreditAllocation(debit=row, credit=lot, credits=credits, created_at=posting.now))
        _lot_changed(wallet, lot, -credits)
        lot.credits_available = money.ZERO
        lot.updated_at = posting.now
        lots.append(lot)
    check_balance_fits(wallet, balance)
    now, actor = debits[0][1].now, debits[0][1].actor
    WalletTransaction.objects.bulk_create(rows)
    WalletTransaction.objects.bulk_update(lots, ["credits_available", "updated_at"])
    CreditAllocation.objects.bulk_create(allocations)
    _store_balance(wallet, balance, rows=len(rows), actor=actor, now=now)
    _after_posting(wallet, rows, now=now)
    return rows


def _pages(lots, *, first: list | None = None):
    """``lots`` one page at a time, each page twice the last: a few statements for any count.

    ``first``, when given, is the first page already read (lock_wallet's ``lots_page``). Offsets
    are safe: the caller holds the wallet lock, so no other writer moves these lots.
    """
    start, size = 0, _FIRST_LOT_PAGE
    while True:
        page = first if start == 0 and first is not None else list(lots[start : start + size])
        yield from page
        if len(page) < size:
            return
        start, size = start + size, size * 2


@dataclass(frozen=True)
class ConsumptionPlan:
    """What a debit of ``credits`` would take: ``taken`` in consumption order, and the ``shortfall``
    the lots do not cover (zero when they do; an overdraft where one is allowed)."""

    credits: Decimal
    taken: Taken
    shortfall: Decimal

    def insufficient(self, wallet_id: str, *, operation: str = "debit") -> InvalidOperation | None:
        """The refusal of a debit that may not overdraw, or None when the lots cover it."""
        if self.shortfall <= 0:
            return None
        return InvalidOperation(
            f"Insufficient balance to process {operation} operation",
            details={
                "wallet_id": wallet_id,
                "requested_credits": money.format_decimal(self.credits),
                "available_credits": money.format_decimal(self.credits - self.shortfall),
            },
        )


def plan_consumption(lots: Iterable[WalletTransaction], credits: Decimal) -> ConsumptionPlan:
    """Which of ``lots`` (in consumption order, each with its ``credits_available``) a debit of
    ``credits`` takes, and how much from each. Pure: it reads nothing and changes nothing.

    The one rule of consumption, shared by the debit, the hold (its earmarks) and the preview
    (wallets.services.previews). ``lots`` is read lazily and no further than the debit needs.
    """
    remaining = credits
    taken = []
    for lot in lots:
        share = min(remaining, lot.credits_available)
        taken.append((lot, share))
        remaining -= share
        if remaining == 0:
            break
    return ConsumptionPlan(credits=credits, taken=taken, shortfall=remaining)


def spendable_lots(wallet: Wallet, *, now: datetime) -> Iterator[WalletTransaction]:
    """The wallet's open lots at ``now`` in consumption order, read a page at a time as consumed.

    Pages are read by offset, so the caller must see the lots hold still: under the wallet lock
    (a posting), or in one snapshot (the preview).
    """
    lots = open_lots(wallet, now=now).only(
        "id", "transaction_reason", "credits_available", "expiry_date", "priority", "created_at"
    )
    # Read with the lock, for this debit only: a later posting must read the lots as they are then.
    first = wallet.__dict__.pop("first_lot_page", None)
    return _pages(lots, first=first)


def _take_from_lots(wallet: Wallet, credits: Decimal, now: datetime, allow_overdraft: bool, operation: str = "debit") -> Taken:
    plan = plan_consumption(spendable_lots(wallet, now=now), credits)
    refusal = None if allow_overdraft else plan.insufficient(wallet.id, operation=operation)
    if refusal is not None:
        raise refusal
    return plan.taken


# ---------------------------------------------------------------------------------------------
# Holds: earmarked credits are out of their lots' credits_available but still in credit_balance
# and purchased_credits_available (wallets.services.holds writes the WalletHold and its earmarks).


def lots_to_earmark(wallet: Wallet, *, credits: Decimal, now: datetime) -> list[tuple[WalletTransaction, Decimal]]:
    """The (lot, credits) a hold of ``credits`` reserves, in consumption order, exactly as a debit would take them.

    Raises the debit's InvalidOperation("Insufficient balance ...") when the spendable lots fall short.
    """
    return _take_from_lots(wallet, credits, now, allow_overdraft=False, operation="hold")


def earmark(wallet: Wallet, lot: WalletTransaction, credits: Decimal) -> None:
    """Move ``credits`` out of ``lot``'s credits_available into an earmark (the caller writes the lot)."""
    lot.credits_available -= credits
    _expired_lot_changed(wallet, lot, -credits)


def unearmark(wallet: Wallet, lot: WalletTransaction, credits: Decimal) -> None:
    """Give an earmark's ``credits`` back to ``lot`` (the caller writes the lot, then zeroes the earmark:
    the ledger's trigger lets a lot rise only by what its open earmarks hold)."""
    lot.credits_available += credits
    _expired_lot_changed(wallet, lot, credits)


def store_held(wallet: Wallet, held_credits: Decimal, *, actor: str, now: datetime) -> None:
    """Store the wallet's held credits when no ledger row moves its balance (a hold placed or released)."""
    wallet.held_credits = held_credits
    wallet.updated_at = now
    wallet.updated_by = actor
    rawsql.update(wallet, ["held_credits", "updated_at", "updated_by"])
