"""Invoice, its line items, Payment (Flexprice's shapes and status values), and CreditNote."""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.ids import prefixed_id_field
from customers.models import Customer
from tenancy.models import Environment, Tenant
from wallets.ledger.money import credits_field, rate_field
from wallets.models import Wallet, WalletTransaction


class Invoice(models.Model):
    class Status(models.TextChoices):
        DRAFT = "DRAFT"
        FINALIZED = "FINALIZED"
        VOIDED = "VOIDED"

    class PaymentStatus(models.TextChoices):
        PENDING = "PENDING"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"

    class BillingReason(models.TextChoices):
        MANUAL = "MANUAL"
        WALLET_AUTO_TOPUP = "WALLET_AUTO_TOPUP"

    id = prefixed_id_field("inv")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="invoices")
    # The pending credit this invoice pays for: completed when paid, failed when voided.
    wallet_transaction = models.OneToOneField(WalletTransaction, on_delete=models.PROTECT, related_name="invoice")
    invoice_number = models.CharField(max_length=40)
    invoice_type = models.CharField(max_length=20, default="ONE_OFF", editable=False)
    invoice_status = models.CharField(max_length=20, choices=Status, default=Status.FINALIZED)
    payment_status = models.CharField(max_length=20, choices=PaymentStatus, default=PaymentStatus.PENDING)
    billing_reason = models.CharField(max_length=30, choices=BillingReason, default=BillingReason.MANUAL)
    currency = models.CharField(max_length=3)
    amount_due = credits_field()
    amount_paid = credits_field()
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=255)
    issue_date = models.DateTimeField(default=timezone.now)
    due_date = models.DateTimeField(default=timezone.now)
    finalized_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=100, blank=True)
    updated_by = models.CharField(max_length=100, blank=True)

    class Meta:
        permissions = [("settle_invoice", "Can mark invoices paid or void them")]
        constraints = [
            models.UniqueConstraint(fields=["environment", "idempotency_key"], name="invoice_unique_idempotency_key"),
            models.UniqueConstraint(fields=["environment", "invoice_number"], name="invoice_unique_number"),
            models.CheckConstraint(condition=Q(amount_due__gt=0), name="invoice_amount_due_positive"),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0, amount_paid__lte=F("amount_due")), name="invoice_amount_paid_within_due"
            ),
            models.CheckConstraint(condition=Q(invoice_status__in=["DRAFT", "FINALIZED", "VOIDED"]), name="invoice_status_valid"),
            models.CheckConstraint(
                condition=Q(payment_status__in=["PENDING", "SUCCEEDED", "FAILED"]), name="invoice_payment_status_valid"
            ),
            # A paid invoice is never voided, and a voided one never paid.
            models.CheckConstraint(
                condition=~Q(invoice_status="VOIDED", payment_status="SUCCEEDED"), name="invoice_not_paid_and_voided"
            ),
        ]
        indexes = [
            models.Index(fields=["environment", "-created_at"], name="invoice_env_created_idx"),
            models.Index(fields=["environment", "customer", "-created_at"], name="invoice_env_customer_idx"),
            models.Index(fields=["wallet", "-created_at"], name="invoice_wallet_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_number} ({self.currency.upper()} {self.amount_due})"

    @property
    def amount_remaining(self):
        return self.amount_due - self.amount_paid


class InvoiceLineItem(models.Model):
    id = prefixed_id_field("inli")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="line_items")
    display_name = models.CharField(max_length=255)
    quantity = credits_field()
    unit_amount = rate_field()
    amount = credits_field()
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=timezone.now, editable=False)


class Payment(models.Model):
    """A payment recorded against an invoice (offline: the money moved outside this system)."""

    class MethodType(models.TextChoices):
        OFFLINE = "OFFLINE"
        CARD = "CARD"
        ACH = "ACH"
        PAYMENT_LINK = "PAYMENT_LINK"
        UPI = "UPI"

    id = prefixed_id_field("pay")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = credits_field()
    currency = models.CharField(max_length=3)
    payment_method_type = models.CharField(max_length=20, choices=MethodType, default=MethodType.OFFLINE)
    payment_status = models.CharField(max_length=20, default="SUCCEEDED", editable=False)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001  NULL = no key; the unique index allows many
    metadata = models.JSONField(default=dict, blank=True)
    succeeded_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="payment_unique_idempotency_key",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]


class CreditNote(models.Model):
    """Money owed back on a paid invoice: the refund of a purchased lot's unconsumed credits.

    Written by wallets.services.voids.credit_refund in the transaction of its CREDIT_REFUND ledger
    row. ``amount`` is the invoice's price of the refunded ``credits``: amount_paid × credits /
    the lot's credit_amount, rounded once (wallets.ledger.money.pro_rata). The credit notes of an
    invoice never add up to more than its total: a trigger of migration 0003 refuses the row that
    would (invoices.integrity audits it too).
    """

    id = prefixed_id_field("cn")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    # The CREDIT_REFUND debit that took the credits back from the wallet.
    wallet_transaction = models.OneToOneField(WalletTransaction, on_delete=models.PROTECT, related_name="credit_note")
    credits = credits_field()
    amount = credits_field()
    currency = models.CharField(max_length=3)
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_note_amount_positive"),
            models.CheckConstraint(condition=Q(credits__gt=0), name="credit_note_credits_positive"),
        ]
        indexes = [models.Index(fields=["invoice", "created_at"], name="credit_note_invoice_idx")]

    def __str__(self) -> str:
        return f"{self.id} ({self.currency.upper()} {self.amount})"
