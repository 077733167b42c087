"""A small pure-Python model of the wallet contract (CONTRACT.md §3-§4), for the model-based test.

No Django, no database: wallets are dicts of credit lots and a balance. Each operation either
raises ``Refusal`` (the error the contract prescribes) or returns a ``Prediction`` of what the
real service must answer; ``Prediction.commit(tx_id)`` then applies it to the model, once the
real call has told us the id of the row it wrote.

The rules modelled:
- a lot is spendable while it holds credits and its expiry is unset or later than now;
- debits draw on lots by priority ascending (unset last), expiry ascending (unset last), larger
  original grant first, then creation time, then id (``Contract.order``);
- a debit, and a termination, first expire the wallet's lots that are past due;
- a debit larger than the spendable credits is refused "Insufficient balance", except
  MANUAL_BALANCE_DEBIT, which takes what there is and leaves the balance negative;
- a credit landing on a negative balance repays it first; the lot keeps only what is left;
- top-ups and debits need an active wallet ("Wallet is frozen" / "Wallet is not active");
- input is validated before anything else (an expiry must be later than now, even on a replay);
- a key replays its first result with the same parameters (even on a frozen wallet) and is a
  conflict with other ones; a refused request leaves its key unused;
- termination forfeits the balance (WALLET_TERMINATION) and closes the wallet, voiding the
  invoices of its unpaid purchases (a voided invoice cannot be paid);
- a void (CREDIT_VOID) takes exactly what one named lot still holds, on an active or frozen
  wallet, and nothing else (no other lot expires on the way); it is refused for a closed wallet,
  a lot past its expiry ("expired"), a pending lot, and a lot with nothing left (credits a hold
  earmarks are not in it);
- a purchase on invoice (PURCHASED_CREDIT_INVOICED; refused, once the wallet is found active, when
  its credits are worth nothing at the wallet's rate) writes a pending lot holding nothing, no row of
  the balance (the wallet's row count waits too), and an invoice for credits × the wallet's top-up
  rate (rounded half up to 9 places); paying the invoice (once: "already paid"; no wallet status
  is looked at) completes the lot as a top-up lands then, repaying an overdraft first;
- a refund (CREDIT_REFUND) is a void of a lot whose invoice is paid: refused first for a direct
  purchase ("no invoice to credit"), any other lot that was not bought on invoice, and an unpaid
  invoice, then for the void's reasons; its credit note is worth amount_paid × (credits the
  invoice's notes refunded so far + these) / the lot's credits, rounded half up once, less what
  the earlier notes gave back (refused when that is not positive);
- a transfer (issue 14) needs two different wallets of one customer (refused before its key is
  looked at), both active; it expires the source's due lots, takes the credits from the source
  in the same order as a debit (never overdrawing) and lands each lot it took as a lot of the
  destination with the same credits, priority and expiry (repaying an overdraft first).
- holds (wallets.services.holds): a hold earmarks spendable lots in the debit's order (after
  expiring what is due), taking the credits out of the lots but not out of the balance; too few
  spendable credits is "Insufficient balance"; a capture debits up to the hold from its earmarks
  in order and gives the rest back, a release (or the hold's expiry) gives everything back; a lot
  earmarked by an open hold does not expire until the hold closes, and every hold operation
  expires what is due before and after it; no MANUAL_BALANCE_DEBIT overdraft while a hold is open;
  termination releases open holds first; capture needs an active wallet and an unexpired hold,
  release does not; place, capture and release keys replay and conflict like the ledger's.
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

ZERO = Decimal(0)
QUANTUM = Decimal("0.000000001")
MANUAL = "MANUAL_BALANCE_DEBIT"
INVOICED, DIRECT = "PURCHASED_CREDIT_INVOICED", "PURCHASED_CREDIT_DIRECT"
INSUFFICIENT = "Insufficient balance"


class Refusal(Exception):
    """The error the contract prescribes: a code of core.exceptions and the start of its message."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class Lot:
    id: str
    credits: Decimal
    available: Decimal
    priority: int | None
    expiry: datetime | None
    created_at: datetime
    reason: str = ""
    pending: bool = False


