"""Invoices for purchased credits: issue with the pending credit, pay once, or void (a wallet's
termination voids its unpaid ones); and the
credit notes of refunds (credit_note_issue, called by wallets.services.voids.credit_refund).

Paying and voiding take the wallet's lock first (the same lock every balance change takes),
then re-read the invoice, so two concurrent payments complete the credit exactly once.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core import inputs
from core.exceptions import InvalidOperation, ValidationFailed
from invoices.models import CreditNote, Invoice, InvoiceLineItem, Payment
from invoices.selectors import unpaid_invoices
from wallets.ledger import money, postings
from wallets.models import Wallet, WalletTransaction


def purchase_invoice_issue(
    wallet: Wallet, credit: WalletTransaction, *, actor: str, now: datetime, billing_reason: str = Invoice.BillingReason.MANUAL
) -> Invoice:
    """Issue the invoice for a purchased credit, inside the top-up's transaction.

    The credit is pending (paid later) or already completed (the tenant auto-completes
    purchases, so the invoice is issued as paid).
    """
    paid = credit.transaction_status == WalletTransaction.Status.COMPLETED
    amount = money.credits_to_amount(credit.credit_amount, rate=wallet.topup_conversion_rate)
    invoice = Invoice.objects.create(
        tenant_id=wallet.tenant_id,
        environment_id=wallet.environment_id,
        customer_id=wallet.customer_id,
        wallet=wallet,
        wallet_transaction=credit,
        invoice_number=f"INV-{credit.id.removeprefix('wtxn_')}",
        billing_reason=billing_reason,
        currency=wallet.currency,
        amount_due=amount,
        amount_paid=amount if paid else money.ZERO,
        payment_status=Invoice.PaymentStatus.SUCCEEDED if paid else Invoice.PaymentStatus.PENDING,
        description=credit.description,
        metadata={
            **credit.metadata,
            "wallet_transaction_id": credit.id,
            "wallet_id": wallet.id,
            "credits_amount": money.format_decimal(credit.credit_amount),
            "auto_completed": "true" if paid else "false",
        },
        idempotency_key=credit.idempotency_key,
        issue_date=now,
        due_date=now,
        finalized_at=now,
        paid_at=now if paid else None,
        created_at=now,
        updated_at=now,
        created_by=actor,
        updated_by=actor,
    )
    InvoiceLineItem.objects.create(
        invoice=invoice,
        display_name=f"Purchase {money.format_decimal(credit.credit_amount)} credits",
        quantity=credit.credit_amount,
        unit_amount=wallet.topup_conversion_rate,
        amount=amount,
        currency=wallet.currency,
        created_at=now,
    )
    return invoice


def _lock(invoice: Invoice) -> tuple[Wallet, Invoice]:
    wallet = postings.lock_wallet(invoice.wallet_id)
    return wallet, Invoice.objects.select_for_update().select_related("wallet_transaction").get(pk=invoice.pk)


def invoice_pay(
    invoice: Invoice,
    *,
    amount: Decimal | None = None,
    method: str = Payment.MethodType.OFFLINE,
    idempotency_key: str | None = None,
    metadata: dict | None = None,
    actor: str = "",
) -> Payment:
    """Record full payment of ``invoice`` and complete its credit, exactly once.

    ``amount`` must equal what is due (partial payments are refused). Raises InvalidOperation
    for a voided or already paid invoice. A repeated ``idempotency_key`` returns the first payment.
    """
    metadata = inputs.check_metadata(metadata)
    inputs.check_choice(method, field="payment_method_type", choices=Payment.MethodType.values)
    if amount is not None:
        amount = money.check_credits(amount, field="amount")
    now = timezone.now()
    with transaction.atomic():
        wallet, invoice = _lock(invoice)
        if idempotency_key:  # checked under the lock, so a concurrent retry sees the first payment
            earlier = Payment.objects.filter(environment_id=invoice.environment_id, idempotency_key=idempotency_key).first()
            if earlier is not None:
                if earlier.invoice_id != invoice.id:
                    raise InvalidOperation(
                        "This idempotency key paid another invoice", details={"invoice_id": earlier.invoice_id}
                    )
                return earlier
        if invoice.invoice_status == Invoice.Status.VOIDED:
            raise InvalidOperation("The invoice is voided and cannot be paid", details={"invoice_id": invoice.id})
        if invoice.payment_status == Invoice.PaymentStatus.SUCCEEDED:
            raise InvalidOperation("The invoice is already paid", details={"invoice_id": invoice.id})
        if wallet.wallet_status == Wallet.Status.CLOSED:
            # Termination voids its wallet's unpaid invoices (invoices_void_unpaid); this guards an
            # invoice left open before it did: the credits would land on a wallet nobody can spend.
            raise InvalidOperation(
                "The invoice's wallet is terminated, so its credits cannot be delivered; void the invoice",
                details={"invoice_id": invoice.id, "wallet_id": wallet.id},
            )
        if amount is not None and amount != invoice.amount_remaining:
            raise ValidationFailed(
                f"amount must equal the amount due ({money.format_decimal(invoice.amount_remaining)});"
                " partial payments are not accepted",
                field="amount",
            )
        payment = Payment.objects.create(
            tenant_id=invoice.tenant_id,
            environment_id=invoice.environment_id,
            invoice=invoice,
            amount=invoice.amount_remaining,
            currency=invoice.currency,
            payment_method_type=method,
            idempotency_key=idempotency_key or None,
            metadata=metadata,
            succeeded_at=now,
            created_at=now,
            created_by=actor,
        )
        invoice.amount_paid = invoice.amount_due
        invoice.payment_status = Invoice.PaymentStatus.SUCCEEDED
        invoice.paid_at = now
        invoice.updated_at = now
        invoice.updated_by = actor
        invoice.save(update_fields=["amount_paid", "payment_status", "paid_at", "updated_at", "updated_by"])
        postings.complete_pending_credit(wallet, invoice.wallet_transaction, actor=actor, now=now)
    return payment


def invoice_void(invoice: Invoice, *, actor: str = "") -> Invoice:
    """Void an unpaid invoice; its pending credit fails and adds nothing. Raises InvalidOperation otherwise."""
    now = timezone.now()
    with transaction.atomic():
        wallet, invoice = _lock(invoice)
        if invoice.invoice_status == Invoice.Status.VOIDED:
            raise InvalidOperation("The invoice is already voided", details={"invoice_id": invoice.id})
        if invoice.payment_status == Invoice.PaymentStatus.SUCCEEDED:
            raise InvalidOperation("A paid invoice cannot be voided", details={"invoice_id": invoice.id})
        _void(wallet, invoice, actor=actor, now=now)
    return invoice


def invoices_void_unpaid(wallet: Wallet, *, actor: str, now: datetime) -> list[Invoice]:
    """Void every unpaid invoice of the locked ``wallet`` (its termination): the pending credits fail.

    A closed wallet can never spend credits, so its customer must not be asked to pay for them.
    Runs in the caller's transaction, under its wallet lock.
    """
    unpaid = unpaid_invoices(wallet.id).select_for_update().select_related("wallet_transaction")
    voided = list(unpaid.order_by("created_at", "id"))
    for invoice in voided:
        _void(wallet, invoice, actor=actor, now=now)
    return voided


def _void(wallet: Wallet, invoice: Invoice, *, actor: str, now: datetime) -> None:
    invoice.invoice_status = Invoice.Status.VOIDED
    invoice.voided_at = now
    invoice.updated_at = now
    invoice.updated_by = actor
    invoice.save(update_fields=["invoice_status", "voided_at", "updated_at", "updated_by"])
    postings.fail_pending_credit(wallet, invoice.wallet_transaction, actor=actor, now=now)


def paid_invoice_of(lot: WalletTransaction) -> Invoice:
    """The paid invoice a refund of ``lot`` is credited against, or InvalidOperation saying why there is none.

    A direct purchase has no invoice: a credit note is a document against one (its total bounds
    what it may give back), so the remainder of such a lot is voided and the payment refunded
    where it was taken. Free credits were never paid for.
    """
    details = {"transaction_id": lot.id, "transaction_reason": lot.transaction_reason}
    if lot.transaction_reason == WalletTransaction.Reason.PURCHASED_CREDIT_DIRECT:
        raise InvalidOperation(
            "A direct purchase has no invoice to credit; void the remaining credits instead "
            "and refund the payment where it was taken",
            details=details,
        )
    if lot.transaction_reason != WalletTransaction.Reason.PURCHASED_CREDIT_INVOICED:
        raise InvalidOperation("Only credits purchased on invoice can be refunded; void these credits instead", details=details)
    invoice = Invoice.objects.filter(wallet_transaction_id=lot.id).first()
    if invoice is None or invoice.payment_status != Invoice.PaymentStatus.SUCCEEDED:
        raise InvalidOperation(
            "The credits' invoice is not paid, so there is nothing to refund",
            details={**details, "invoice_id": invoice.id if invoice else None},
        )
    return invoice


def credit_note_issue(
    invoice: Invoice, refund: WalletTransaction, *, lot: WalletTransaction, reason: str, actor: str, now: datetime
) -> CreditNote:
    """Record the credit note of ``refund``, a CREDIT_REFUND of ``lot``'s remainder, in its transaction.

    The caller holds the wallet lock, under which every change to this invoice happens. The amount
    is the invoice's own price of the refunded credits: what the invoice's notes are worth in all,
    amount_paid × (credits refunded so far + these) / the lot's credit_amount rounded once
    (wallets.ledger.money.pro_rata), less what its earlier notes already gave back. With one note
    that is simply the price of these credits; with several (credits held when the first refund
    came, refunded once released) their roundings never add up to more than was paid, and refunding
    the whole lot gives back exactly amount_paid. Raises InvalidOperation when the credits are worth
    less than the smallest amount, or when the notes would exceed the invoice's total (the database
    refuses that too).
    """
    earlier = invoice.credit_notes.aggregate(amount=Sum("amount"), credits=Sum("credits"))
    noted, noted_credits = earlier["amount"] or money.ZERO, earlier["credits"] or money.ZERO
    worth = money.pro_rata(invoice.amount_paid, part=noted_credits + refund.credit_amount, whole=lot.credit_amount)
    amount = worth - noted
    details = {"invoice_id": invoice.id, "transaction_id": lot.id, "credits": money.format_decimal(refund.credit_amount)}
    if amount <= 0:
        raise InvalidOperation(
            f"The remaining credits are worth less than {money.format_decimal(money.CREDIT_QUANTUM)} {invoice.currency} "
            "at the invoice's price; void them instead",
            details=details,
        )
    if worth > invoice.amount_due:
        raise InvalidOperation(
            "The invoice's credit notes would exceed its total",
            details={**details, "credited": money.format_decimal(noted), "total": money.format_decimal(invoice.amount_due)},
        )
    return CreditNote.objects.create(
        tenant_id=invoice.tenant_id,
        environment_id=invoice.environment_id,
        invoice=invoice,
        wallet_transaction=refund,
        credits=refund.credit_amount,
        amount=amount,
        currency=invoice.currency,
        reason=reason,
        created_at=now,
        created_by=actor,
    )
