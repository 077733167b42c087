"""Holds: reserve credits for an in-flight job, then capture (debit) them or release them.

The accounting, all of it under the wallet's lock and in one transaction per operation:

- **Place**: lots past their expiry are expired first (as for a debit), then the hold earmarks
  the spendable lots in consumption order (wallets.ledger.postings.lots_to_earmark, the order a
  debit takes them in). The earmarked credits leave each lot's ``credits_available`` and are
  recorded as HoldEarmark rows; ``Wallet.held_credits`` grows by the hold. ``credit_balance`` and
  ``purchased_credits_available`` do not move: the credits still belong to the customer. Debits,
  expiry, termination and every later hold only ever take ``credits_available``, so they cannot
  touch held credits; holds serialise on the wallet lock, so together they never reserve more
  than the lots hold. Too few spendable credits is the debit's InvalidOperation.
- **Capture** (all of the hold, or part of it): one HOLD_CAPTURE debit of the captured credits,
  its CreditAllocation rows drawn from the earmarks in earmark order; the rest goes back to its
  lots. ``held_credits`` drops by the whole hold, ``credit_balance`` by the captured credits.
- **Release** (and **expiry**, by the workers, past ``expires_at``): every earmark goes back to its lot.

Lots whose own expiry passes while earmarked: the expiry sweep skips a lot with an open earmark
(wallets.ledger.postings.unearmarked), because a lot expires once, in one row keyed by its id.
If the hold is captured, the earmarked part is consumed; if it is released or expires, that part
returns to the lot; either way the lot's remainder then expires at once (each operation here ends
by expiring what is due, as a debit begins by it). A hold lives at most MAX_HOLD_SECONDS, so a lot
waits at most that long past its expiry.

Decisions:
- A frozen wallet refuses new holds and captures (as it refuses debits); a release is allowed on
  a frozen wallet (it only gives credits back), and the workers expire holds on any wallet.
- Terminating a wallet releases its open holds first, in the termination's transaction, so the
  termination debit takes the whole balance and no reservation outlives its wallet.
- A MANUAL_BALANCE_DEBIT may not overdraw while a hold is open (wallets.services.debits): a
  wallet owing credits while it reserves some would break the balance identity.
- Alerts and auto top-up keep watching ``credit_balance``: a hold moves no balance and may be
  released, and an auto top-up charges the customer, so it waits for the capture (a debit).
- Idempotency: placing keys the hold (WalletHold.idempotency_key), a capture or release keys its
  closing (WalletHold.close_idempotency_key); the unique indexes decide, as in
  wallets.ledger.idempotency. A replay returns the hold as it stands now; other parameters are 409.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import inputs
from core.exceptions import AlreadyExists, InvalidOperation, ServiceError, ValidationFailed
from wallets.ledger import money, postings
from wallets.ledger.fingerprints import fingerprint
from wallets.ledger.idempotency import check_client_key
from wallets.models import HoldEarmark, Wallet, WalletHold, WalletTransaction
from wallets.services import events
from wallets.services.credits import require_active
from wallets.services.debits import expire_due_lots

Status = WalletHold.Status
DEFAULT_HOLD_SECONDS = 24 * 60 * 60
MIN_HOLD_SECONDS = 60
MAX_HOLD_SECONDS = 7 * 24 * 60 * 60
SYSTEM_ACTOR = "system"
_PLACE_KEY_CONSTRAINT = "wallet_hold_unique_idempotency_key"
_CLOSE_KEY_CONSTRAINT = "wallet_hold_unique_close_idempotency_key"


@dataclass(frozen=True)
class HoldResult:
    """A hold operation's outcome: the hold and its wallet as they stand after it."""

    hold: WalletHold
    wallet: Wallet
    replayed: bool = False


def _required_key(key) -> str:
    key = check_client_key(key)
    if key is None:
        raise ValidationFailed("idempotency_key is required", field="idempotency_key")
    return key


