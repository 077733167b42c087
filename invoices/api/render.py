"""Invoices, payments and credit notes as the wire shows them (Flexprice's InvoiceResponse / PaymentResponse)."""

from invoices.models import CreditNote, Invoice, Payment
from wallets.api.render import timestamp
from wallets.ledger.money import format_decimal
from wallets.services.events import credit_note_payload


def invoice_data(invoice: Invoice) -> dict:
    lines = [
        {
            "id": line.id,
            "invoice_id": invoice.id,
            "customer_id": invoice.customer_id,
            "display_name": line.display_name,
            "quantity": format_decimal(line.quantity),
            "price_unit_amount": format_decimal(line.unit_amount),
            "amount": format_decimal(line.amount),
            "currency": line.currency,
            "created_at": timestamp(line.created_at),
        }
        for line in invoice.line_items.all()
    ]
    return {
        "id": invoice.id,
        "tenant_id": invoice.tenant_id,
        "environment_id": invoice.environment_id,
        "customer_id": invoice.customer_id,
        "wallet_id": invoice.wallet_id,
        "wallet_transaction_id": invoice.wallet_transaction_id,
        "invoice_number": invoice.invoice_number,
        "invoice_type": invoice.invoice_type,
        "invoice_status": invoice.invoice_status,
        "payment_status": invoice.payment_status,
        "billing_reason": invoice.billing_reason,
        "currency": invoice.currency,
        "amount_due": format_decimal(invoice.amount_due),
        "amount_paid": format_decimal(invoice.amount_paid),
        "amount_remaining": format_decimal(invoice.amount_remaining),
        "subtotal": format_decimal(invoice.amount_due),
        "total": format_decimal(invoice.amount_due),
        "description": invoice.description,
        "metadata": invoice.metadata,
        "idempotency_key": invoice.idempotency_key,
        "line_items": lines,
        "credit_notes": [credit_note_data(note) for note in invoice.credit_notes.all()],
        "issue_date": timestamp(invoice.issue_date),
        "due_date": timestamp(invoice.due_date),
        "finalized_at": timestamp(invoice.finalized_at),
        "paid_at": timestamp(invoice.paid_at),
        "voided_at": timestamp(invoice.voided_at),
        "status": "published",
        "created_at": timestamp(invoice.created_at),
        "updated_at": timestamp(invoice.updated_at),
        "created_by": invoice.created_by,
        "updated_by": invoice.updated_by,
    }


def credit_note_data(note: CreditNote) -> dict:
    """A refund's credit note (wallets.services.voids.credit_refund): its webhook payload, plus its owners and author."""
    return {
        **credit_note_payload(note),
        "tenant_id": note.tenant_id,
        "environment_id": note.environment_id,
        "created_by": note.created_by,
    }


def payment_data(payment: Payment) -> dict:
    return {
        "id": payment.id,
        "tenant_id": payment.tenant_id,
        "environment_id": payment.environment_id,
        "destination_type": "INVOICE",
        "destination_id": payment.invoice_id,
        "amount": format_decimal(payment.amount),
        "currency": payment.currency,
        "payment_method_type": payment.payment_method_type,
        "payment_status": payment.payment_status,
        "idempotency_key": payment.idempotency_key,
        "metadata": payment.metadata,
        "succeeded_at": timestamp(payment.succeeded_at),
        "created_at": timestamp(payment.created_at),
        "updated_at": timestamp(payment.created_at),
        "created_by": payment.created_by,
    }
