"""Moving credits between two wallets of one customer (issue 14): ``wallet_transfer``.

The rules live here; the rows are written by wallets.ledger.transfers. A transfer is allowed
between two different, active wallets of the same customer, currency and conversion rate. The
rate must be equal because a credit is worth ``conversion_rate`` of currency in its wallet:
moving credits between wallets of different rates would create or destroy money, and converting
them would round. With equal rates every moved credit keeps its value exactly.

Both wallets are locked in id order, whichever way the credits go, so two opposite transfers
(A→B and B→A) wait for each other instead of deadlocking. One transaction writes the source's
expiries, the debit, the credits and the WalletTransfer record, or nothing. The idempotency key
is the debit's (wallets.ledger.idempotency): a replay answers the original transfer, other
parameters with the same key are a 409.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from core import inputs
from core.exceptions import ValidationFailed
from core.ids import new_id
from wallets import selectors
from wallets.ledger import money, postings
from wallets.ledger.fingerprints import fingerprint
from wallets.ledger.idempotency import require_client_key, run_idempotent
from wallets.ledger.transfers import post_transfer
from wallets.models import Wallet, WalletTransaction, WalletTransfer
from wallets.services.credits import require_active
from wallets.services.debits import expire_due_lots
from wallets.services.events import publish_transfer_event


@dataclass(frozen=True)
class TransferResult(selectors.TransferView):
    replayed: bool = False


def lock_order(from_wallet_id: str, to_wallet_id: str) -> tuple[str, str]:
    """The order both wallets are locked in: by id, never by direction (that is what prevents deadlocks)."""
    return tuple(sorted((from_wallet_id, to_wallet_id)))


def check_pair(source: Wallet, destination: Wallet) -> None:
    """Refuse a pair of wallets credits may not move between; each error names ``to_wallet_id``."""
    field = "to_wallet_id"
    if source.pk == destination.pk:
        raise ValidationFailed("to_wallet_id must be another wallet than from_wallet_id", field=field)
    if source.customer_id != destination.customer_id or source.environment_id != destination.environment_id:
        raise ValidationFailed(
            "Credits can only move between wallets of the same customer",
            field=field,
            details={"from_customer_id": source.customer_id, "to_customer_id": destination.customer_id},
        )
    if source.currency != destination.currency:
        raise ValidationFailed(
            "Credits can only move between wallets of the same currency",
            field=field,
            details={"from_currency": source.currency, "to_currency": destination.currency},
        )
    if source.conversion_rate != destination.conversion_rate:
        raise ValidationFailed(
            "Credits can only move between wallets of the same conversion_rate: otherwise they would change value",
            field=field,
            details={
                "from_conversion_rate": money.format_decimal(source.conversion_rate),
                "to_conversion_rate": money.format_decimal(destination.conversion_rate),
            },
        )


def wallet_transfer(
    from_wallet: Wallet,
    to_wallet: Wallet,
    *,
    credits: Decimal,
    idempotency_key: str,
    description: str = "",
    metadata: dict | None = None,
    actor: str = "",
) -> TransferResult:
    """Move ``credits`` from ``from_wallet`` to ``to_wallet``, lot by lot, keeping each lot's expiry and priority.

    Raises ValidationFailed (bad input, a pair of wallets that may not transfer), InvalidOperation
    (a frozen or closed wallet, too few spendable credits: the debit's "Insufficient balance")
    and AlreadyExists (the key was used with other parameters).
    """
    now = timezone.now()
    credits = money.check_credits(credits, field="credits")
    description = inputs.check_text(description, field="description", max_length=inputs.MAX_DESCRIPTION_LENGTH)
    metadata = inputs.check_metadata(metadata)
    key = require_client_key(idempotency_key, operation="a transfer")
    check_pair(from_wallet, to_wallet)
    fingerprint_ = fingerprint(
        "transfer",
        from_wallet_id=from_wallet.pk,
        to_wallet_id=to_wallet.pk,
        credits=credits,
        description=description,
        metadata=metadata,
    )
    first_id, second_id = lock_order(from_wallet.pk, to_wallet.pk)
    written: dict = {}

    def write(first: Wallet) -> WalletTransaction:
        # The first wallet is locked by run_idempotent; the second only now, never the other way round.
        second = postings.lock_wallet(second_id, now=now, lots_page=second_id == from_wallet.pk)
        source, destination = (first, second) if first.pk == from_wallet.pk else (second, first)
        require_active(source)
        require_active(destination)
        check_pair(source, destination)
        expire_due_lots(source, now=now, actor=actor)
        transfer_id = new_id("xfer")
        rows = post_transfer(
            source,
            destination,
            transfer_id=transfer_id,
            credits=credits,
            actor=actor,
            now=now,
            idempotency_key=key,
            fingerprint=fingerprint_,
            description=description,
            metadata=metadata,
        )
        transfer = WalletTransfer.objects.create(
            id=transfer_id,
            tenant_id=source.tenant_id,
            environment_id=source.environment_id,
            customer_id=source.customer_id,
            from_wallet=source,
            to_wallet=destination,
            credits=credits,
            debit=rows.debit,
            created_at=now,
            created_by=actor,
        )
        publish_transfer_event(transfer, source, destination, rows.debit, rows.credits)
        written["view"] = selectors.TransferView(
            transfer=transfer, debit=rows.debit, credits=rows.credits, from_wallet=source, to_wallet=destination
        )
        return rows.debit

    result = run_idempotent(
        wallet_id=first_id,
        environment_id=from_wallet.environment_id,
        key=key,
        fingerprint_=fingerprint_,
        write=write,
        now=now,
        lots_page=first_id == from_wallet.pk,
    )
    if not result.replayed:
        return TransferResult(**vars(written["view"]))
    transfer = WalletTransfer.objects.select_related("debit", "from_wallet", "to_wallet").get(debit=result.transaction)
    return TransferResult(**vars(selectors.transfer_view(transfer)), replayed=True)
