"""Read-side queries of the back-office pages: the customer page's summary of one customer, and
the count of approval requests waiting (the admin index's "needs attention").

Every query is bounded (a customer's wallets are few; rows, lots and invoices are limited) and
walks an index that starts with the wallet or the customer.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from backoffice.models import ApprovalRequest
from customers.models import Customer
from invoices.models import Invoice
from tenancy.models import Tenant
from wallets.ledger.money import ZERO
from wallets.models import (
    AlertLog,
    CreditExpiryReminder,
    HoldEarmark,
    Wallet,
    WalletHold,
    WalletStatusChange,
    WalletTransaction,
)

EXPIRING_WINDOW = timedelta(days=30)
LATEST_ROWS = 15
LIST_LIMIT = 50


@dataclass(frozen=True)
class Sections:
    """The parts of the summary to read: each one only for staff who may view its rows."""

    wallets: bool
    ledger: bool  # expiring lots, open holds and the latest ledger rows (WalletTransaction), as on the wallet page
    invoices: bool
    alerts: bool
    status_history: bool


@dataclass(frozen=True)
class ExpiringLot:
    """A lot that expires within EXPIRING_WINDOW, and where its expiry reminder stands
    (wallets.services.reminders: the workers announce it once, the tenant's N days before)."""

    lot: WalletTransaction
    held_credits: Decimal  # earmarked by open holds: they expire with the lot unless the hold is captured
    reminder: CreditExpiryReminder | None  # sent, and when
    remind_from: datetime | None  # not sent yet: the first sweep from then on sends it; None when reminders are off


@dataclass(frozen=True)
class CustomerSummary:
    """Each part is None when its section was not asked for (and its query not run)."""

    wallets: list[Wallet] | None  # open ones first, then newest
    expiring: list[ExpiringLot] | None  # lots still holding credits that expire within EXPIRING_WINDOW, soonest first
    open_holds: list[WalletHold] | None  # holds not yet captured, released or expired, oldest (the stuck ones) first
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
    expiring = open_holds = latest_rows = open_invoices = alerts = history = None
    if sections.ledger:
        expiring = _expiring_lots(wallet_ids, now=now)
        open_holds = list(
            WalletHold.objects.filter(wallet__in=wallet_ids, hold_status=WalletHold.Status.HELD).order_by("created_at", "id")[
                :LIST_LIMIT
            ]
        )
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
        open_holds=open_holds,
        latest_rows=latest_rows,
        open_invoices=open_invoices,
        alerts=alerts,
        status_history=history,
    )


def _expiring_lots(wallet_ids: list[str], *, now: datetime) -> list[ExpiringLot]:
    """The lots of these wallets that expire within EXPIRING_WINDOW and still hold credits, spendable or
    earmarked by an open hold (the lots the reminder sweep considers), soonest first, with their reminder."""
    open_earmarks = HoldEarmark.objects.filter(lot=OuterRef("pk"), credits__gt=0)
    held = open_earmarks.order_by().values("lot").annotate(total=Sum("credits")).values("total")
    lots = list(
        WalletTransaction.objects.filter(
            Q(credits_available__gt=0) | Exists(open_earmarks),
            wallet__in=wallet_ids,
            type=WalletTransaction.Type.CREDIT,
            transaction_status=WalletTransaction.Status.COMPLETED,
            expiry_date__gt=now,
            expiry_date__lte=now + EXPIRING_WINDOW,
        )
        .annotate(held=Coalesce(Subquery(held), ZERO))
        .select_related("expiry_reminder")
        .order_by("expiry_date", "id")[:LIST_LIMIT]
    )
    if not lots:
        return []
    days = Tenant.objects.values_list("credit_expiry_reminder_days", flat=True).get(pk=lots[0].tenant_id)
    expiring = []
    for lot in lots:
        reminder = getattr(lot, "expiry_reminder", None)  # select_related read it; absent: not sent yet
        remind_from = lot.expiry_date - timedelta(days=days) if days and reminder is None else None
        expiring.append(ExpiringLot(lot=lot, held_credits=lot.held, reminder=reminder, remind_from=remind_from))
    return expiring


def pending_approvals_of_wallet(wallet_id: str) -> int:
    return ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING, wallet_id=wallet_id).count()


def pending_approvals(*, user) -> tuple[int, int]:
    """(approval requests waiting, those of them ``user`` may decide: someone else's, with the approve permission)."""
    pending = ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING)
    total = pending.count()
    if not total or not user.has_perm("backoffice.approve_request"):
        return total, 0
    return total, pending.exclude(requested_by=user).count()