@dataclass
class Invoice:
    """A purchase on invoice's invoice (keyed by its lot): its total, whether it is paid, its credit notes."""

    amount_due: Decimal
    amount_paid: Decimal = ZERO  # all of amount_due once paid: partial payments are refused
    noted: Decimal = ZERO  # Σ its credit notes' amounts
    noted_credits: Decimal = ZERO  # Σ the credits they refunded
    voided: bool = False  # its wallet was terminated unpaid: its credits never land


@dataclass
class Hold:
    id: str
    credits: Decimal
    earmarks: list[tuple[str, Decimal]]  # (lot id, credits), in consumption order
    expires_at: datetime
    status: str = "held"


@dataclass
class WalletState:
    status: str = "active"
    balance: Decimal = ZERO
    lots: dict[str, Lot] = field(default_factory=dict)
    rows: int = 0
    owner: str = ""  # the customer: transfers stay within one
    held: Decimal = ZERO
    holds: dict[str, Hold] = field(default_factory=dict)
    rate: Decimal = Decimal(1)  # the top-up conversion rate: an invoice's price of a credit


@dataclass(frozen=True)
class Keyed:
    """What a used idempotency key stands for."""

    wallet_id: str
    kind: str
    params: tuple
    tx_id: str


@dataclass
class Prediction:
    commit: Callable[[str | None], None]
    replay_of: str | None = None  # the transaction a replay must answer with
    balance_after: Decimal | None = None
    consumed: list[str] = field(default_factory=list)  # lots a debit (or a capture) draws on, in order
    expired: list[str] = field(default_factory=list)  # lots expired on the way
    closed_holds: list[str] = field(default_factory=list)  # holds the hold expiry sweep expires
    credits: Decimal | None = None  # what a void or refund takes
    note: Decimal | None = None  # a refund's credit note amount


