"""Wallet and ledger objects as the wire shows them: plain dicts, decimals as strings.

Responses are built here rather than by DRF serializers: a page of 1,000 wallets is rendered
with two queries (the wallets and one grouped breakdown) and no per-field machinery. The
response serializers in wallets.api.serializers document these shapes for OpenAPI; a contract
test checks the two agree.
"""

from collections.abc import Iterable
from datetime import UTC, datetime

from customers.api.serializers import CustomerSerializer
from tenancy.models import ApiKey
from wallets import selectors
from wallets.ledger.money import format_decimal
from wallets.models import Wallet, WalletTransaction

ZERO = "0"
AUTO_TOPUP_DISABLED = "disabled"
AUTO_TOPUP_BELOW_THRESHOLD = "balance_below_threshold"


def timestamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z`` (fractional seconds only when there are some)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _auto_topup(wallet: Wallet) -> dict:
    cooldown = None
    if wallet.auto_topup_cooldown_value:
        cooldown = {"value": wallet.auto_topup_cooldown_value, "unit": wallet.auto_topup_cooldown_unit}
    return {
        "enabled": wallet.auto_topup_enabled,
        "threshold": format_decimal(wallet.auto_topup_threshold),
        "amount": format_decimal(wallet.auto_topup_amount),
        "invoicing": wallet.auto_topup_invoicing,
        "cooldown": cooldown,
    }


def _alert_config(alert_settings: dict | None) -> dict | None:
    """Seed 001's flat form of the critical threshold: ``{"threshold": {"type": "amount", "value"}}``."""
    critical = (alert_settings or {}).get("critical")
    if not critical:
        return None
    return {"threshold": {"type": "amount", "value": critical["threshold"]}}


def wallet_data(wallet: Wallet, breakdown: selectors.CreditsBreakdown) -> dict:
    """The union of seeds 001/004 and the SDK's WalletResponse, nested and flat forms alike."""
    alert_settings = wallet.alert_settings
    return {
        "id": wallet.id,
        "customer_id": wallet.customer_id,
        "currency": wallet.currency,
        "name": wallet.name,
        "description": wallet.description,
        "metadata": wallet.metadata or {},
        "balance": format_decimal(wallet.balance),
        "credit_balance": format_decimal(wallet.credit_balance),
        "held_credits": format_decimal(wallet.held_credits),
        "available_credit_balance": format_decimal(wallet.credit_balance - wallet.held_credits),
        "wallet_status": wallet.wallet_status,
        "wallet_type": wallet.wallet_type,
        "conversion_rate": format_decimal(wallet.conversion_rate),
        "topup_conversion_rate": format_decimal(wallet.topup_conversion_rate),
        "config": wallet.config or {},
        "auto_topup": _auto_topup(wallet),
        "auto_topup_trigger": AUTO_TOPUP_BELOW_THRESHOLD if wallet.auto_topup_enabled else AUTO_TOPUP_DISABLED,
        "auto_topup_min_balance": format_decimal(wallet.auto_topup_threshold),
        "auto_topup_amount": format_decimal(wallet.auto_topup_amount),
        "alert_settings": alert_settings,
        "alert_config": _alert_config(alert_settings),
        "alert_enabled": bool((alert_settings or {}).get("alert_enabled")),
        "alert_state": wallet.alert_state,
        "credits_available_breakdown": {
            "purchased": format_decimal(breakdown.purchased),
            "free": format_decimal(breakdown.free),
        },
        "tenant_id": wallet.tenant_id,
        "environment_id": wallet.environment_id,
        "status": wallet.status,
        "created_at": timestamp(wallet.created_at),
        "updated_at": timestamp(wallet.updated_at),
        "created_by": wallet.created_by,
        "updated_by": wallet.updated_by,
    }


def wallets_data(wallets: Iterable[Wallet], **extra) -> list[dict]:
    """Many wallets with one grouped breakdown query; ``extra`` keys are added to each item."""
    wallets = list(wallets)
    breakdowns = selectors.credits_breakdown(wallets)
    return [{**wallet_data(wallet, breakdowns[wallet.id]), **extra} for wallet in wallets]


def one_wallet_data(wallet: Wallet) -> dict:
    return wallet_data(wallet, selectors.credits_breakdown([wallet])[wallet.id])


def with_real_time_balance(data: dict, wallet: Wallet) -> dict:
    """Add the real-time fields (contract §6): no usage engine, so an active wallet's real-time
    balance is its balance; a frozen or closed wallet has nothing spendable in real time."""
    active = wallet.is_active
    return {
        **data,
        "real_time_balance": format_decimal(wallet.balance) if active else ZERO,
        "real_time_credit_balance": format_decimal(wallet.credit_balance) if active else ZERO,
        "balance_updated_at": timestamp(wallet.updated_at),
        "current_period_usage": ZERO,
        "unpaid_invoices_amount": ZERO,
        "is_cached_fallback": False,
    }


