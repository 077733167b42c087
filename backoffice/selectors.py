"""Read-side queries of the back-office pages: the customer page's summary of one customer.

Every query is bounded (a customer's wallets are few; rows, lots and invoices are limited) and
walks an index that starts with the wallet or the customer.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from customers.models import Customer
from invoices.models import Invoice
from wallets.models import AlertLog, Wallet, WalletStatusChange, WalletTransaction

EXPIRING_WINDOW = timedelta(days=30)
LATEST_ROWS = 15
LIST_LIMIT = 50


@dataclass(frozen=True)
class CustomerSummary:
    wallets: list[Wallet]  # open ones first, then newest
    expiring: list[WalletTransaction]  # lots still holding credits that expire within EXPIRING_WINDOW, soonest first
    latest_rows: list[WalletTransaction]  # the newest ledger rows across the customer's wallets
    open_invoices: list[Invoice]  # finalized or draft, payment still pending
    alerts: list[AlertLog]  # the latest alert state changes across the wallets
    status_history: list[WalletStatusChange]  # freezes, unfreezes and terminations, newest first


def customer_summary(*, customer: Customer, now: datetime) -> CustomerSummary:
    wallets = list(Wallet.objects.filter(customer=customer).order_by("wallet_status", "-created_at")[:LIST_LIMIT])
    wallet_ids = [wallet.pk for wallet in wallets]
    expiring = WalletTransaction.objects.filter(
        wallet__in=wallet_ids,
        type=WalletTransaction.Type.CREDIT,
        transaction_status=WalletTransaction.Status.COMPLETED,
        credits_available__gt=0,
        expiry_date__gt=now,
        expiry_date__lte=now + EXPIRING_WINDOW,
    ).order_by("expiry_date", "id")
    latest_rows = WalletTransaction.objects.filter(wallet__in=wallet_ids).order_by("-created_at", "-id")
    open_invoices = Invoice.objects.filter(
        customer=customer,
        invoice_status__in=[Invoice.Status.DRAFT, Invoice.Status.FINALIZED],
        payment_status=Invoice.PaymentStatus.PENDING,
    ).order_by("-created_at")
    alerts = AlertLog.objects.filter(wallet__in=wallet_ids).order_by("-created_at", "-id")
    history = WalletStatusChange.objects.filter(wallet__in=wallet_ids).order_by("-created_at", "-id")
    return CustomerSummary(
        wallets=wallets,
        expiring=list(expiring[:LIST_LIMIT]),
        latest_rows=list(latest_rows[:LATEST_ROWS]),
        open_invoices=list(open_invoices[:LIST_LIMIT]),
        alerts=list(alerts[:10]),
        status_history=list(history[:LIST_LIMIT]),
    )
