"""The bookkeeping of a transfer: one debit on the source, one credit per lot it took on the destination.

wallets.services.transfers decides whether a transfer may happen and locks both wallets; this
module writes its rows, so the shape the integrity checker (wallets.ledger.integrity) expects is
written in one place:

- a TRANSFER_OUT debit on the source consumes lots in the usual order (postings.post_debit_taking);
- for each lot it took, a credit on the destination of exactly those credits, with the lot's
  expiry and priority, so the moved credits are spent and expire as they would have been;
- the credit's reason keeps what the lot was: TRANSFER_IN_PURCHASED for a purchased lot (one of
  postings.PURCHASED_REASONS), TRANSFER_IN for the rest, so the customer's purchased and free
  credits (wallets.selectors.credits_breakdown) are the same after the transfer as before it;
- every row carries reference_type TRANSFER and the transfer's id; each credit's parent is the
  debit and its metadata names its lot (``source_credit_tx_id``); the debit's metadata lists the
  credits (``transfer_credit_tx_ids``, ids chosen before the rows are written, since rows are
  never changed afterwards).

A credit landing on a destination in overdraft repays it first, as any credit does.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.ids import new_id
from wallets.ledger import money, postings
from wallets.models import Wallet, WalletTransaction

Reason = WalletTransaction.Reason
REFERENCE_TYPE = WalletTransaction.ReferenceType.TRANSFER
# Metadata keys linking the rows (the integrity checker reads them).
CREDIT_IDS_KEY = "transfer_credit_tx_ids"
SOURCE_LOT_KEY = "source_credit_tx_id"
TRANSFER_ID_KEY = "transfer_id"
TRANSFER_IN_REASONS = (Reason.TRANSFER_IN, Reason.TRANSFER_IN_PURCHASED)


def credit_reason(lot_reason: str) -> str:
    """The reason of the credit that carries a lot's credits into another wallet."""
    return Reason.TRANSFER_IN_PURCHASED if lot_reason in postings.PURCHASED_REASONS else Reason.TRANSFER_IN


@dataclass(frozen=True)
class TransferRows:
    debit: WalletTransaction
    credits: list[WalletTransaction]


def post_transfer(
    source: Wallet,
    destination: Wallet,
    *,
    transfer_id: str,
    credits: Decimal,
    actor: str,
    now: datetime,
    idempotency_key: str,
    fingerprint: str,
    description: str = "",
    metadata: dict | None = None,
) -> TransferRows:
    """Write a transfer's rows; both wallets locked by the caller, the source's due lots already expired.

    Raises InvalidOperation("Insufficient balance ...") when the source's spendable lots fall short.
    """
    credit_ids: list[str] = []

    def name_credits(taken: postings.Taken) -> dict:
        credit_ids.extend(new_id("wtxn") for _ in taken)
        return {CREDIT_IDS_KEY: ",".join(credit_ids)}

    debit, taken = postings.post_debit_taking(
        source,
        postings.Posting(
            credits=credits,
            reason=Reason.TRANSFER_OUT,
            actor=actor,
            now=now,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            description=description,
            metadata={**(metadata or {}), TRANSFER_ID_KEY: transfer_id},
            reference_type=REFERENCE_TYPE,
            reference_id=transfer_id,
        ),
        lots_metadata=name_credits,
    )
    rows = [
        postings.post_credit(
            destination,
            postings.Posting(
                credits=share,
                amount=money.credits_to_amount(share, rate=destination.conversion_rate),
                reason=credit_reason(lot.transaction_reason),
                actor=actor,
                now=now,
                description=description,
                metadata={TRANSFER_ID_KEY: transfer_id, SOURCE_LOT_KEY: lot.id},
                reference_type=REFERENCE_TYPE,
                reference_id=transfer_id,
                expiry_date=lot.expiry_date,
                priority=lot.priority,
                row_id=row_id,
                parent_transaction_id=debit.id,
            ),
        )
        for (lot, share), row_id in zip(taken, credit_ids, strict=True)
    ]
    return TransferRows(debit=debit, credits=rows)