def _created_by_user(actor: str, keys: dict[str, ApiKey]) -> dict | None:
    """Who wrote a row: an API key of this environment, or the system (workers, admin)."""
    if not actor:
        return None
    key = keys.get(actor)
    if key is None:
        return {"id": actor, "name": actor, "type": "system"}
    return {"id": key.id, "name": key.name, "type": "api_key"}


def _consumed_data(consumed: selectors.ConsumedLot) -> dict:
    return {
        "credit_transaction_id": consumed.credit_id,
        "credits": format_decimal(consumed.credits),
        "overdraft_repayment": consumed.overdraft_repayment,
    }


def transaction_data(row: WalletTransaction, *, breakdowns: dict[str, list] | None = None) -> dict:
    """The SDK's WalletTransactionResponse (upstream §2.15), without expansions.

    A debit carries ``consumption_breakdown``, the lots that paid for it (selectors.consumption_breakdowns),
    read from ``breakdowns`` when the caller read a page's at once, else with one query here. A credit
    has none, so it omits the field, as upstream omits the response's extras it has no value for.
    """
    data = {
        "id": row.id,
        "wallet_id": row.wallet_id,
        "customer_id": row.customer_id,
        "type": row.type,
        "amount": format_decimal(row.amount),
        "credit_amount": format_decimal(row.credit_amount),
        "credit_balance_before": format_decimal(row.credit_balance_before),
        "credit_balance_after": format_decimal(row.credit_balance_after),
        "credits_available": format_decimal(row.credits_available),
        "transaction_status": row.transaction_status,
        "transaction_reason": row.transaction_reason,
        "reference_type": row.reference_type,
        "reference_id": row.reference_id,
        "description": row.description,
        "metadata": row.metadata or {},
        "expiry_date": timestamp(row.expiry_date),
        "priority": row.priority,
        "currency": row.currency,
        "conversion_rate": format_decimal(row.conversion_rate),
        "topup_conversion_rate": format_decimal(row.topup_conversion_rate),
        "idempotency_key": row.idempotency_key,
        "parent_transaction_id": row.parent_transaction_id,
        "tenant_id": row.tenant_id,
        "environment_id": row.environment_id,
        "status": row.status,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
        "created_by": row.created_by,
        "updated_by": row.updated_by,
    }
    if row.type == WalletTransaction.Type.DEBIT:
        if breakdowns is None:
            breakdowns = selectors.consumption_breakdowns([row])
        data["consumption_breakdown"] = [_consumed_data(consumed) for consumed in breakdowns[row.id]]
    return data


def transactions_data(rows: Iterable[WalletTransaction], *, expand: frozenset = frozenset()) -> list[dict]:
    """A page of ledger rows with the requested expansions, in a constant number of queries.

    ``customer`` and ``wallet`` come joined from the selector; the wallets' breakdowns take one
    grouped query and the API keys behind ``created_by_user`` one more. The debits' consumption
    breakdowns take one query for the page (none when it holds no debit).
    """
    rows = list(rows)
    consumption = selectors.consumption_breakdowns(rows)
    customers, wallets = {}, {}
    if "customer" in expand:
        # Each customer once, however many of its rows are on the page.
        unique = {row.customer_id: row.customer for row in rows}
        customers = dict(zip(unique, CustomerSerializer(list(unique.values()), many=True).data, strict=True))
    if "wallet" in expand:
        unique = {row.wallet_id: row.wallet for row in rows}
        breakdowns = selectors.credits_breakdown(unique.values())
        wallets = {wallet_id: wallet_data(wallet, breakdowns[wallet_id]) for wallet_id, wallet in unique.items()}
    keys = {}
    if "created_by_user" in expand:
        actors = {row.created_by for row in rows if row.created_by}
        environments = {row.environment_id for row in rows}
        keys = {key.id: key for key in ApiKey.objects.filter(pk__in=actors, environment_id__in=environments)}
    items = []
    for row in rows:
        item = transaction_data(row, breakdowns=consumption)
        if "customer" in expand:
            item["customer"] = customers[row.customer_id]
        if "wallet" in expand:
            item["wallet"] = wallets[row.wallet_id]
        if "created_by_user" in expand:
            item["created_by_user"] = _created_by_user(row.created_by, keys)
        items.append(item)
    return items
