"""Adding credits to a wallet: top-ups."""

import secrets
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from core import inputs
from core.exceptions import InvalidOperation, ValidationFailed
from invoices.models import Invoice
from invoices.services import purchase_invoice_issue
from tenancy.models import Tenant
from wallets import selectors
from wallets.ledger import money, postings
from wallets.ledger.fingerprints import fingerprint
from wallets.ledger.idempotency import LedgerResult, check_client_key, run_idempotent
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


def wallet_top_up(
    wallet: Wallet | selectors.WalletRef,
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
    """Add credits to an active wallet as one credit lot.

    PURCHASED_CREDIT_INVOICED writes a pending credit and its invoice (``invoice_id`` on the
    result); the credit completes when the invoice is paid (invoices.services.invoice_pay).

    Give ``credits`` directly, or ``amount`` in the wallet's currency, converted at the
    wallet's ``topup_conversion_rate``; non-zero ``credits`` wins. Idempotent per key: the same
    key and parameters replay the first result, other parameters raise AlreadyExists.
    Raises ValidationFailed for bad input and InvalidOperation for a frozen or closed wallet.

    ``wallet`` may be a WalletRef (the API): its row lock is then the only read of it, and a
    wallet the environment does not have is NotFound, raised after the input's checks.
    """
    if isinstance(wallet, selectors.WalletRef) and (credits is None or money.is_zero(credits)):
        # An amount is converted at the wallet's top-up rate, which must be read first.
        wallet = selectors.wallet_get(environment_id=wallet.environment_id, wallet_id=wallet.id)
    now = timezone.now()
    reason = inputs.check_choice(reason, field="transaction_reason", choices=TOP_UP_REASONS)
    invoiced = reason == Reason.PURCHASED_CREDIT_INVOICED
    credits, amount = _credits_and_amount(wallet, credits=credits, amount=amount)
    expiry_date = inputs.check_future(expiry_date, field="expiry_date_utc", now=now)
    priority = inputs.check_priority(priority)
    description = inputs.check_text(description, field="description", max_length=inputs.MAX_DESCRIPTION_LENGTH)
    metadata = inputs.check_metadata(metadata)
    client_key = check_client_key(idempotency_key)
    key = client_key or f"wallet_top_up_{secrets.token_hex(16)}"
    fingerprint_ = fingerprint(
        "top_up",
        wallet_id=wallet.id,
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
        posting = postings.Posting(
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
        )
        if not invoiced:
            return postings.post_credit(locked, posting)
        return purchase_on_invoice(locked, posting)

    result = run_on(wallet, key=key, fingerprint_=fingerprint_, write=write, now=now)
    if invoiced:
        invoice_id = Invoice.objects.filter(wallet_transaction=result.transaction).values_list("id", flat=True).first()
        result = replace(result, invoice_id=invoice_id)
    return result


def run_on(wallet: Wallet | selectors.WalletRef, **kwargs) -> LedgerResult:
    """run_idempotent on ``wallet``. A WalletRef is read by the row lock alone, scoped to its
    environment: NotFound when the environment has no such published wallet."""
    unread = isinstance(wallet, selectors.WalletRef)
    try:
        return run_idempotent(wallet_id=wallet.id, environment_id=wallet.environment_id, in_environment=unread, **kwargs)
    except Wallet.DoesNotExist:
        if unread:
            raise wallet.not_found() from None
        raise


def purchase_on_invoice(wallet: Wallet, posting: postings.Posting, *, billing_reason: str = "MANUAL") -> WalletTransaction:
    """Write a purchased credit and its invoice (the caller holds the wallet lock).

    The credit stays pending until the invoice is paid, unless the tenant auto-completes
    purchases: then it is completed at once and the invoice is issued paid.
    """
    if money.credits_to_amount(posting.credits, rate=wallet.topup_conversion_rate) <= 0:
        # An invoice is for a positive amount (the database insists): credits worth less than the
        # smallest amount at the wallet's rate cannot be bought on invoice.
        raise ValidationFailed(
            f"Credits to add are worth less than {money.format_decimal(money.CREDIT_QUANTUM)} {wallet.currency} "
            "at the wallet's top-up rate; an invoice needs a positive amount",
            field="credits_to_add",
            details={"topup_conversion_rate": money.format_decimal(wallet.topup_conversion_rate)},
        )
    auto_complete = Tenant.objects.filter(pk=wallet.tenant_id, auto_complete_purchased_credits=True).exists()
    if not posting.description:
        suffix = "auto-completed" if auto_complete else "pending payment"
        posting = replace(posting, description=f"Purchased credits - {suffix}")
    row = postings.post_credit(wallet, posting, pending=not auto_complete)
    purchase_invoice_issue(wallet, row, actor=posting.actor, now=posting.now, billing_reason=billing_reason)
    return row


def _credits_and_amount(wallet: Wallet, *, credits, amount) -> tuple[Decimal, Decimal | None]:
    """Non-zero ``credits`` wins; otherwise ``amount`` is converted at the top-up rate."""
    if credits is not None and not money.is_zero(credits):
        return money.check_credits(credits, field="credits_to_add"), None
    if amount is not None and not money.is_zero(amount):
        amount = money.check_credits(amount, field="amount")
        converted = money.amount_to_credits(amount, rate=wallet.topup_conversion_rate)
        if converted <= 0:
            raise ValidationFailed("Credits to add must be a positive value", field="amount", details={"credits_to_add": "0"})
        return converted, amount
    raise ValidationFailed("Credits to add must be a positive value", field="credits_to_add", details={"credits_to_add": "0"})


def require_active(wallet: Wallet) -> None:
    if wallet.wallet_status == Wallet.Status.FROZEN:
        raise InvalidOperation("Wallet is frozen", details={"wallet_id": wallet.id, "wallet_status": wallet.wallet_status})
    if wallet.wallet_status != Wallet.Status.ACTIVE:
        raise InvalidOperation("Wallet is not active", details={"wallet_id": wallet.id, "wallet_status": wallet.wallet_status})
