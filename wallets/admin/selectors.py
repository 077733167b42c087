"""Read-side queries for the support back-office (wallets.admin): across every tenant.

The API's selectors (wallets.selectors) are scoped to one environment; support staff look at
all of them, so the admin reads through this module. Nothing here writes, and every query is
bounded (a page, a limit, or an aggregate), so a wallet with 100,000 ledger rows stays cheap.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from invoices.models import Invoice
from wallets.ledger import postings
from wallets.models import Wallet, WalletHold, WalletStatusChange, WalletTransaction

# "Expiring soon" on the overview and in the wallet list filter.
EXPIRING_WINDOW = timedelta(days=7)
OPEN_STATUSES = (Wallet.Status.ACTIVE, Wallet.Status.FROZEN)


def _lots_expiring(*, now: datetime, window: timedelta) -> QuerySet[WalletTransaction]:
    """Credit lots still holding credits whose expiry falls in (now, now + window]."""
    return WalletTransaction.objects.filter(
        type=WalletTransaction.Type.CREDIT,
        transaction_status=WalletTransaction.Status.COMPLETED,
        credits_available__gt=0,
        expiry_date__gt=now,
        expiry_date__lte=now + window,
    )


def wallets_with_credits_expiring(queryset: QuerySet[Wallet], *, now: datetime, window: timedelta = EXPIRING_WINDOW):
    """``queryset`` narrowed to wallets holding a lot that expires within ``window``."""
    return queryset.filter(Exists(_lots_expiring(now=now, window=window).filter(wallet=OuterRef("pk"))))


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    credits: Decimal
    wallets: int
    value: Decimal | None = None  # currency value, where one rate applies (a wallet's balance)


@dataclass(frozen=True)
class Overview:
    """The numbers on the admin index page."""

    outstanding: list[CurrencyTotal]  # credits held by open (active or frozen) wallets
    expiring: list[CurrencyTotal]  # credits in lots expiring within EXPIRING_WINDOW
    in_alarm: int
    frozen: int
    pending_invoices: int  # purchase invoices finalized and awaiting payment


def support_overview(*, now: datetime) -> Overview:
    outstanding = (
        Wallet.objects.filter(wallet_status__in=OPEN_STATUSES)
        .values("currency")
        .annotate(credits=Sum("credit_balance"), value=Sum("balance"), wallets=Count("id"))
        .order_by("currency")
    )
    expiring = (
        _lots_expiring(now=now, window=EXPIRING_WINDOW)
        .values("currency")
        .annotate(credits=Sum("credits_available"), wallets=Count("wallet", distinct=True))
        .order_by("currency")
    )
    counts = Wallet.objects.aggregate(
        in_alarm=Count("id", filter=Q(alert_state=Wallet.AlertState.IN_ALARM) & ~Q(wallet_status=Wallet.Status.CLOSED)),
        frozen=Count("id", filter=Q(wallet_status=Wallet.Status.FROZEN)),
    )
    pending_invoices = Invoice.objects.filter(
        invoice_status=Invoice.Status.FINALIZED, payment_status=Invoice.PaymentStatus.PENDING
    ).count()
    return Overview(
        outstanding=[CurrencyTotal(**row) for row in outstanding],
        expiring=[CurrencyTotal(**row) for row in expiring],
        in_alarm=counts["in_alarm"],
        frozen=counts["frozen"],
        pending_invoices=pending_invoices,
    )


def wallet_open_lots(*, wallet: Wallet, now: datetime, limit: int = 50) -> tuple[list[WalletTransaction], int]:
    """The wallet's spendable lots in consumption order (at most ``limit``), and how many there are."""
    lots = postings.open_lots(wallet, now=now)
    return list(lots[:limit]), lots.count()


def wallet_ledger_page(*, wallet: Wallet, page_number, per_page: int = 25) -> Page:
    """One page of the wallet's ledger, newest first (walks index wtxn_wallet_created_idx)."""
    rows = WalletTransaction.objects.filter(wallet=wallet).order_by("-created_at", "-id")
    return Paginator(rows, per_page).get_page(page_number)


def wallet_balance_history(*, wallet: Wallet, limit: int = 200) -> list[tuple[datetime, Decimal]]:
    """(created_at, credit_balance_after) of the wallet's last ``limit`` completed rows, oldest first.

    Pending and failed rows are left out: they never moved the balance.
    """
    rows = (
        WalletTransaction.objects.filter(wallet=wallet, transaction_status=WalletTransaction.Status.COMPLETED)
        .order_by("-created_at", "-id")
        .values_list("created_at", "credit_balance_after")[:limit]
    )
    return list(reversed(rows))


def wallet_status_history(*, wallet: Wallet, limit: int = 50) -> list[WalletStatusChange]:
    """The wallet's freezes, unfreezes and termination, newest first."""
    return list(wallet.status_changes.all()[:limit])


def wallet_currencies() -> list[str]:
    """Every currency a wallet is held in: the choices of the currency filters (a small table's DISTINCT)."""
    return list(Wallet.objects.order_by("currency").values_list("currency", flat=True).distinct())


def wallet_open_holds(*, wallet: Wallet, limit: int = 50) -> list[WalletHold]:
    """The wallet's open holds, oldest first (the stuck ones on top), with how much each reserves."""
    return list(wallet.holds.filter(hold_status=WalletHold.Status.HELD).order_by("created_at", "id")[:limit])
