"""Voiding and refunding what one credit lot has left (issue 14, part 3).

``credit_void`` takes back the unconsumed remainder of one completed credit lot, with a reason:
one CREDIT_VOID debit of exactly that remainder, allocated to the lot, so the lot's identity
``credit_amount = credits_available + Σ allocations`` still holds and it holds nothing after.
``credit_refund`` does the same for a paid purchased lot with a CREDIT_REFUND debit, and records
a credit note against the lot's invoice for the invoice's price of those credits
(invoices.services.credit_note_issue). Consumed credits are never touched: they paid for debits
that stand.

Decisions, and why:
- a void takes the lot's ``credits_available`` as it is under the wallet lock; credits a hold has
  earmarked are not in it and stay with the hold (they can be voided once released to the lot);
- a pending lot is refused (its invoice decides: pay it or void it), a failed one holds nothing;
- a lot past its expiry that the sweep has not reached yet is refused: those credits are already
  unspendable and the expiry forfeits them (CREDIT_EXPIRED); a void would record a second,
  different reason for the same forfeit;
- a frozen wallet may be voided and refunded: a freeze stops the customer spending, and taking
  credits back (a fraudulent grant, a refund the customer asked for) is exactly what support may
  need to do then; a closed wallet holds nothing and is refused;
- the idempotency key is required, as for a debit: a replay returns the first result, other
  parameters with the same key are a 409.

The admin's void and refund actions call these functions with plain arguments (environment, lot
id, reason, key, actor), so an approval step can wrap the call unchanged.
"""

from dataclasses import dataclass

from django.utils import timezone

from core import inputs
from core.exceptions import InvalidOperation, ValidationFailed
from invoices.models import CreditNote
from invoices.services import credit_note_issue, paid_invoice_of
from wallets.ledger import money, postings
from wallets.ledger.fingerprints import fingerprint
from wallets.ledger.idempotency import check_client_key, run_idempotent
from wallets.models import Wallet, WalletTransaction
from wallets.selectors import wallet_transaction_get
from wallets.services import events

Reason = WalletTransaction.Reason
MAX_REASON_LENGTH = 2000


@dataclass(frozen=True)
class VoidResult:
    """A void's or refund's debit, the wallet as of it, and a refund's credit note."""

    transaction: WalletTransaction
    wallet: Wallet
    replayed: bool = False
    credit_note: CreditNote | None = None


def credit_void(
    *,
    environment_id: str,
    transaction_id: str,
    reason: str,
    idempotency_key: str,
    metadata: dict | None = None,
    actor: str = "",
) -> VoidResult:
    """Void the unconsumed remainder of credit lot ``transaction_id`` (see the module for the rules).

    Raises ValidationFailed for bad input, NotFound for a lot not in ``environment_id``,
    InvalidOperation (naming why) for a lot that cannot be voided, AlreadyExists for a key reused
    with other parameters.
    """
    return _take_remainder(
        Reason.CREDIT_VOID,
        environment_id=environment_id,
        transaction_id=transaction_id,
        reason=reason,
        idempotency_key=idempotency_key,
        metadata=metadata,
        actor=actor,
    )


def credit_refund(
    *,
    environment_id: str,
    transaction_id: str,
    reason: str,
    idempotency_key: str,
    metadata: dict | None = None,
    actor: str = "",
) -> VoidResult:
    """Refund the unconsumed remainder of paid purchased lot ``transaction_id``, with a credit note.

    Only a PURCHASED_CREDIT_INVOICED lot whose invoice is paid can be refunded; a direct purchase
    has no invoice and is refused, pointing at the void. Otherwise as ``credit_void``.
    """
    return _take_remainder(
        Reason.CREDIT_REFUND,
        environment_id=environment_id,
        transaction_id=transaction_id,
        reason=reason,
        idempotency_key=idempotency_key,
        metadata=metadata,
        actor=actor,
    )