class Contract:
    """The model. Subclasses may override ``order`` (the negative control does)."""

    def __init__(self):
        self.wallets: dict[str, WalletState] = {}
        self.keys: dict[str, Keyed] = {}
        self.hold_keys: dict[str, Keyed] = {}  # a hold's placing key (tx_id: the hold's id)
        self.close_keys: dict[str, Keyed] = {}  # a capture's or release's key
        self.invoices: dict[str, Invoice] = {}  # by the lot a purchase on invoice wrote

    @staticmethod
    def order(lot: Lot) -> tuple:
        return (
            lot.priority is None, lot.priority or 0,
            lot.expiry is None, lot.expiry or datetime.min,
            -lot.credits, lot.created_at, lot.id,
        )  # fmt: skip

    # --- operations ---------------------------------------------------------------------------

    def open(self, wallet_id: str, owner: str = "", rate: Decimal = Decimal(1)) -> None:
        self.wallets[wallet_id] = WalletState(owner=owner, rate=rate)

    def top_up(
        self,
        wallet_id: str,
        *,
        key: str,
        credits: Decimal,
        reason: str,
        priority: int | None,
        expiry: datetime | None,
        now: datetime,
    ) -> Prediction:
        if expiry is not None and expiry <= now:
            raise Refusal("validation_error", "Expiry date must be in the future")
        params = (credits, reason, priority, expiry)
        replay = self._replay(key, wallet_id, "top_up", params)
        if replay:
            return replay
        wallet = self._active(wallet_id)
        invoiced = reason == INVOICED
        if invoiced and _round(credits * wallet.rate) <= 0:
            raise Refusal("validation_error", "Credits to add are worth less than")
        after = wallet.balance if invoiced else wallet.balance + credits

        def commit(tx_id):
            wallet.lots[tx_id] = Lot(tx_id, credits, ZERO, priority, expiry, now, reason=reason, pending=invoiced)
            if invoiced:
                self.invoices[tx_id] = Invoice(amount_due=_round(credits * wallet.rate))
            else:
                self._land(wallet, wallet.lots[tx_id])
            self.keys[key] = Keyed(wallet_id, "top_up", params, tx_id)

        return Prediction(commit, balance_after=after)

    def pay(self, lot_id: str) -> Prediction:
        """Pay the invoice of purchase ``lot_id`` in full: its lot completes."""
        invoice = self.invoices[lot_id]
        if invoice.voided:
            raise Refusal("invalid_operation", "The invoice is voided")
        if invoice.amount_paid:
            raise Refusal("invalid_operation", "The invoice is already paid")
        wallet = next(wallet for wallet in self.wallets.values() if lot_id in wallet.lots)

        def commit(_):
            invoice.amount_paid = invoice.amount_due
            self._land(wallet, wallet.lots[lot_id])

        return Prediction(commit, balance_after=wallet.balance + wallet.lots[lot_id].credits)

    @staticmethod
    def _land(wallet: WalletState, lot: Lot) -> None:
        """A lot's credits join the balance (a top-up, a paid purchase): an overdraft is repaid first."""
        wallet.balance += lot.credits
        lot.available, lot.pending = min(lot.credits, max(ZERO, wallet.balance)), False
        wallet.rows += 1

    def debit(self, wallet_id: str, *, key: str, credits: Decimal, reason: str, now: datetime) -> Prediction:
        replay = self._replay(key, wallet_id, "debit", (credits, reason))
        if replay:
            return replay
        wallet = self._active(wallet_id)
        planned = copy.deepcopy(wallet)
        expired = self._expire(planned, now)
        consumed = self._consume(planned, credits, now)
        if sum(consumed.values(), ZERO) < credits and (reason != MANUAL or wallet.held > 0):
            raise Refusal("invalid_operation", INSUFFICIENT)
        planned.balance -= credits
        planned.rows += 1

        def commit(tx_id):
            self.wallets[wallet_id] = planned
            self.keys[key] = Keyed(wallet_id, "debit", (credits, reason), tx_id)

        return Prediction(commit, balance_after=planned.balance, consumed=list(consumed), expired=expired)

    def expire_sweep(self, now: datetime) -> Prediction:
        planned = copy.deepcopy(self.wallets)
        expired = [lot for wallet in planned.values() for lot in self._expire(wallet, now)]

        def commit(_):
            self.wallets = planned

        return Prediction(commit, expired=expired)

    def freeze(self, wallet_id: str) -> Prediction:
        return self._set_status(wallet_id, frm="active", to="frozen", message="Only an active wallet can be frozen")

    def unfreeze(self, wallet_id: str) -> Prediction:
        return self._set_status(wallet_id, frm="frozen", to="active", message="Only a frozen wallet can be unfrozen")

    def terminate(self, wallet_id: str, *, now: datetime) -> Prediction:
        wallet = self.wallets[wallet_id]
        if wallet.status == "closed":
            raise Refusal("invalid_operation", "Wallet is already terminated")
        planned = copy.deepcopy(wallet)
        expired = []
        for hold in [hold for hold in planned.holds.values() if hold.status == "held"]:
            expired += self._close(planned, hold, status="released", captured=ZERO, now=now)[1]
        expired += self._expire(planned, now)
        consumed = {}
        if planned.balance > 0:
            consumed = self._consume(planned, planned.balance, now)
            planned.balance = ZERO
            planned.rows += 1
        planned.status = "closed"

        def commit(_):
            self.wallets[wallet_id] = planned
            for lot in planned.lots.values():  # unpaid purchases: their invoices are voided
                if lot.pending:
                    self.invoices[lot.id].voided = True

        return Prediction(commit, balance_after=planned.balance, consumed=list(consumed), expired=expired)

    def void(self, wallet_id: str, *, key: str, lot_id: str, reason: str, now: datetime) -> Prediction:
        return self._take(wallet_id, "void", key=key, lot_id=lot_id, reason=reason, now=now)

    def refund(self, wallet_id: str, *, key: str, lot_id: str, reason: str, now: datetime) -> Prediction:
        return self._take(wallet_id, "refund", key=key, lot_id=lot_id, reason=reason, now=now)

    def _take(self, wallet_id: str, kind: str, *, key: str, lot_id: str, reason: str, now: datetime) -> Prediction:
        """A void or a refund of what lot ``lot_id`` has left."""
        params = (lot_id, reason)
        replay = self._replay(key, wallet_id, kind, params)
        if replay:
            return replay
        wallet = self.wallets[wallet_id]
        lot = wallet.lots[lot_id]
        invoice = self._paid_invoice(lot) if kind == "refund" else None  # None: no credit note (a void)
        if wallet.status == "closed":
            raise Refusal("invalid_operation", "Wallet is closed")
        if lot.pending:
            raise Refusal("invalid_operation", "The credit lot is pending")
        if lot.available > 0 and lot.expiry is not None and lot.expiry <= now:
            raise Refusal("invalid_operation", "The credit lot has expired")
        if lot.available <= 0:
            raise Refusal("invalid_operation", "The credit lot has nothing left to void")
        taken, after = lot.available, wallet.balance - lot.available
        note = None
        if invoice is not None:
            note = self.note_amount(invoice, taken, lot) - invoice.noted
            if note <= 0:
                raise Refusal("invalid_operation", "The remaining credits are worth less than")

        def commit(tx_id):
            lot.available = ZERO
            wallet.balance = after
            wallet.rows += 1
            if invoice is not None:
                invoice.noted += note
                invoice.noted_credits += taken
            self.keys[key] = Keyed(wallet_id, kind, params, tx_id)

        return Prediction(commit, balance_after=after, consumed=[lot_id], credits=taken, note=note)

    def _paid_invoice(self, lot: Lot) -> Invoice:
        if lot.reason == DIRECT:
            raise Refusal("invalid_operation", "A direct purchase has no invoice to credit")
        if lot.reason != INVOICED:
            raise Refusal("invalid_operation", "Only credits purchased on invoice can be refunded")
        if not self.invoices[lot.id].amount_paid:
            raise Refusal("invalid_operation", "The credits' invoice is not paid")
        return self.invoices[lot.id]

    @staticmethod
    def note_amount(invoice: Invoice, credits: Decimal, lot: Lot) -> Decimal:
        """What the invoice's notes are worth in all once ``credits`` more are refunded (the negative control differs)."""
        return _round(invoice.amount_paid * (invoice.noted_credits + credits) / lot.credits)

    def transfer(self, from_id: str, to_id: str, *, key: str, credits: Decimal, now: datetime) -> Prediction:
        """``commit`` takes (debit id, [credit ids in the order of the lots taken])."""
        if from_id == to_id:
            raise Refusal("validation_error", "to_wallet_id must be another wallet")
        if self.wallets[from_id].owner != self.wallets[to_id].owner:
            raise Refusal("validation_error", "Credits can only move between wallets of the same customer")
        replay = self._replay(key, from_id, "transfer", (to_id, credits))
        if replay:
            return replay
        self._active(from_id)
        self._active(to_id)
        source, destination = copy.deepcopy(self.wallets[from_id]), copy.deepcopy(self.wallets[to_id])
        expired = self._expire(source, now)
        consumed = self._consume(source, credits, now)
        if sum(consumed.values(), ZERO) < credits:
            raise Refusal("invalid_operation", INSUFFICIENT)
        source.balance -= credits
        source.rows += 1
        taken = [(source.lots[lot_id], share) for lot_id, share in consumed.items()]

        def commit(ids):
            debit_id, credit_ids = ids
            # The service landed one credit per lot it took: as many as the model's lots, or the two disagree.
            assert len(credit_ids) == len(taken), f"the transfer landed {len(credit_ids)} lots, the model took {len(taken)}"
            for (lot, share), credit_id in zip(taken, credit_ids, strict=True):
                destination.balance += share
                available = min(share, max(ZERO, destination.balance))
                destination.lots[credit_id] = Lot(credit_id, share, available, lot.priority, lot.expiry, now, "TRANSFER_IN")
                destination.rows += 1
            self.wallets[from_id], self.wallets[to_id] = source, destination
            self.keys[key] = Keyed(from_id, "transfer", (to_id, credits), debit_id)

        return Prediction(commit, balance_after=source.balance, consumed=list(consumed), expired=expired)

    # --- holds --------------------------------------------------------------------------------

    def hold(self, wallet_id: str, *, key: str, credits: Decimal, expires_in: int, now: datetime) -> Prediction:
        params = (wallet_id, credits, expires_in)
        replay = self._replay_hold(self.hold_keys, key, "hold", params)
        if replay:
            return replay
        wallet = self._active(wallet_id)
        planned = copy.deepcopy(wallet)
        expired = self._expire(planned, now)
        consumed = self._consume(planned, credits, now)
        if sum(consumed.values(), ZERO) < credits:
            raise Refusal("invalid_operation", INSUFFICIENT)
        planned.held += credits

        def commit(hold_id):
            planned.holds[hold_id] = Hold(hold_id, credits, list(consumed.items()), now + timedelta(seconds=expires_in))
            self.wallets[wallet_id] = planned
            self.hold_keys[key] = Keyed(wallet_id, "hold", params, hold_id)

        return Prediction(commit, balance_after=planned.balance, consumed=list(consumed), expired=expired)

    def capture(self, hold_id: str, *, key: str, credits: Decimal | None, now: datetime) -> Prediction:
        return self._close_keyed(hold_id, key=key, kind="capture", credits=credits, now=now)

    def release(self, hold_id: str, *, key: str, now: datetime) -> Prediction:
        return self._close_keyed(hold_id, key=key, kind="release", credits=None, now=now)

    def holds_expire_sweep(self, now: datetime) -> Prediction:
        planned = copy.deepcopy(self.wallets)
        due = sorted(
            (
                hold
                for wallet in planned.values()
                for hold in wallet.holds.values()
                if hold.status == "held" and hold.expires_at <= now
            ),
            key=lambda hold: (hold.expires_at, hold.id),
        )
        owner = {hold_id: wallet for wallet in planned.values() for hold_id in wallet.holds}
        expired = []
        for hold in due:
            expired += self._close(owner[hold.id], hold, status="expired", captured=ZERO, now=now)[1]

        def commit(_):
            self.wallets = planned

        return Prediction(commit, expired=expired, closed_holds=[hold.id for hold in due])

    def _wallet_of(self, hold_id: str) -> tuple[str, WalletState]:
        return next((pk, wallet) for pk, wallet in self.wallets.items() if hold_id in wallet.holds)

    def _close_keyed(self, hold_id: str, *, key: str, kind: str, credits: Decimal | None, now: datetime) -> Prediction:
        wallet_id, wallet = self._wallet_of(hold_id)
        params = (hold_id, credits)
        replay = self._replay_hold(self.close_keys, key, kind, params)
        if replay:
            return replay
        hold = wallet.holds[hold_id]
        if hold.status != "held":
            raise Refusal("invalid_operation", "Hold ")
        captured = ZERO
        if kind == "capture":
            self._active(wallet_id)
            if hold.expires_at <= now:
                raise Refusal("invalid_operation", "Hold ")
            captured = hold.credits if credits is None else credits
            if captured > hold.credits:
                raise Refusal("validation_error", "credits must be at most")
        planned = copy.deepcopy(wallet)
        consumed, expired = self._close(planned, planned.holds[hold_id], status=kind + "d", captured=captured, now=now)

        def commit(_):
            self.wallets[wallet_id] = planned
            self.close_keys[key] = Keyed(wallet_id, kind, params, hold_id)

        return Prediction(commit, balance_after=planned.balance, consumed=consumed, expired=expired)

    def _close(self, wallet: WalletState, hold: Hold, *, status: str, captured: Decimal, now: datetime):
        """Expire what is due, give the earmarks back, debit ``captured`` of them, expire again; in place."""
        expired = self._expire(wallet, now)
        consumed, remaining = [], captured
        for lot_id, earmarked in hold.earmarks:
            share = min(remaining, earmarked)
            wallet.lots[lot_id].available += earmarked - share
            if share > 0:
                consumed.append(lot_id)
                remaining -= share
        hold.status = status
        wallet.held -= hold.credits
        if captured > 0:
            wallet.balance -= captured
            wallet.rows += 1
        expired += self._expire(wallet, now)
        return consumed, expired

    def _replay_hold(self, keys: dict, key: str, kind: str, params: tuple) -> Prediction | None:
        used = keys.get(key)
        if used is None:
            return None
        if (used.kind, used.params) != (kind, params):
            raise Refusal("already_exists", "A hold operation with this idempotency key already exists")
        return Prediction(lambda _: None, replay_of=used.tx_id)

    # --- rules --------------------------------------------------------------------------------

    def _replay(self, key: str, wallet_id: str, kind: str, params: tuple) -> Prediction | None:
        used = self.keys.get(key)
        if used is None:
            return None
        if (used.wallet_id, used.kind, used.params) != (wallet_id, kind, params):
            raise Refusal("already_exists", "A wallet transaction with this idempotency key already exists")
        return Prediction(lambda _: None, replay_of=used.tx_id)

    def _active(self, wallet_id: str) -> WalletState:
        wallet = self.wallets[wallet_id]
        if wallet.status == "frozen":
            raise Refusal("invalid_operation", "Wallet is frozen")
        if wallet.status != "active":
            raise Refusal("invalid_operation", "Wallet is not active")
        return wallet

    def _set_status(self, wallet_id: str, *, frm: str, to: str, message: str) -> Prediction:
        wallet = self.wallets[wallet_id]
        if wallet.status != frm:
            raise Refusal("invalid_operation", message)

        def commit(_):
            wallet.status = to

        return Prediction(commit)

    @staticmethod
    def _expire(wallet: WalletState, now: datetime) -> list[str]:
        """Expire the lots past due (expiry at or before now) in ``wallet``, in place."""
        # A lot an open hold earmarks waits for the hold to close.
        earmarked = {lot_id for hold in wallet.holds.values() if hold.status == "held" for lot_id, _ in hold.earmarks}
        due = sorted(
            (
                lot
                for lot in wallet.lots.values()
                if lot.available > 0 and lot.expiry is not None and lot.expiry <= now and lot.id not in earmarked
            ),
            key=lambda lot: (lot.expiry, lot.id),
        )
        for lot in due:
            wallet.balance -= lot.available
            lot.available = ZERO
            wallet.rows += 1
        return [lot.id for lot in due]

    def _consume(self, wallet: WalletState, credits: Decimal, now: datetime) -> dict[str, Decimal]:
        """Draw up to ``credits`` from the spendable lots of ``wallet`` in order, in place."""
        spendable = [lot for lot in wallet.lots.values() if lot.available > 0 and (lot.expiry is None or lot.expiry > now)]
        taken: dict[str, Decimal] = {}
        remaining = credits
        for lot in sorted(spendable, key=self.order):
            if remaining == 0:
                break
            share = min(remaining, lot.available)
            lot.available -= share
            taken[lot.id] = share
            remaining -= share
        return taken


