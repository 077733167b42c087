"""Taking credits out of a wallet: debits and credit expiry."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core import inputs
from core.exceptions import InvalidOperation
from wallets import selectors
from wallets.ledger import money, postings
from wallets.ledger.fingerprints import fingerprint
from wallets.ledger.idempotency import LedgerResult, require_client_key
from wallets.models import Wallet, WalletTransaction
from wallets.services.credits import require_active, run_on

Reason = WalletTransaction.Reason
# Reasons a caller may debit with; expiry and termination have their own services.
DEBIT_REASONS = (Reason.MANUAL_BALANCE_DEBIT, Reason.INVOICE_PAYMENT, Reason.CREDIT_ADJUSTMENT)


@dataclass(frozen=True)
class DebitRequest:
    """A debit's input once checked (``check_debit``)."""

    credits: Decimal
    reason: str
    description: str
    metadata: dict


def check_debit(*, credits: Decimal, reason: str, description: str, metadata: dict | None) -> DebitRequest:
    """The debit's input checks (ValidationFailed naming the field), shared with its preview
    (wallets.services.previews): the same input is refused the same way by both."""
    return DebitRequest(
        reason=inputs.check_choice(reason, field="transaction_reason", choices=DEBIT_REASONS),
        credits=money.check_credits(credits, field="credits"),
        description=inputs.check_text(description, field="description", max_length=inputs.MAX_DESCRIPTION_LENGTH),
        metadata=inputs.check_metadata(metadata),
    )


def allows_overdraft(wallet: Wallet, *, reason: str) -> bool:
    """Whether a debit for ``reason`` may take ``wallet`` below zero by what its lots do not cover.

    Only MANUAL_BALANCE_DEBIT, and not while holds are open: the wallet would owe credits while
    credits sit reserved (wallets.services.holds), so the debit must fit in what is not held.
    """
    return reason == Reason.MANUAL_BALANCE_DEBIT and wallet.held_credits == 0


def wallet_debit(
    wallet: Wallet | selectors.WalletRef,
    *,
    credits: Decimal,
    idempotency_key: str,
    reason: str = Reason.MANUAL_BALANCE_DEBIT,
    description: str = "",
    metadata: dict | None = None,
    actor: str = "",
) -> LedgerResult:
    """Take ``credits`` from an active wallet, consuming its lots in order.

    Only MANUAL_BALANCE_DEBIT may take the wallet below zero, and only while no hold is open; any other reason raises
    InvalidOperation("Insufficient balance ...") when the spendable lots fall short. Lots past
    their expiry are expired first, in the same transaction. The idempotency key is required.
    ``wallet`` may be a WalletRef (the API): its row lock is then the only read of it, and a
    wallet the environment does not have is NotFound, raised after the input's checks.
    """
    now = timezone.now()
    request = check_debit(credits=credits, reason=reason, description=description, metadata=metadata)
    credits, reason, description, metadata = request.credits, request.reason, request.description, request.metadata
    key = require_client_key(idempotency_key, operation="a debit")
    fingerprint_ = fingerprint(
        "debit", wallet_id=wallet.id, credits=credits, reason=reason, description=description, metadata=metadata
    )

    def write(locked: Wallet) -> WalletTransaction:
        require_active(locked)
        expire_due_lots(locked, now=now, actor=actor)
        return postings.post_debit(
            locked,
            postings.Posting(
                credits=credits,
                reason=reason,
                actor=actor,
                now=now,
                idempotency_key=key,
                fingerprint=fingerprint_,
                description=description,
                metadata=metadata,
                reference_type=WalletTransaction.ReferenceType.REQUEST,
                reference_id=key,
            ),
            allow_overdraft=allows_overdraft(locked, reason=reason),
        )

    return run_on(wallet, key=key, fingerprint_=fingerprint_, write=write, now=now, lots_page=True)


def expire_due_lots(
    wallet: Wallet, *, now: datetime, actor: str = "", due_before: datetime | None = None, limit: int | None = None
) -> list[WalletTransaction]:
    """Expire the locked ``wallet``'s lots whose expiry is at or before ``due_before`` (default now).

    Debits call this first, so a negative balance never coexists with credits still parked in
    an expired lot; the periodic sweep calls it, with its grace period and a batch ``limit``,
    for wallets nobody is using.
    """
    cutoff = due_before or now
    if postings.nothing_expired(wallet, cutoff=cutoff):  # read with the lock: no need to look
        return []
    lots = postings.expired_lots(wallet, now=cutoff)
    if limit is not None:
        lots = lots[:limit]
    return postings.post_expiries(wallet, list(lots), actor=actor, now=now)


def wallet_credit_expire(
    lot: WalletTransaction, *, now: datetime | None = None, actor: str = "system"
) -> WalletTransaction | None:
    """Expire one credit lot if it is due and still holds credits; None when there is nothing to do.

    Safe to run twice or from two workers at once: it re-reads the lot under the wallet lock,
    and the expiry row's idempotency key (the lot's id) is unique.
    """
    now = now or timezone.now()
    with transaction.atomic():
        wallet = postings.lock_wallet(lot.wallet_id)
        lot = WalletTransaction.objects.get(pk=lot.pk)
        if lot.type != WalletTransaction.Type.CREDIT or lot.expiry_date is None:
            raise InvalidOperation("Only a credit with an expiry date can expire", details={"transaction_id": lot.id})
        if lot.expiry_date > now or lot.credits_available <= 0 or lot.transaction_status != WalletTransaction.Status.COMPLETED:
            return None
        if not postings.expired_lots(wallet, now=now).filter(pk=lot.pk).exists():
            return None  # an open hold earmarks part of it: it expires when the hold closes
        return postings.post_expiries(wallet, [lot], actor=actor, now=now)[0]
