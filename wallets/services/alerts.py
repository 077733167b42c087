"""Balance alert settings: their validation and the alert state a balance falls in.

After every balance change ``record_alert_state`` runs (wallets.services.after_posting): a change of state is logged
once (AlertLog) and becomes a webhook (dropped on entering ``in_alarm``, recovered on returning
to ``ok``). Settings are ``{"alert_enabled": bool, "critical"|"warning"|"info": {"threshold", "condition"}}``
with ``condition`` ``below`` or ``above``; thresholds are compared inclusively.
"""

from datetime import datetime
from decimal import Decimal
from itertools import pairwise

from core.exceptions import ValidationFailed
from wallets.ledger import money
from wallets.models import AlertLog, Wallet, WalletTransaction
from wallets.services import events

LEVELS = ("critical", "warning", "info")
CONDITIONS = ("below", "above")


def check_alert_settings(value) -> dict | None:
    """Validate and normalise alert settings; thresholds are stored as decimal strings."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationFailed("alert_settings must be an object", field="alert_settings")
    enabled = value.get("alert_enabled", False)
    if enabled is None:
        enabled = False
    if not isinstance(enabled, bool):
        raise ValidationFailed("alert_settings.alert_enabled must be a boolean", field="alert_settings.alert_enabled")
    normalised: dict = {"alert_enabled": enabled}
    levels: dict[str, tuple[Decimal, str]] = {}
    for level in LEVELS:
        item = value.get(level)
        if item is None:
            normalised[level] = None
            continue
        field = f"alert_settings.{level}"
        if not isinstance(item, dict):
            raise ValidationFailed(f"{field} must be an object", field=field)
        threshold = money.check_threshold(
            money.parse_decimal(item.get("threshold"), field=f"{field}.threshold"), field=f"{field}.threshold"
        )
        condition = item.get("condition") or "below"
        if condition not in CONDITIONS:
            raise ValidationFailed(f"{field}.condition must be below or above", field=f"{field}.condition")
        levels[level] = (threshold, condition)
        normalised[level] = {"threshold": money.format_decimal(threshold), "condition": condition}
    if enabled and not levels:
        raise ValidationFailed("alert_settings needs at least one threshold when alerts are enabled", field="alert_settings")
    _check_levels_ordered(levels)
    return normalised


def _check_levels_ordered(levels: dict[str, tuple[Decimal, str]]) -> None:
    conditions = {condition for _, condition in levels.values()}
    if len(conditions) > 1:
        raise ValidationFailed("All alert thresholds must share one condition", field="alert_settings")
    if "warning" in levels and "critical" not in levels:
        raise ValidationFailed("A warning threshold needs a critical threshold", field="alert_settings.warning")
    ordered = [levels[level][0] for level in LEVELS if level in levels]
    condition = next(iter(conditions), "below")
    # below: critical ≤ warning ≤ info; above: critical ≥ warning ≥ info
    if any((a > b) if condition == "below" else (a < b) for a, b in pairwise(ordered)):
        raise ValidationFailed(
            "Alert thresholds must be ordered critical, warning, info in the direction of the condition",
            field="alert_settings",
        )


def alert_state_for(credit_balance: Decimal, settings: dict | None) -> str:
    """The state ``credit_balance`` falls in; ``ok`` when alerts are off or unset."""
    if not settings or not settings.get("alert_enabled"):
        return Wallet.AlertState.OK
    states = {"critical": Wallet.AlertState.IN_ALARM, "warning": Wallet.AlertState.WARNING, "info": Wallet.AlertState.INFO}
    for level in LEVELS:
        item = settings.get(level)
        if not item:
            continue
        threshold = Decimal(item["threshold"])
        crossed = credit_balance <= threshold if item["condition"] == "below" else credit_balance >= threshold
        if crossed:
            return states[level]
    return Wallet.AlertState.OK


def record_alert_state(wallet: Wallet, *, now: datetime, row: WalletTransaction | None = None) -> None:
    """Bring ``wallet.alert_state`` up to date; log and announce a change (caller holds the lock)."""
    state = alert_state_for(wallet.credit_balance, wallet.alert_settings)
    previous = wallet.alert_state
    if state == previous:
        return
    wallet.alert_state = state
    Wallet.objects.filter(pk=wallet.pk).update(alert_state=state)
    AlertLog.objects.create(
        wallet=wallet, previous_state=previous, state=state, credit_balance=wallet.credit_balance, transaction=row, created_at=now
    )
    if state == Wallet.AlertState.IN_ALARM:
        events.publish_wallet_event(wallet, events.CREDIT_BALANCE_DROPPED)
    elif state == Wallet.AlertState.OK:
        events.publish_wallet_event(wallet, events.CREDIT_BALANCE_RECOVERED)