def _constraint(exc: IntegrityError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", "") or ""


def _idempotent(
    *,
    find: Callable[[], WalletHold | None],
    fingerprint_of: Callable[[WalletHold], str],
    fingerprint_: str,
    constraint: str,
    write,
) -> HoldResult:
    """Run ``write()`` or replay the hold that ``find()`` returns (the pattern of wallets.ledger.idempotency.run_idempotent).

    The unique index on the key decides: a refused insert or update, or a refused write (frozen,
    already closed...) after an earlier success with the same key, answers from the earlier hold.
    """
    try:
        with transaction.atomic():
            return write()
    except IntegrityError as exc:
        if _constraint(exc) != constraint:
            raise
    except ServiceError:
        existing = find()
        if existing is None:
            raise
        return _replay(existing, fingerprint_of(existing), fingerprint_)
    existing = find()
    if existing is None:
        raise AlreadyExists("A concurrent request with this idempotency key is in progress; retry it")
    return _replay(existing, fingerprint_of(existing), fingerprint_)


def _replay(hold: WalletHold, stored: str, fingerprint_: str) -> HoldResult:
    if stored != fingerprint_:
        raise AlreadyExists(
            "A hold operation with this idempotency key already exists with different parameters",
            details={"hold_id": hold.id, "wallet_id": hold.wallet_id},
        )
    return HoldResult(hold=hold, wallet=Wallet.objects.get(pk=hold.wallet_id), replayed=True)


def _check_expiry(expires_at, expires_in_seconds, *, now: datetime) -> datetime:
    if expires_at is not None and expires_in_seconds is not None:
        raise ValidationFailed("Give expires_at or expires_in_seconds, not both", field="expires_in_seconds")
    if expires_at is not None:
        expires_at = inputs.check_future(expires_at, field="expires_at", now=now)
        seconds = (expires_at - now).total_seconds()
        field = "expires_at"
    else:
        seconds = DEFAULT_HOLD_SECONDS if expires_in_seconds is None else expires_in_seconds
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise ValidationFailed("expires_in_seconds must be an integer", field="expires_in_seconds")
        field = "expires_in_seconds"
        expires_at = None
    if not MIN_HOLD_SECONDS <= seconds <= MAX_HOLD_SECONDS:
        raise ValidationFailed(
            f"A hold lasts between {MIN_HOLD_SECONDS} seconds and {MAX_HOLD_SECONDS // 86400} days", field=field
        )
    return expires_at or now + timedelta(seconds=seconds)


def hold_place(
    wallet: Wallet,
    *,
    credits: Decimal,
    idempotency_key: str,
    expires_at: datetime | None = None,
    expires_in_seconds: int | None = None,
    description: str = "",
    metadata: dict | None = None,
    actor: str = "",
) -> HoldResult:
    """Reserve ``credits`` of an active wallet until ``expires_at`` (or ``expires_in_seconds``, default a day)."""
    now = timezone.now()
    credits = money.check_credits(credits, field="credits")
    expiry = _check_expiry(expires_at, expires_in_seconds, now=now)
    description = inputs.check_text(description, field="description", max_length=inputs.MAX_DESCRIPTION_LENGTH)
    metadata = inputs.check_metadata(metadata)
    key = _required_key(idempotency_key)
    fingerprint_ = fingerprint(
        "hold",
        wallet_id=wallet.pk,
        credits=credits,
        expires_at=expiry if expires_at is not None else None,
        expires_in_seconds=expires_in_seconds,
        description=description,
        metadata=metadata,
    )

    def write() -> HoldResult:
        locked = postings.lock_wallet(wallet.pk, now=now, lots_page=True)
        require_active(locked)
        expire_due_lots(locked, now=now, actor=actor)
        hold = WalletHold(
            tenant_id=locked.tenant_id,
            environment_id=locked.environment_id,
            wallet=locked,
            customer_id=locked.customer_id,
            credits=credits,
            expires_at=expiry,
            idempotency_key=key,
            request_fingerprint=fingerprint_,
            description=description,
            metadata=metadata,
            created_at=now,
            updated_at=now,
            created_by=actor,
            updated_by=actor,
        )
        hold.save(force_insert=True)  # the key's unique index decides here
        taken = postings.lots_to_earmark(locked, credits=credits, now=now)
        earmarks = []
        for position, (lot, share) in enumerate(taken, start=1):
            postings.earmark(locked, lot, share)
            lot.updated_at = now
            earmarks.append(HoldEarmark(hold=hold, lot=lot, position=position, earmarked=share, credits=share))
        WalletTransaction.objects.bulk_update([lot for lot, _ in taken], ["credits_available", "updated_at"])
        HoldEarmark.objects.bulk_create(earmarks)
        postings.store_held(locked, locked.held_credits + credits, actor=actor, now=now)
        events.publish_hold_event(locked, hold, events.HOLD_CREATED)
        return HoldResult(hold=hold, wallet=locked)

    return _idempotent(
        find=lambda: WalletHold.objects.filter(environment_id=wallet.environment_id, idempotency_key=key).first(),
        fingerprint_of=lambda hold: hold.request_fingerprint,
        fingerprint_=fingerprint_,
        constraint=_PLACE_KEY_CONSTRAINT,
        write=write,
    )


def _locked_open_hold(hold_id: str, *, now: datetime) -> tuple[Wallet, WalletHold]:
    """The wallet (locked) and the hold re-read under the lock; InvalidOperation unless it is still held."""
    wallet_id = WalletHold.objects.values_list("wallet_id", flat=True).get(pk=hold_id)
    locked = postings.lock_wallet(wallet_id, now=now)
    hold = WalletHold.objects.get(pk=hold_id)
    if hold.hold_status != Status.HELD:
        raise InvalidOperation(
            f"Hold {hold.id} is {hold.hold_status}; only a held hold can be captured or released",
            details={"hold_id": hold.id, "hold_status": hold.hold_status},
        )
    return locked, hold


def _close(
    locked: Wallet,
    hold: WalletHold,
    *,
    status: str,
    captured: Decimal = money.ZERO,
    key: str | None = None,
    fingerprint_: str = "",
    actor: str,
    now: datetime,
) -> WalletHold:
    """Give the hold's earmarks back to their lots, debit ``captured`` of them, and close the hold.

    The caller holds the lock and has checked the hold is held and ``captured`` ≤ its credits.
    """
    expire_due_lots(locked, now=now, actor=actor)
    earmarks = list(HoldEarmark.objects.filter(hold=hold).select_related("lot").order_by("position"))
    drawn, remaining = [], captured
    for earmark in earmarks:
        postings.unearmark(locked, earmark.lot, earmark.credits)
        earmark.lot.updated_at = now
        share = min(remaining, earmark.credits)
        if share > 0:
            drawn.append((earmark.lot, share))
            remaining -= share
    locked.held_credits -= hold.credits
    if captured > 0:
        hold.capture_transaction = postings.post_debit(
            locked,
            postings.Posting(
                credits=captured,
                reason=WalletTransaction.Reason.HOLD_CAPTURE,
                actor=actor,
                now=now,
                description=hold.description or f"Capture of hold {hold.id}",
                metadata={"hold_id": hold.id},
                reference_type=WalletTransaction.ReferenceType.REQUEST,
                reference_id=hold.id,
            ),
            drawn=drawn,
        )
    else:
        postings.store_held(locked, locked.held_credits, actor=actor, now=now)
    # Lots first, then the earmarks: a lot may rise only by what its open earmarks still hold.
    WalletTransaction.objects.bulk_update([earmark.lot for earmark in earmarks], ["credits_available", "updated_at"])
    HoldEarmark.objects.filter(hold=hold).update(credits=money.ZERO)
    hold.hold_status = status
    hold.captured_credits = captured
    hold.close_idempotency_key = key
    hold.close_fingerprint = fingerprint_
    hold.closed_at = now
    hold.updated_at = now
    hold.updated_by = actor
    hold.save()  # a close key used before is refused here, by its unique index
    expire_due_lots(locked, now=now, actor=actor)  # a lot past its expiry, no longer earmarked
    event = {Status.CAPTURED: events.HOLD_CAPTURED}.get(status, events.HOLD_RELEASED)
    events.publish_hold_event(locked, hold, event)
    return hold


def _close_idempotent(hold: WalletHold, *, key: str, fingerprint_: str, write: Callable[[], HoldResult]) -> HoldResult:
    return _idempotent(
        find=lambda: WalletHold.objects.filter(environment_id=hold.environment_id, close_idempotency_key=key).first(),
        fingerprint_of=lambda found: found.close_fingerprint,
        fingerprint_=fingerprint_,
        constraint=_CLOSE_KEY_CONSTRAINT,
        write=write,
    )


def hold_capture(hold: WalletHold, *, idempotency_key: str, credits: Decimal | None = None, actor: str = "") -> HoldResult:
    """Debit ``credits`` of the hold (all of it when None) and give the rest back; the wallet must be active."""
    now = timezone.now()
    if credits is not None:
        credits = money.check_credits(credits, field="credits")
    key = _required_key(idempotency_key)
    fingerprint_ = fingerprint("hold_capture", hold_id=hold.pk, credits=credits)

    def write() -> HoldResult:
        locked, current = _locked_open_hold(hold.pk, now=now)
        require_active(locked)
        if current.expires_at <= now:
            raise InvalidOperation(
                f"Hold {current.id} expired at {current.expires_at.isoformat()}", details={"hold_id": current.id}
            )
        captured = current.credits if credits is None else credits
        if captured > current.credits:
            raise ValidationFailed(
                f"credits must be at most the {money.format_decimal(current.credits)} held",
                field="credits",
                details={"held_credits": money.format_decimal(current.credits)},
            )
        closed = _close(
            locked, current, status=Status.CAPTURED, captured=captured, key=key, fingerprint_=fingerprint_, actor=actor, now=now
        )
        return HoldResult(hold=closed, wallet=locked)

    return _close_idempotent(hold, key=key, fingerprint_=fingerprint_, write=write)


def hold_release(hold: WalletHold, *, idempotency_key: str, actor: str = "") -> HoldResult:
    """Give every credit of the hold back to its lots (allowed on a frozen wallet too)."""
    now = timezone.now()
    key = _required_key(idempotency_key)
    fingerprint_ = fingerprint("hold_release", hold_id=hold.pk)

    def write() -> HoldResult:
        locked, current = _locked_open_hold(hold.pk, now=now)
        closed = _close(locked, current, status=Status.RELEASED, key=key, fingerprint_=fingerprint_, actor=actor, now=now)
        return HoldResult(hold=closed, wallet=locked)

    return _close_idempotent(hold, key=key, fingerprint_=fingerprint_, write=write)


def wallet_release_holds(wallet: Wallet, *, key_prefix: str, actor: str = "") -> list[HoldResult]:
    """Release every open hold of ``wallet`` (support, for stuck holds), each keyed ``<key_prefix>:<hold id>``.

    Each release is its own idempotent write, so the same page submitted twice replays.
    """
    key_prefix = _required_key(key_prefix)
    targets = list(WalletHold.objects.filter(wallet=wallet, hold_status=Status.HELD).order_by("created_at", "id"))
    if not targets:  # the same page submitted again: replay what it released
        closed = WalletHold.objects.filter(wallet=wallet, close_idempotency_key__startswith=f"{key_prefix}:")
        targets = list(closed.order_by("created_at", "id"))
    return [hold_release(hold, idempotency_key=f"{key_prefix}:{hold.id}", actor=actor) for hold in targets]


def release_open_holds(locked: Wallet, *, actor: str, now: datetime) -> list[WalletHold]:
    """Release every open hold of the locked wallet (its termination, in the caller's transaction)."""
    holds = list(WalletHold.objects.filter(wallet=locked, hold_status=Status.HELD).order_by("created_at", "id"))
    return [_close(locked, hold, status=Status.RELEASED, actor=actor, now=now) for hold in holds]


def hold_expire(hold_id: str, *, now: datetime | None = None) -> WalletHold | None:
    """Expire one hold past its expiry: its credits go back to their lots. None when it is no longer due.

    Safe to run twice or from two workers: the hold is re-read under its wallet's lock.
    """
    now = now or timezone.now()
    with transaction.atomic():
        try:
            locked, hold = _locked_open_hold(hold_id, now=now)
        except InvalidOperation:
            return None  # captured or released in the meantime
        if hold.expires_at > now:
            return None
        return _close(locked, hold, status=Status.EXPIRED, actor=SYSTEM_ACTOR, now=now)


def holds_expire_sweep(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Expire every open hold past its expiry, one short transaction each; returns how many."""
    now = now or timezone.now()
    expired = 0
    while True:
        due = list(
            WalletHold.objects.filter(hold_status=Status.HELD, expires_at__lte=now)
            .order_by("expires_at", "id")
            .values_list("id", flat=True)[:batch_size]
        )
        for hold_id in due:
            expired += hold_expire(hold_id, now=now) is not None
        if len(due) < batch_size:
            return expired
