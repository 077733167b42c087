"""Reads for invoices, always scoped to one environment."""

from django.db.models import QuerySet

from core.exceptions import NotFound
from invoices.models import Invoice
from wallets.models import WalletTransaction


def unpaid_invoices(wallet_id: str) -> QuerySet[Invoice]:
    """A wallet's invoices still waiting for payment: not voided, not paid, their credit pending."""
    return (
        Invoice.objects.filter(wallet_id=wallet_id, wallet_transaction__transaction_status=WalletTransaction.Status.PENDING)
        .exclude(invoice_status=Invoice.Status.VOIDED)
        .exclude(payment_status=Invoice.PaymentStatus.SUCCEEDED)
    )


def invoice_get(*, environment_id: str, invoice_id: str) -> Invoice:
    invoice = (
        Invoice.objects.select_related("wallet_transaction")
        .prefetch_related("line_items", "credit_notes")
        .filter(environment_id=environment_id, pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise NotFound("Invoice not found", details={"invoice_id": invoice_id})
    return invoice


def invoice_search(
    *,
    environment_id: str,
    invoice_ids: list[str] | None = None,
    customer_id: str | None = None,
    external_customer_id: str | None = None,
    wallet_id: str | None = None,
    invoice_status: list[str] | None = None,
    payment_status: list[str] | None = None,
    billing_reason: str | None = None,
    start_time=None,
    end_time=None,
    order: str = "desc",
) -> QuerySet[Invoice]:
    invoices = Invoice.objects.filter(environment_id=environment_id).prefetch_related("line_items", "credit_notes")
    if invoice_ids:
        invoices = invoices.filter(pk__in=invoice_ids)
    if customer_id:
        invoices = invoices.filter(customer_id=customer_id)
    if external_customer_id:
        invoices = invoices.filter(customer__external_id=external_customer_id, customer__status="published")
    if wallet_id:
        invoices = invoices.filter(wallet_id=wallet_id)
    if invoice_status:
        invoices = invoices.filter(invoice_status__in=invoice_status)
    if payment_status:
        invoices = invoices.filter(payment_status__in=payment_status)
    if billing_reason:
        invoices = invoices.filter(billing_reason=billing_reason)
    if start_time:
        invoices = invoices.filter(created_at__gte=start_time)
    if end_time:
        invoices = invoices.filter(created_at__lte=end_time)
    direction = "" if order == "asc" else "-"
    return invoices.order_by(f"{direction}created_at", f"{direction}id")
