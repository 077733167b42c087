"""The webhook events wallets publish, and their payloads.

Events are published inside the transaction that made the change (webhooks.services), so they
exist exactly when the change committed.
"""

import math
from collections import defaultdict
from datetime import datetime

from invoices.models import CreditNote
from wallets.ledger.money import format_decimal
from wallets.models import CreditExpiryReminder, Wallet, WalletHold, WalletTransaction
from webhooks.services import event_publish, events_publish

WALLET_CREATED = "wallet.created"
WALLET_UPDATED = "wallet.updated"
WALLET_TERMINATED = "wallet.terminated"
TRANSACTION_CREATED = "wallet.transaction.created"
TRANSACTION_UPDATED = "wallet.transaction.updated"
CREDIT_BALANCE_DROPPED = "wallet.credit_balance.dropped"
CREDIT_BALANCE_RECOVERED = "wallet.credit_balance.recovered"
# Holds (wallets.services.holds)
HOLD_CREATED = "wallet.hold.created"
HOLD_CAPTURED = "wallet.hold.captured"
HOLD_RELEASED = "wallet.hold.released"  # released by a caller or support, or expired (the hold's status says which)

# Voids and refunds (wallets.services.voids)
CREDITS_VOIDED = "wallet.credits.voided"
CREDIT_NOTE_CREATED = "invoice.credit_note.created"
TRANSFER_COMPLETED = "wallet.transfer.completed"
# Expiry reminders (wallets.services.reminders): once per lot, the tenant's N days before it expires
CREDITS_EXPIRING = "wallet.credits.expiring"

EVENT_TYPES = [
    WALLET_CREATED,
    WALLET_UPDATED,
    WALLET_TERMINATED,
    TRANSACTION_CREATED,
    TRANSACTION_UPDATED,
    CREDIT_BALANCE_DROPPED,
    CREDIT_BALANCE_RECOVERED,
    # Holds
    HOLD_CREATED,
    HOLD_CAPTURED,
    HOLD_RELEASED,
    # Voids and refunds
    CREDITS_VOIDED,
    CREDIT_NOTE_CREATED,
    TRANSFER_COMPLETED,
    # Expiry reminders
    CREDITS_EXPIRING,
]


