"""Wallet lifecycle: create, update settings, freeze, unfreeze, terminate."""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import inputs
from core.exceptions import AlreadyExists, InvalidOperation, ValidationFailed
from customers.models import Customer
from invoices.services import invoices_void_unpaid
from wallets.ledger import money, postings
from wallets.ledger.fingerprints import fingerprint
from wallets.ledger.idempotency import LedgerResult
from wallets.models import Wallet, WalletStatusChange, WalletTransaction
from wallets.services import alerts, events, holds
from wallets.services.debits import expire_due_lots

Reason = WalletTransaction.Reason
ONE = Decimal(1)


@dataclass(frozen=True)
class AutoTopUp:
    """Auto top-up settings: when enabled, ``amount`` credits are added at or below ``threshold``."""

    enabled: bool = False
    threshold: Decimal | None = None
    amount: Decimal | None = None
    invoicing: bool = False
    cooldown_value: int | None = None
    cooldown_unit: str = ""

    def checked(self) -> "AutoTopUp":
        if self.threshold is not None:
            money.check_threshold(self.threshold, field="auto_topup.threshold")
        if self.amount is not None:
            money.check_credits(self.amount, field="auto_topup.amount")
        if self.enabled and (self.threshold is None or self.amount is None):
            raise ValidationFailed("auto_topup needs a threshold and an amount when enabled", field="auto_topup")
        if self.cooldown_value is not None:
            if isinstance(self.cooldown_value, bool) or not isinstance(self.cooldown_value, int) or self.cooldown_value <= 0:
                raise ValidationFailed("auto_topup.cooldown.value must be a positive integer", field="auto_topup.cooldown.value")
            inputs.check_choice(self.cooldown_unit, field="auto_topup.cooldown.unit", choices=Wallet.CooldownUnit.values)
        return self


def _default_name(wallet_type: str, currency: str) -> str:
    label = {"PRE_PAID": "Prepaid", "POST_PAID": "Postpaid", "PROMOTIONAL": "Promotional"}[wallet_type]
    return f"{label} Wallet - {currency.upper()}"


def check_currency(value) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isascii() or not value.isalpha():
        raise ValidationFailed("currency must be three ASCII letters", field="currency")
    return value.lower()


