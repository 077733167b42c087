"""Read-side queries of the back-office pages: the customer page's summary of one customer, and
the count of approval requests waiting (the admin index's "needs attention").

Every query is bounded (a customer's wallets are few; rows, lots and invoices are limited) and
walks an index that starts with the wallet or the customer.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from backoffice.models import ApprovalRequest
from customers.models import Customer
from invoices.models import Invoice
from wallets.models import AlertLog, Wallet, WalletStatusChange, WalletTransaction

EXPIRING_WINDOW = timedelta(days=30)
LATEST_ROWS = 15
LIST_LIMIT = 50


@dataclass(frozen=True)
class Sections:
    """The parts of the summary to read: each one only for staff who may view its rows."""

    wallets: bool
    ledger: bool  # expiring lots and the latest ledger rows (WalletTransaction)
    invoices: bool
    alerts: bool
    status_history: bool


@dataclass(frozen=True)
class CustomerSummary:
    """Each part is None when its section was not asked for (and its query not run)."""

    wallets: list[Wallet] | None  # open ones first, then newest
    expiring: list[WalletTransaction] | None  # lots still holding credits that expire within EXPIRING_WINDOW, soonest first
    latest_rows: list[WalletTransaction] | None  # the newest ledger rows across the customer's wallets
    open_invoices: list[Invoice] | None  # finalized or draft, payment still pending
    alerts: list[AlertLog] | None  # the latest alert state changes across the wallets
    status_history: list[WalletStatusChange] | None  # freezes, unfreezes and terminations, newest first


def customer_summary(*, customer: Customer, now: datetime, sections: Sections) -> CustomerSummary:
    wallets = wallet_ids = None
    if sections.wallets:
        wallets = list(Wallet.objects.filter(customer=customer).order_by("wallet_status", "-created_at")[:LIST_LIMIT])
        wallet_ids = [wallet.pk for wallet in wallets]
    elif sections.ledger or sections.alerts or sections.status_history:
        wallet_ids = list(
            Wallet.objects.filter(customer=customer)
            .order_by("wallet_status", "-created_at")
            .values_list("pk", flat=True)[:LIST_LIMIT]
        )
    expiring = latest_rows = open_invoices = alerts = history = None
    if sections.ledger:
        expiring = WalletTransaction.objects.filter(
            wallet__in=wallet_ids,
            type=WalletTransaction.Type.CREDIT,
            transaction_status=WalletTransaction.Status.COMPLETED,
            credits_available__gt=0,
            expiry_date__gt=now,
            expiry_date__lte=now + EXPIRING_WINDOW,
        ).order_by("expiry_date", "id")
        expiring = list(expiring[:LIST_LIMIT])
        latest_rows = list(WalletTransaction.objects.filter(wallet__in=wallet_ids).order_by("-created_at", "-id")[:LATEST_ROWS])
    if sections.invoices:
        open_invoices = Invoice.objects.filter(
            customer=customer,
            invoice_status__in=[Invoice.Status.DRAFT, Invoice.Status.FINALIZED],
            payment_status=Invoice.PaymentStatus.PENDING,
        ).order_by("-created_at")
        open_invoices = list(open_invoices[:LIST_LIMIT])
    if sections.alerts:
        alerts = list(AlertLog.objects.filter(wallet__in=wallet_ids).order_by("-created_at", "-id")[:10])
    if sections.status_history:
        history = list(WalletStatusChange.objects.filter(wallet__in=wallet_ids).order_by("-created_at", "-id")[:LIST_LIMIT])
    return CustomerSummary(
        wallets=wallets,
        expiring=expiring,
        latest_rows=latest_rows,
        open_invoices=open_invoices,
        alerts=alerts,
        status_history=history,
    )


def pending_approvals_of_wallet(wallet_id: str) -> int:
    return ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING, wallet_id=wallet_id).count()


def pending_approvals(*, user) -> tuple[int, int]:
    """(approval requests waiting, those of them ``user`` may decide: someone else's, with the approve permission)."""
    pending = ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING)
    total = pending.count()
    if not total or not user.has_perm("backoffice.approve_request"):
        return total, 0
    return total, pending.exclude(requested_by=user).count()
