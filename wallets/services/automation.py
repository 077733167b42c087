"""Work the system does on its own: automatic top-ups and the periodic sweeps.

Each sweep reads what is due from the database and handles one wallet per short transaction,
so it can be interrupted at any point (a killed worker, a deploy) and simply run again.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.exceptions import InvalidOperation
from invoices.models import Invoice
from wallets.ledger import postings
from wallets.ledger.fingerprints import fingerprint
from wallets.models import Wallet, WalletTransaction
from wallets.services.credits import purchase_on_invoice
from wallets.services.debits import expire_due_lots
from wallets.services.lifecycle import wallet_unfreeze

logger = logging.getLogger(__name__)
Reason = WalletTransaction.Reason
SYSTEM_ACTOR = "system"
# Lots expired per wallet transaction: bounds how long one wallet's lock is held.
EXPIRY_LOTS_PER_TRANSACTION = 100


def _cooldown(wallet: Wallet) -> timedelta | None:
    if not wallet.auto_topup_cooldown_value or not wallet.auto_topup_cooldown_unit:
        return None
    return timedelta(**{f"{wallet.auto_topup_cooldown_unit}s": wallet.auto_topup_cooldown_value})


def _blocked_reason(wallet: Wallet, *, now: datetime) -> str:
    """Why an otherwise due wallet must not be topped up now ("" when it may)."""
    last = (
        WalletTransaction.objects.filter(wallet=wallet, metadata__auto_topup="true")
        .order_by("-created_at", "-id")
        .only("transaction_status", "created_at")
        .first()
    )
    if last is not None and last.transaction_status == WalletTransaction.Status.PENDING:
        return "an earlier auto top-up is still pending"
    cooldown = _cooldown(wallet)
    if last is not None and cooldown is not None and now < last.created_at + cooldown:
        return "inside the cooldown"
    if (
        wallet.auto_topup_invoicing
        and Invoice.objects.filter(
            customer_id=wallet.customer_id,
            billing_reason=Invoice.BillingReason.WALLET_AUTO_TOPUP,
            invoice_status=Invoice.Status.FINALIZED,
            payment_status__in=[Invoice.PaymentStatus.PENDING, Invoice.PaymentStatus.FAILED],
        ).exists()
    ):
        return "an auto top-up invoice of this customer is unpaid"
    return ""


def auto_top_up_due(wallet: Wallet) -> bool:
    """True when ``wallet`` is due an automatic top-up: active, enabled and at or under its threshold.

    After every debit that leaves a wallet due, one evaluation is queued once the debit commits
    (wallets.tasks.queue_auto_top_up); the periodic sweep finds any it missed (a lost message,
    a Redis restart).
    """
    return (
        wallet.wallet_status == Wallet.Status.ACTIVE
        and wallet.auto_topup_enabled
        and wallet.auto_topup_threshold is not None
        and wallet.credit_balance <= wallet.auto_topup_threshold
    )


def wallet_auto_top_up(wallet_id: str, *, trigger_id: str, now: datetime | None = None) -> list[WalletTransaction]:
    """Top up ``wallet_id`` while it is due, at most AUTO_TOP_UP_MAX_PER_EVALUATION times.

    Keys derive from ``trigger_id`` (the transaction that left the wallet low), so a
    redelivered task, or the sweep racing the task, adds nothing twice. Returns the rows added.
    """
    now = now or timezone.now()
    added = []
    with transaction.atomic():
        wallet = postings.lock_wallet(wallet_id)
        for attempt in range(settings.AUTO_TOP_UP_MAX_PER_EVALUATION):
            key = f"auto_topup:{trigger_id}:{attempt}"
            if WalletTransaction.objects.filter(environment_id=wallet.environment_id, idempotency_key=key).exists():
                continue  # this step already happened in an earlier run of the same evaluation
            if not auto_top_up_due(wallet):
                break
            blocked = _blocked_reason(wallet, now=now)
            if blocked:
                logger.info("auto top-up of %s skipped: %s", wallet.id, blocked)
                break
            posting = postings.Posting(
                credits=wallet.auto_topup_amount,
                reason=Reason.PURCHASED_CREDIT_INVOICED if wallet.auto_topup_invoicing else Reason.PURCHASED_CREDIT_DIRECT,
                actor=SYSTEM_ACTOR,
                now=now,
                idempotency_key=key,
                fingerprint=fingerprint("auto_top_up", wallet_id=wallet.id, trigger_id=trigger_id, attempt=attempt),
                description="Auto top-up triggered for low balance",
                metadata={"auto_topup": "true", "trigger_transaction_id": trigger_id},
                reference_type=WalletTransaction.ReferenceType.REQUEST,
                reference_id=trigger_id,
            )
            if wallet.auto_topup_invoicing:  # pending until its invoice is paid, which re-opens the guard
                added.append(purchase_on_invoice(wallet, posting, billing_reason=Invoice.BillingReason.WALLET_AUTO_TOPUP))
            else:
                added.append(postings.post_credit(wallet, posting))
    if added:
        logger.info("auto top-up of %s: %s credit(s) added after %s", wallet_id, len(added), trigger_id)
    return added


def auto_top_up_sweep(*, now: datetime | None = None) -> int:
    """Evaluate every active wallet at or under its threshold; returns the top-ups added."""
    now = now or timezone.now()
    due = Wallet.objects.filter(
        wallet_status=Wallet.Status.ACTIVE,
        auto_topup_enabled=True,
        auto_topup_threshold__isnull=False,
        credit_balance__lte=F("auto_topup_threshold"),
    ).values_list("id", "transaction_count")
    added = 0
    for wallet_id, count in due.iterator():
        # The latest ledger row is what left the wallet low: the same trigger the ledger queued.
        trigger = WalletTransaction.objects.filter(wallet_id=wallet_id, sequence=count).values_list("id", flat=True).first()
        added += len(wallet_auto_top_up(wallet_id, trigger_id=trigger or f"{wallet_id}:start", now=now))
    return added


@dataclass
class ExpirySweepResult:
    wallets: int = 0
    credits_expired: int = 0
    batches: int = 0
    longest_lock_ms: float = 0.0
    wallet_ids: set = field(default_factory=set, repr=False)


def credits_expire_sweep(*, now: datetime | None = None, batch_size: int | None = None) -> ExpirySweepResult:
    """Expire every credit lot past its expiry (minus the grace period), one wallet at a time.

    Idempotent: each lot's expiry row is keyed by the lot's id and lots are re-read under the
    wallet lock, so a second sweep, or two workers at once, expire each lot exactly once.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CREDIT_EXPIRY_GRACE_SECONDS)
    batch_size = batch_size or settings.CREDIT_EXPIRY_BATCH_SIZE
    result = ExpirySweepResult()
    while True:
        wallet_ids = list(
            WalletTransaction.objects.filter(
                postings.unearmarked(),  # a lot an open hold earmarks waits for the hold (postings.unearmarked)
                type=WalletTransaction.Type.CREDIT,
                transaction_status=WalletTransaction.Status.COMPLETED,
                credits_available__gt=0,
                expiry_date__lte=cutoff,
            )
            .values_list("wallet_id", flat=True)
            .distinct()[:batch_size]
        )
        if not wallet_ids:
            break
        result.batches += 1
        for wallet_id in wallet_ids:
            result.credits_expired += _expire_wallet(wallet_id, now=now, cutoff=cutoff, result=result)
            result.wallet_ids.add(wallet_id)
        logger.info(
            "credit expiry batch %s: %s wallets, %s credits expired so far",
            result.batches,
            len(wallet_ids),
            result.credits_expired,
        )
    result.wallets = len(result.wallet_ids)
    return result


def _expire_wallet(wallet_id: str, *, now: datetime, cutoff: datetime, result: ExpirySweepResult) -> int:
    expired = 0
    while True:
        started = timezone.now()
        with transaction.atomic():
            wallet = postings.lock_wallet(wallet_id)
            rows = expire_due_lots(wallet, now=now, actor=SYSTEM_ACTOR, due_before=cutoff, limit=EXPIRY_LOTS_PER_TRANSACTION)
        held_ms = (timezone.now() - started).total_seconds() * 1000
        result.longest_lock_ms = max(result.longest_lock_ms, held_ms)
        expired += len(rows)
        if len(rows) < EXPIRY_LOTS_PER_TRANSACTION:
            return expired


def wallets_unfreeze_due(*, now: datetime | None = None) -> int:
    """Unfreeze wallets whose freeze ``until`` has passed; returns how many."""
    now = now or timezone.now()
    unfrozen = 0
    for wallet in Wallet.objects.filter(wallet_status=Wallet.Status.FROZEN, frozen_until__lte=now):
        try:
            wallet_unfreeze(wallet, reason="Freeze period ended", actor=SYSTEM_ACTOR)
        except InvalidOperation:
            continue  # unfrozen by hand in the meantime
        unfrozen += 1
    return unfrozen