def wallet_create(
    customer: Customer,
    *,
    currency: str,
    wallet_type: str = Wallet.Type.PRE_PAID,
    name: str = "",
    description: str = "",
    metadata: dict | None = None,
    conversion_rate: Decimal | None = None,
    topup_conversion_rate: Decimal | None = None,
    config: dict | None = None,
    auto_topup: AutoTopUp | None = None,
    alert_settings: dict | None = None,
    initial_credits: Decimal | None = None,
    initial_credits_expiry: datetime | None = None,
    actor: str = "",
) -> Wallet:
    """Open a wallet for ``customer``, optionally loaded with free initial credits.

    Raises ValidationFailed for bad input and AlreadyExists when the customer already has an
    open (active or frozen) wallet of this currency and type. All or nothing: a failure while
    loading the initial credits leaves no wallet behind.
    """
    now = timezone.now()
    currency = check_currency(currency)
    wallet_type = inputs.check_choice(wallet_type, field="wallet_type", choices=Wallet.Type.values)
    rate = (
        ONE
        if conversion_rate is None or money.is_zero(conversion_rate)
        else money.check_rate(conversion_rate, field="conversion_rate")
    )
    topup_rate = rate if topup_conversion_rate is None else money.check_rate(topup_conversion_rate, field="topup_conversion_rate")
    name = inputs.check_text(name, field="name", max_length=255) or _default_name(wallet_type, currency)
    description = inputs.check_text(description, field="description", max_length=inputs.MAX_DESCRIPTION_LENGTH)
    metadata = inputs.check_metadata(metadata)
    config = _check_config(config)
    auto_topup = (auto_topup or AutoTopUp()).checked()
    alert_settings = alerts.check_alert_settings(alert_settings)
    if initial_credits is None or money.is_zero(initial_credits):
        initial_credits = None
    else:
        initial_credits = money.check_credits(initial_credits, field="initial_credits_to_load")
        initial_credits_expiry = inputs.check_future(initial_credits_expiry, field="initial_credits_expiry_date_utc", now=now)
    if customer.status != Customer.Status.PUBLISHED:
        raise ValidationFailed("The customer has been deleted", field="customer_id")

    wallet = Wallet(
        tenant_id=customer.tenant_id,
        environment_id=customer.environment_id,
        customer=customer,
        currency=currency,
        wallet_type=wallet_type,
        name=name,
        description=description,
        metadata=metadata,
        conversion_rate=rate,
        topup_conversion_rate=topup_rate,
        config=config,
        alert_settings=alert_settings,
        created_at=now,
        updated_at=now,
        created_by=actor,
        updated_by=actor,
    )
    _apply_auto_topup(wallet, auto_topup)
    try:
        with transaction.atomic():
            _hold_published_customer(customer)
            _refuse_twin(wallet)
            wallet.save(force_insert=True)
            if initial_credits is not None:
                key = f"credit_grant_{secrets.token_hex(16)}"
                postings.post_credit(
                    wallet,
                    postings.Posting(
                        credits=initial_credits,
                        reason=Reason.FREE_CREDIT_GRANT,
                        actor=actor,
                        now=now,
                        idempotency_key=key,
                        fingerprint=fingerprint("initial_credits", wallet_id=wallet.id, credits=initial_credits),
                        description="Initial credits",
                        reference_type=WalletTransaction.ReferenceType.REQUEST,
                        reference_id=wallet.id,
                        expiry_date=initial_credits_expiry,
                    ),
                )
            alerts.record_alert_state(wallet, now=now)
            events.publish_wallet_event(wallet, events.WALLET_CREATED)
    except IntegrityError as exc:
        if "wallet_one_open_per_customer_currency_type" not in str(exc):
            raise
        raise _twin_error(wallet) from None
    return wallet


def _hold_published_customer(customer: Customer) -> None:
    """Lock the customer's row until the wallet is committed, and check it was not deleted meanwhile.

    ``customer`` was read before this transaction; a deletion may have committed since. The lock
    (FOR NO KEY UPDATE, which customer_delete's FOR UPDATE waits for) makes the order definite:
    a deletion either committed before, and is seen here, or waits and then sees the new wallet.
    """
    status = Customer.objects.select_for_update(no_key=True).filter(pk=customer.pk).values_list("status", flat=True).get()
    if status != Customer.Status.PUBLISHED:
        raise ValidationFailed("The customer has been deleted", field="customer_id")


def _open_twins(wallet: Wallet):
    """Open (active or frozen) wallets of the same customer, currency and type."""
    return Wallet.objects.filter(
        environment_id=wallet.environment_id,
        customer_id=wallet.customer_id,
        currency=wallet.currency,
        wallet_type=wallet.wallet_type,
    ).exclude(wallet_status=Wallet.Status.CLOSED)


def _refuse_twin(wallet: Wallet) -> None:
    if _open_twins(wallet).exists():
        raise _twin_error(wallet)


def _twin_error(wallet: Wallet) -> AlreadyExists:
    twin = _open_twins(wallet).first()
    return AlreadyExists(
        "A customer can only have one active wallet per currency and wallet type",
        details={
            "customer_id": wallet.customer_id,
            "wallet_id": twin.id if twin else None,
            "currency": wallet.currency,
            "wallet_type": wallet.wallet_type,
        },
    )


PRICE_TYPES = ("ALL", "USAGE", "FIXED")


