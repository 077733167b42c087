"""Idempotent ledger writes: one effect per (environment, idempotency key).

A key is stored on the ledger row it produced, with a fingerprint of the operation and its
parameters. Re-sending the key with the same fingerprint replays the original result and
writes nothing; with another fingerprint it is a conflict (409 ``already_exists``).

The unique index on (environment, key) is what decides, so a new key costs no lookup: the write
goes ahead and its insert either succeeds (the key was new) or is refused (it was not). Only
then, or when the write itself is refused (a frozen wallet, too few credits: an earlier success
with the same key must still replay), is the earlier row read, after the transaction rolled
back, exactly as a later retry would read it. Two requests with one key serialise on the wallet
lock or on the index; the loser answers from the winner's row.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction

from core.exceptions import AlreadyExists, ServiceError, ValidationFailed
from wallets.ledger import money, postings
from wallets.models import Wallet, WalletTransaction

IDEMPOTENCY_CONSTRAINT = "wallet_transaction_unique_idempotency_key"
MAX_KEY_LENGTH = 255
# Keys the system derives itself (a wallet id for termination, a credit id for its expiry, the
# auto top-up keys). Refusing them from clients means no client can block that work.
_RESERVED_KEY = re.compile(r"^((wallet|wtxn)_[0-9A-Z]{26}$|auto_topup:)")


@dataclass(frozen=True)
class LedgerResult:
    """A ledger write's outcome. ``wallet`` shows the balances as of ``transaction``."""

    transaction: WalletTransaction
    wallet: Wallet
    replayed: bool = False
    invoice_id: str | None = None  # the purchase invoice of a PURCHASED_CREDIT_INVOICED top-up


def check_client_key(key: str | None) -> str | None:
    """Validate a caller-supplied key; an empty key means "none given"."""
    if key is None or key == "":
        return None
    if not isinstance(key, str):
        raise ValidationFailed("idempotency_key must be a string", field="idempotency_key")
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(f"idempotency_key must be at most {MAX_KEY_LENGTH} characters", field="idempotency_key")
    if not key.strip() or not key.isprintable():
        raise ValidationFailed("idempotency_key must be printable and not blank", field="idempotency_key")
    if _RESERVED_KEY.match(key):
        raise ValidationFailed("idempotency_key has the form of a system key and is reserved", field="idempotency_key")
    return key


def require_client_key(key: str | None, *, operation: str) -> str:
    """``check_client_key`` for the writes that cannot go without one (a debit, a transfer)."""
    checked = check_client_key(key)
    if checked is None:
        raise ValidationFailed(f"idempotency_key is required for {operation}", field="idempotency_key")
    return checked


def _replay(existing: WalletTransaction, fingerprint_: str) -> LedgerResult:
    if existing.request_fingerprint != fingerprint_:
        raise AlreadyExists(
            "A wallet transaction with this idempotency key already exists with different parameters",
            details={"idempotency_key": existing.idempotency_key, "wallet_id": existing.wallet_id},
        )
    wallet = Wallet.objects.get(pk=existing.wallet_id)
    # Replay the original answer: the balances as they stood right after that transaction.
    as_of = existing.credit_balance_after
    wallet = replace_balances(wallet, credit_balance=as_of)
    return LedgerResult(transaction=existing, wallet=wallet, replayed=True)


def replace_balances(wallet: Wallet, *, credit_balance: Decimal) -> Wallet:
    wallet.credit_balance = credit_balance
    wallet.balance = money.credits_to_amount(credit_balance, rate=wallet.conversion_rate)
    return wallet


def _find(environment_id: str, key: str) -> WalletTransaction | None:
    return WalletTransaction.objects.filter(environment_id=environment_id, idempotency_key=key).first()


def _is_key_conflict(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    if diag is not None and getattr(diag, "constraint_name", None):
        return diag.constraint_name == IDEMPOTENCY_CONSTRAINT
    return "idempotency_key" in str(exc)


def run_idempotent(
    *,
    wallet_id: str,
    environment_id: str,
    key: str,
    fingerprint_: str,
    write: Callable[[Wallet], WalletTransaction],
    now: datetime,
    lots_page: bool = False,
    in_environment: bool = False,
) -> LedgerResult:
    """Lock the wallet and call ``write(wallet)``, whose ledger row carries ``key``; or replay ``key``'s earlier result.

    ``write`` must insert a row with ``key`` (or raise): that insert is the only check that the
    key is new. ``lots_page``: read the first page of open lots with the lock (a debit).
    ``in_environment``: the wallet has not been read yet; lock it only as a published wallet of
    ``environment_id`` (Wallet.DoesNotExist otherwise, raised as it is).
    """
    try:
        with transaction.atomic():
            wallet = postings.lock_wallet(
                wallet_id, now=now, lots_page=lots_page, environment_id=environment_id if in_environment else None
            )
            row = write(wallet)
        return LedgerResult(transaction=row, wallet=wallet)
    except IntegrityError as exc:
        if not _is_key_conflict(exc):
            raise
    except ServiceError:
        existing = _find(environment_id, key)
        if existing is None:
            raise
        return _replay(existing, fingerprint_)
    existing = _find(environment_id, key)
    if existing is None:  # the winner rolled back after all; let the caller retry
        raise AlreadyExists("A concurrent request with this idempotency key is in progress; retry it")
    return _replay(existing, fingerprint_)