def _timestamp(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def wallet_payload(wallet: Wallet) -> dict:
    return {
        "id": wallet.id,
        "customer_id": wallet.customer_id,
        "currency": wallet.currency,
        "wallet_type": wallet.wallet_type,
        "wallet_status": wallet.wallet_status,
        "credit_balance": format_decimal(wallet.credit_balance),
        "balance": format_decimal(wallet.balance),
        "alert_state": wallet.alert_state,
        "updated_at": _timestamp(wallet.updated_at),
    }


def transaction_payload(row: WalletTransaction) -> dict:
    return {
        "id": row.id,
        "wallet_id": row.wallet_id,
        "customer_id": row.customer_id,
        "type": row.type,
        "transaction_reason": row.transaction_reason,
        "transaction_status": row.transaction_status,
        "credit_amount": format_decimal(row.credit_amount),
        "amount": format_decimal(row.amount),
        "credit_balance_before": format_decimal(row.credit_balance_before),
        "credit_balance_after": format_decimal(row.credit_balance_after),
        "idempotency_key": row.idempotency_key,
        "created_at": _timestamp(row.created_at),
    }


def _no_endpoints(wallet: Wallet) -> bool:
    # A wallet locked by wallets.ledger.postings.lock_wallet knows whether its environment has an enabled
    # endpoint (read with the lock, in this transaction): without one there is nothing to record
    # and no need to ask. For any other wallet, event_publish looks the endpoints up.
    return getattr(wallet, "has_webhook_endpoints", None) is False


def publish_wallet_event(wallet: Wallet, event_type: str) -> None:
    if _no_endpoints(wallet):
        return
    event_publish(environment_id=wallet.environment_id, event_type=event_type, data={"wallet": wallet_payload(wallet)})


def publish_transaction_events(wallet: Wallet, rows: list[WalletTransaction], event_type: str = TRANSACTION_CREATED) -> None:
    """One event per ledger row, each with the wallet as it stands after all of them."""
    if _no_endpoints(wallet):
        return
    wallet_data = wallet_payload(wallet)
    events_publish(
        environment_id=wallet.environment_id,
        event_type=event_type,
        payloads=[{"transaction": transaction_payload(row), "wallet": wallet_data} for row in rows],
    )


# --- holds (wallets.services.holds) -----------------------------------------------------------


def hold_payload(hold: WalletHold) -> dict:
    return {
        "id": hold.id,
        "wallet_id": hold.wallet_id,
        "customer_id": hold.customer_id,
        "credits": format_decimal(hold.credits),
        "captured_credits": format_decimal(hold.captured_credits),
        "status": hold.hold_status,
        "expires_at": _timestamp(hold.expires_at),
        "capture_transaction_id": hold.capture_transaction_id,
        "idempotency_key": hold.idempotency_key,
        "created_at": _timestamp(hold.created_at),
        "closed_at": _timestamp(hold.closed_at),
    }


def publish_hold_event(wallet: Wallet, hold: WalletHold, event_type: str) -> None:
    """A hold placed, captured or released (or expired), with the wallet as it stands after it."""
    if _no_endpoints(wallet):
        return
    data = {"hold": hold_payload(hold), "wallet": wallet_payload(wallet)}
    data["wallet"]["held_credits"] = format_decimal(wallet.held_credits)
    event_publish(environment_id=wallet.environment_id, event_type=event_type, data=data)


# --- voids and refunds (wallets.services.voids) ---------------------------------------------


def credit_note_payload(note: CreditNote) -> dict:
    return {
        "id": note.id,
        "invoice_id": note.invoice_id,
        "wallet_transaction_id": note.wallet_transaction_id,
        "credits": format_decimal(note.credits),
        "amount": format_decimal(note.amount),
        "currency": note.currency,
        "reason": note.reason,
        "created_at": _timestamp(note.created_at),
    }


def publish_credits_voided(wallet: Wallet, row: WalletTransaction, note: CreditNote | None = None) -> None:
    """``wallet.credits.voided`` for a void or a refund (``row``'s reason says which), and for a
    refund ``invoice.credit_note.created`` as well; ``wallet`` as it stands after ``row``."""
    if _no_endpoints(wallet):
        return
    data = {"transaction": transaction_payload(row), "voided_transaction_id": row.parent_transaction_id}
    event_publish(
        environment_id=wallet.environment_id, event_type=CREDITS_VOIDED, data={**data, "wallet": wallet_payload(wallet)}
    )
    if note is not None:
        event_publish(
            environment_id=wallet.environment_id,
            event_type=CREDIT_NOTE_CREATED,
            data={"credit_note": credit_note_payload(note), "transaction": transaction_payload(row)},
        )


# --- Transfers (wallets.services.transfers): one event per transfer, besides each row's own events.


def publish_transfer_event(transfer, source: Wallet, destination: Wallet, debit: WalletTransaction, credits) -> None:
    """``wallet.transfer.completed``: the transfer, its rows and both wallets as they stand after it."""
    if _no_endpoints(source):
        return
    event_publish(
        environment_id=source.environment_id,
        event_type=TRANSFER_COMPLETED,
        data={
            "transfer": {
                "id": transfer.id,
                "customer_id": transfer.customer_id,
                "from_wallet_id": transfer.from_wallet_id,
                "to_wallet_id": transfer.to_wallet_id,
                "credits": format_decimal(transfer.credits),
                "debit_transaction_id": debit.id,
                "credit_transaction_ids": [row.id for row in credits],
                "created_at": _timestamp(transfer.created_at),
            },
            "from_wallet": wallet_payload(source),
            "to_wallet": wallet_payload(destination),
        },
    )


# --- Expiry reminders (wallets.services.reminders) ------------------------------------------

SECONDS_PER_DAY = 24 * 60 * 60


def credits_expiring_payload(reminder: CreditExpiryReminder, wallet: Wallet, *, now: datetime) -> dict:
    """The lot's reminder: ``credits`` still in the lot (``held_credits`` of them earmarked by open
    holds), when it expires and how long that is from the reminder (``days_left`` rounded up, so a
    lot the sweep finds 6 days 23 hours before its expiry says 7)."""
    seconds_left = int((reminder.expiry_date - now).total_seconds())
    return {
        "lot_id": reminder.lot_id,
        "wallet_id": reminder.wallet_id,
        "customer_id": reminder.customer_id,
        "currency": wallet.currency,
        "credits": format_decimal(reminder.credits),
        "held_credits": format_decimal(reminder.held_credits),
        "expiry_date": _timestamp(reminder.expiry_date),
        "seconds_left": seconds_left,
        "days_left": math.ceil(seconds_left / SECONDS_PER_DAY),
        "reminder_days": reminder.reminder_days,
        "reminded_at": _timestamp(reminder.created_at),
    }


def publish_credits_expiring(reminders: list[CreditExpiryReminder], *, now: datetime) -> None:
    """``wallet.credits.expiring``, one event per reminder, each with its wallet as it stands now."""
    if not reminders:
        return
    wallets = Wallet.objects.in_bulk({reminder.wallet_id for reminder in reminders})
    by_environment = defaultdict(list)
    for reminder in reminders:
        wallet = wallets[reminder.wallet_id]
        by_environment[reminder.environment_id].append(
            {"credits_expiring": credits_expiring_payload(reminder, wallet, now=now), "wallet": wallet_payload(wallet)}
        )
    for environment_id, payloads in by_environment.items():
        events_publish(environment_id=environment_id, event_type=CREDITS_EXPIRING, payloads=payloads, now=now)