def _check_config(config) -> dict:
    if config is None:
        return {"allowed_price_types": ["ALL"]}
    if not isinstance(config, dict):
        raise ValidationFailed("config must be an object", field="config")
    types = config.get("allowed_price_types")
    if types is None:
        return {"allowed_price_types": ["ALL"]}
    if not isinstance(types, list) or any(t not in PRICE_TYPES for t in types):
        raise ValidationFailed("Invalid price type", field="config.allowed_price_types", details={"allowed": list(PRICE_TYPES)})
    return {"allowed_price_types": list(types)}


def _apply_auto_topup(wallet: Wallet, auto_topup: AutoTopUp) -> None:
    wallet.auto_topup_enabled = auto_topup.enabled
    wallet.auto_topup_threshold = auto_topup.threshold
    wallet.auto_topup_amount = auto_topup.amount
    wallet.auto_topup_invoicing = auto_topup.invoicing
    wallet.auto_topup_cooldown_value = auto_topup.cooldown_value
    wallet.auto_topup_cooldown_unit = auto_topup.cooldown_unit or ""


def current_auto_topup(wallet: Wallet) -> AutoTopUp:
    return AutoTopUp(
        enabled=wallet.auto_topup_enabled,
        threshold=wallet.auto_topup_threshold,
        amount=wallet.auto_topup_amount,
        invoicing=wallet.auto_topup_invoicing,
        cooldown_value=wallet.auto_topup_cooldown_value,
        cooldown_unit=wallet.auto_topup_cooldown_unit,
    )


_UNSET = object()


def wallet_update(
    wallet: Wallet,
    *,
    name=_UNSET,
    description=_UNSET,
    metadata=_UNSET,
    config=_UNSET,
    auto_topup: Callable[[AutoTopUp], AutoTopUp] | None = None,
    alert_settings=_UNSET,
    actor: str = "",
) -> Wallet:
    """Change a wallet's settings (never its balances, currency, type, rates or status).

    ``auto_topup`` maps the current auto top-up settings to the new ones. It runs under the
    wallet lock, so two concurrent partial updates cannot lose each other's members, and its
    result is validated whole: an enabled auto top-up always has a threshold and an amount.
    """
    now = timezone.now()
    changes: dict = {}
    if name is not _UNSET and name:
        changes["name"] = inputs.check_text(name, field="name", max_length=255)
    if description is not _UNSET and description:
        changes["description"] = inputs.check_text(description, field="description", max_length=inputs.MAX_DESCRIPTION_LENGTH)
    if metadata is not _UNSET:
        changes["metadata"] = inputs.check_metadata(metadata)
    if config is not _UNSET and config is not None:
        changes["config"] = _check_config(config)
    if alert_settings is not _UNSET:
        changes["alert_settings"] = alerts.check_alert_settings(alert_settings)
    with transaction.atomic():
        wallet = postings.lock_wallet(wallet.pk)
        for field, value in changes.items():
            setattr(wallet, field, value)
        if auto_topup is not None:
            _apply_auto_topup(wallet, auto_topup(current_auto_topup(wallet)).checked())
        wallet.updated_at = now
        wallet.updated_by = actor
        wallet.save()
        alerts.record_alert_state(wallet, now=now)
        events.publish_wallet_event(wallet, events.WALLET_UPDATED)
    return wallet


def wallet_freeze(wallet: Wallet, *, reason: str, until: datetime | None = None, actor: str = "") -> Wallet:
    """Freeze an active wallet: top-ups and debits are refused until it is unfrozen.

    ``until`` (optional, in the future) schedules an automatic unfreeze. Raises InvalidOperation
    when the wallet is already frozen or closed.
    """
    reason = inputs.check_text(reason, field="reason", max_length=2000, allow_blank=False)
    now = timezone.now()
    until = inputs.check_future(until, field="until", now=now)
    with transaction.atomic():
        wallet = postings.lock_wallet(wallet.pk)
        if wallet.wallet_status != Wallet.Status.ACTIVE:
            raise InvalidOperation(
                f"Only an active wallet can be frozen; this one is {wallet.wallet_status}",
                details={"wallet_id": wallet.id, "wallet_status": wallet.wallet_status},
            )
        _set_status(wallet, Wallet.Status.FROZEN, frozen_until=until, actor=actor, now=now)
        WalletStatusChange.objects.create(
            wallet=wallet, action=WalletStatusChange.Action.FREEZE, reason=reason, until=until, created_by=actor, created_at=now
        )
    return wallet


