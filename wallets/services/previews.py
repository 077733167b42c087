"""What a write would do, answered without doing it: nothing here writes, locks or queues work.

A preview applies its write's own rules (the debit's input checks, active check, overdraft rule
and the ledger's ``plan_consumption``) to one consistent snapshot of the wallet and its lots,
so it answers what that write would do if it ran at the same instant. It lives with the services,
not in wallets.selectors, because those rules are the services'; selectors are read by the
services and must not import them back.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum

from core.db.snapshots import read_only_snapshot
from core.exceptions import ServiceError
from wallets import selectors
from wallets.ledger import money, postings
from wallets.models import Wallet, WalletTransaction
from wallets.services.credits import require_active
from wallets.services.debits import allows_overdraft, check_debit

Reason = WalletTransaction.Reason


@dataclass(frozen=True)
class PlannedLot:
    """``credits`` a debit would take from ``lot``, which holds ``available_before`` spendable credits."""

    lot: WalletTransaction
    credits: Decimal
    available_before: Decimal

    @property
    def available_after(self) -> Decimal:
        return self.available_before - self.credits

    @property
    def purchased(self) -> bool:
        return self.lot.transaction_reason in postings.PURCHASED_REASONS


@dataclass(frozen=True)
class DebitPreview:
    """What ``wallet_debit`` with these inputs would do at ``now``.

    ``expiring_credits``: what lots past their expiry still hold; the debit expires them first, so
    its ``credit_balance_before`` is the wallet's balance less these. ``overdraft_credits``: what the
    lots do not cover and a MANUAL_BALANCE_DEBIT would take the wallet below zero by. ``refusal``:
    the error the debit would raise (None when it would succeed); ``lots`` are listed either way.
    """

    wallet: Wallet
    credits: Decimal
    reason: str
    now: datetime
    expiring_credits: Decimal
    lots: list[PlannedLot]
    overdraft_credits: Decimal
    refusal: ServiceError | None

    @property
    def credit_balance_before(self) -> Decimal:
        return self.wallet.credit_balance - self.expiring_credits

    @property
    def credit_balance_after(self) -> Decimal | None:
        return None if self.refusal is not None else self.credit_balance_before - self.credits

    @property
    def would_succeed(self) -> bool:
        return self.refusal is None


def _expiring_credits(wallet: Wallet, *, now: datetime) -> Decimal:
    """What the debit's first step (wallets.services.debits.expire_due_lots) would expire at ``now``."""
    if postings.nothing_expired(wallet, cutoff=now):  # wallet_get read it: usually no query
        return money.ZERO
    total = postings.expired_lots(wallet, now=now).aggregate(total=Sum("credits_available"))["total"]
    return total or money.ZERO


def wallet_debit_preview(
    wallet: selectors.WalletRef,
    *,
    credits: Decimal,
    reason: str = Reason.MANUAL_BALANCE_DEBIT,
    description: str = "",
    metadata: dict | None = None,
) -> DebitPreview:
    """Which lots a debit of ``credits`` would consume, in order, and the balance it would leave.

    The input is checked exactly as wallet_debit checks it (ValidationFailed naming the field);
    NotFound when the environment has no such wallet. A debit the wallet would refuse (not
    active, insufficient balance, a balance past the column) is not raised but answered in the
    preview's ``refusal``. Reads the wallet and its lots in one read-only snapshot on the primary
    (core.db.snapshots), so they agree without a lock; writes nothing, so there is nothing to
    make idempotent.
    """
    request = check_debit(credits=credits, reason=reason, description=description, metadata=metadata)
    with read_only_snapshot():
        current = selectors.wallet_get(environment_id=wallet.environment_id, wallet_id=wallet.id)
        # The instant wallet_get read the lots past their expiry at: the whole preview is as of then.
        now = current.expired_as_of
        expiring = _expiring_credits(current, now=now)
        plan = postings.plan_consumption(postings.spendable_lots(current, now=now), request.credits)
        # Each lot's credits_available before the debit, read now: the plan holds the lots themselves.
        lots = [PlannedLot(lot=lot, credits=share, available_before=lot.credits_available) for lot, share in plan.taken]
    overdraft = allows_overdraft(current, reason=request.reason)
    # The debit's refusals, in the order it meets them (wallets.services.debits.wallet_debit).
    refusal = None
    try:
        require_active(current)
        postings.check_balance_fits(current, current.credit_balance - expiring - request.credits)
    except ServiceError as error:
        refusal = error
    if refusal is None and not overdraft:
        refusal = plan.insufficient(current.id)
    return DebitPreview(
        wallet=current,
        credits=request.credits,
        reason=request.reason,
        now=now,
        expiring_credits=expiring,
        lots=lots,
        overdraft_credits=plan.shortfall if overdraft and refusal is None else money.ZERO,
        refusal=refusal,
    )
