"""Adding credits to a wallet: top-ups."""

import secrets
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from core.exceptions import InvalidOperation, ValidationFailed
from wallets import inputs, ledger, money
from wallets.fingerprints import fingerprint
from wallets.idempotency import LedgerResult, check_client_key, run_idempotent
from wallets.models import Wallet, WalletTransaction

Reason = WalletTransaction.Reason
TOP_UP_REASONS = (
    Reason.FREE_CREDIT_GRANT,
    Reason.PURCHASED_CREDIT_INVOICED,
    Reason.PURCHASED_CREDIT_DIRECT,
    Reason.SUBSCRIPTION_CREDIT_GRANT,
    Reason.CREDIT_NOTE,
    Reason.INVOICE_VOID_REFUND,
)
# Credits that were paid for; everything else counts as free in the balance breakdown.
PURCHASED_REASONS = (Reason.PURCHASED_CREDIT_INVOICED, Reason.PURCHASED_CREDIT_DIRECT)


def wallet_top_up(
    wallet: Wallet,
    *,
    reason: str,
    credits: Decimal | None = None,
    amount: Decimal | None = None,
    expiry_date: datetime | None = None,
    priority: int | None = None,
    idempotency_key: str | None = None,
    description: str = "",
    metadata: dict | None = None,
    actor: str = "",
) -> LedgerResult:
    """Add credits to an active wallet as one completed credit lot.

    Give ``credits`` directly, or ``amount`` in the wallet's currency, converted at the
    wallet's ``topup_conversion_rate``; non-zero ``credits`` wins. Idempotent per key: the same
    key and parameters replay the first result, other parameters raise AlreadyExists.
    Raises ValidationFailed for bad input and InvalidOperation for a frozen or closed wallet.
    """
    now = timezone.now()
    reason = inputs.check_choice(reason, field="transaction_reason", choices=TOP_UP_REASONS)
    if reason == Reason.PURCHASED_CREDIT_INVOICED:
        raise InvalidOperation(
            "Invoiced credit purchases are not available yet; use PURCHASED_CREDIT_DIRECT",
            details={"transaction_reason": reason},
        )
    credits, amount = _credits_and_amount(wallet, credits=credits, amount=amount)
    expiry_date = inputs.check_future(expiry_date, field="expiry_date_utc", now=now)
    priority = inputs.check_priority(priority)
    description = inputs.check_text(description, field="description", max_length=inputs.MAX_DESCRIPTION_LENGTH)
    metadata = inputs.check_metadata(metadata)
    client_key = check_client_key(idempotency_key)
    key = client_key or f"wallet_top_up_{secrets.token_hex(16)}"
    fingerprint_ = fingerprint(
        "top_up",
        wallet_id=wallet.pk,
        credits=credits,
        amount=amount,
        reason=reason,
        expiry_date=expiry_date,
        priority=priority,
        description=description,
        metadata=metadata,
    )

    def write(locked: Wallet) -> WalletTransaction:
        require_active(locked)
        return ledger.post_credit(
            locked,
            ledger.Posting(
                credits=credits,
                amount=amount,
                reason=reason,
                actor=actor,
                now=now,
                idempotency_key=key,
                fingerprint=fingerprint_,
                description=description,
                metadata=metadata,
                reference_type=WalletTransaction.ReferenceType.EXTERNAL,
                reference_id=key,
                expiry_date=expiry_date,
                priority=priority,
            ),
        )

    return run_idempotent(
        wallet_id=wallet.pk, environment_id=wallet.environment_id, key=key, fingerprint_=fingerprint_, write=write
    )


def _credits_and_amount(wallet: Wallet, *, credits, amount) -> tuple[Decimal, Decimal | None]:
    """Non-zero ``credits`` wins; otherwise ``amount`` is converted at the top-up rate."""
    if credits is not None and credits != 0:
        return money.check_credits(credits, field="credits_to_add"), None
    if amount is not None and amount != 0:
        amount = money.check_credits(amount, field="amount")
        converted = money.amount_to_credits(amount, rate=wallet.topup_conversion_rate)
        if converted <= 0:
            raise ValidationFailed(
                "Credits to add must be a positive value", field="amount", details={"credits_to_add": "0"}
            )
        return converted, amount
    raise ValidationFailed(
        "Credits to add must be a positive value", field="credits_to_add", details={"credits_to_add": "0"}
    )


def require_active(wallet: Wallet) -> None:
    if wallet.wallet_status == Wallet.Status.FROZEN:
        raise InvalidOperation("Wallet is frozen", details={"wallet_id": wallet.id, "wallet_status": wallet.wallet_status})
    if wallet.wallet_status != Wallet.Status.ACTIVE:
        raise InvalidOperation(
            "Wallet is not active", details={"wallet_id": wallet.id, "wallet_status": wallet.wallet_status}
        )