def wallet_unfreeze(wallet: Wallet, *, reason: str, actor: str = "") -> Wallet:
    """Return a frozen wallet to active. Raises InvalidOperation when it is not frozen."""
    reason = inputs.check_text(reason, field="reason", max_length=2000, allow_blank=False)
    now = timezone.now()
    with transaction.atomic():
        wallet = postings.lock_wallet(wallet.pk)
        if wallet.wallet_status != Wallet.Status.FROZEN:
            raise InvalidOperation(
                f"Only a frozen wallet can be unfrozen; this one is {wallet.wallet_status}",
                details={"wallet_id": wallet.id, "wallet_status": wallet.wallet_status},
            )
        _set_status(wallet, Wallet.Status.ACTIVE, frozen_until=None, actor=actor, now=now)
        WalletStatusChange.objects.create(
            wallet=wallet, action=WalletStatusChange.Action.UNFREEZE, reason=reason, created_by=actor, created_at=now
        )
    return wallet


def _set_status(wallet: Wallet, status: str, *, frozen_until, actor: str, now: datetime) -> None:
    wallet.wallet_status = status
    wallet.frozen_until = frozen_until
    wallet.updated_at = now
    wallet.updated_by = actor
    wallet.save(update_fields=["wallet_status", "frozen_until", "updated_at", "updated_by"])
    events.publish_wallet_event(wallet, events.WALLET_TERMINATED if status == Wallet.Status.CLOSED else events.WALLET_UPDATED)


def wallet_terminate(wallet: Wallet, *, reason: str = "", actor: str = "") -> LedgerResult:
    """Close a wallet, forfeiting its remaining credits.

    In one transaction: open holds are released, unpaid invoices voided (their pending credits
    fail), lots past their expiry are expired, whatever credit balance remains is
    debited as WALLET_TERMINATION (idempotency key = the wallet id), and the wallet is closed. A
    negative balance stays on the closed wallet. Raises InvalidOperation if already closed.
    """
    reason = inputs.check_text(reason, field="reason", max_length=2000)
    now = timezone.now()
    with transaction.atomic():
        wallet = postings.lock_wallet(wallet.pk)
        if wallet.wallet_status == Wallet.Status.CLOSED:
            raise InvalidOperation("Wallet is already terminated", details={"wallet_id": wallet.id})
        # Open holds are released first, so the termination debit takes the whole balance.
        holds.release_open_holds(wallet, actor=actor, now=now)
        # Credits bought on invoice and not yet paid could only land on the closed wallet: their
        # invoices are voided and the pending credits fail, so nobody is asked to pay for them.
        invoices_void_unpaid(wallet, actor=actor, now=now)
        expire_due_lots(wallet, now=now, actor=actor)
        row = None
        if wallet.credit_balance > 0:
            row = postings.post_debit(
                wallet,
                postings.Posting(
                    credits=wallet.credit_balance,
                    reason=Reason.WALLET_TERMINATION,
                    actor=actor,
                    now=now,
                    idempotency_key=wallet.id,
                    fingerprint=fingerprint("terminate", wallet_id=wallet.id),
                    description="Wallet termination - remaining balance debit",
                    reference_type=WalletTransaction.ReferenceType.REQUEST,
                    reference_id=wallet.id,
                ),
            )
        _set_status(wallet, Wallet.Status.CLOSED, frozen_until=None, actor=actor, now=now)
        WalletStatusChange.objects.create(
            wallet=wallet,
            action=WalletStatusChange.Action.TERMINATE,
            reason=reason or "Terminated",
            created_by=actor,
            created_at=now,
        )
    return LedgerResult(transaction=row, wallet=wallet)