def _round(value: Decimal) -> Decimal:
    """Exact to 60 digits, then half up to 9 places, as wallets.ledger.money rounds money (no Django here)."""
    with localcontext(prec=60):
        return value.quantize(QUANTUM, rounding=ROUND_HALF_UP)


class FifoContract(Contract):
    """A deliberately wrong model: lots consumed in creation order. The test must catch it."""

    @staticmethod
    def order(lot: Lot) -> tuple:
        return (lot.created_at, lot.id)


class UnreservedHoldContract(Contract):
    """A deliberately wrong model: a hold leaves its lots' credits spendable. The test must catch it."""

    def hold(self, wallet_id: str, **kwargs) -> Prediction:
        prediction = super().hold(wallet_id, **kwargs)
        placed = prediction.commit

        def commit(hold_id):
            placed(hold_id)
            hold = self.wallets[wallet_id].holds.get(hold_id)
            if hold is not None and prediction.replay_of is None:
                for lot_id, credits in hold.earmarks:
                    self.wallets[wallet_id].lots[lot_id].available += credits
                hold.earmarks = []

        prediction.commit = commit
        return prediction


class WholeInvoiceRefundContract(Contract):
    """A deliberately wrong model: a refund's credit note gives back all the invoice has not yet given back,
    whatever was consumed of the lot. The test must catch it."""

    @staticmethod
    def note_amount(invoice: Invoice, credits: Decimal, lot: Lot) -> Decimal:
        return invoice.amount_paid


class DirectRefundContract(Contract):
    """A deliberately wrong model: a direct purchase (no invoice) may be refunded, like a void with no
    credit note. The test must catch it."""

    def _paid_invoice(self, lot: Lot) -> Invoice | None:
        return None if lot.reason == DIRECT else super()._paid_invoice(lot)