def _take_remainder(
    ledger_reason: str,
    *,
    environment_id: str,
    transaction_id: str,
    reason: str,
    idempotency_key: str,
    metadata: dict | None,
    actor: str,
) -> VoidResult:
    refund = ledger_reason == Reason.CREDIT_REFUND
    operation = "refund" if refund else "void"
    now = timezone.now()
    reason = inputs.check_text(reason, field="reason", max_length=MAX_REASON_LENGTH, allow_blank=False)
    metadata = inputs.check_metadata(metadata)
    key = check_client_key(idempotency_key)
    if key is None:
        raise ValidationFailed(f"idempotency_key is required for a {operation}", field="idempotency_key")
    lot = wallet_transaction_get(environment_id=environment_id, transaction_id=transaction_id)
    fingerprint_ = fingerprint(operation, transaction_id=lot.pk, reason=reason, metadata=metadata)
    notes: list[CreditNote] = []

    def write(locked: Wallet) -> WalletTransaction:
        current = WalletTransaction.objects.get(pk=lot.pk)  # re-read under the wallet lock
        invoice = paid_invoice_of(current) if refund else None
        _check_voidable(locked, current, now=now)
        posting = postings.Posting(
            credits=current.credits_available,
            reason=ledger_reason,
            actor=actor,
            now=now,
            idempotency_key=key,
            fingerprint=fingerprint_,
            description=reason,
            metadata={**metadata, "voided_transaction_id": current.id},
            reference_type=WalletTransaction.ReferenceType.INVOICE if refund else WalletTransaction.ReferenceType.REQUEST,
            reference_id=invoice.id if refund else key,
            parent_transaction_id=current.id,
        )
        row = postings.post_lot_debits(locked, [(current, posting)])[0]
        if refund:
            notes.append(credit_note_issue(invoice, row, lot=current, reason=reason, actor=actor, now=now))
        events.publish_credits_voided(locked, row, notes[0] if notes else None)
        return row

    result = run_idempotent(
        wallet_id=lot.wallet_id, environment_id=environment_id, key=key, fingerprint_=fingerprint_, write=write, now=now
    )
    note = notes[0] if notes else None
    if result.replayed and refund:
        note = CreditNote.objects.filter(wallet_transaction=result.transaction).first()
    return VoidResult(transaction=result.transaction, wallet=result.wallet, replayed=result.replayed, credit_note=note)


def _check_voidable(wallet: Wallet, lot: WalletTransaction, *, now) -> None:
    """Refuse, naming why, a lot whose remainder cannot be voided now."""
    details = {"transaction_id": lot.id, "wallet_id": wallet.id}
    if wallet.wallet_status == Wallet.Status.CLOSED:
        raise InvalidOperation("Wallet is closed; its credits were forfeited when it was terminated", details=details)
    if lot.type != WalletTransaction.Type.CREDIT:
        raise InvalidOperation("Only a credit lot can be voided; this transaction is a debit", details=details)
    if lot.transaction_status == WalletTransaction.Status.PENDING:
        raise InvalidOperation(
            "The credit lot is pending: its invoice decides whether it completes (pay or void the invoice)",
            details=details,
        )
    if lot.transaction_status != WalletTransaction.Status.COMPLETED:
        raise InvalidOperation(f"The credit lot is {lot.transaction_status} and holds no credits", details=details)
    if lot.credits_available > 0 and lot.expiry_date is not None and lot.expiry_date <= now:
        raise InvalidOperation(
            "The credit lot has expired; its credits are forfeited by the expiry sweep, not voided",
            details={**details, "expiry_date": lot.expiry_date.isoformat().replace("+00:00", "Z")},
        )
    if lot.credits_available <= 0:
        raise InvalidOperation(
            "The credit lot has nothing left to void: its credits were consumed, expired or voided",
            details={**details, "credit_amount": money.format_decimal(lot.credit_amount), "credits_available": "0"},
        )
