"""Read-side queries on wallets and their ledger, always scoped to one environment.

Views call these; nothing here writes. Lookups of another environment's rows behave exactly
like lookups of rows that do not exist (NotFound), so an id never reveals that it is taken.

The transaction search compiles Flexprice's filter DSL (``filters`` / ``sort``) against a
whitelist of ledger columns. Every search filters on ``environment_id`` first and orders by
``created_at``, so PostgreSQL can walk one of the ledger's ``(…, created_at)`` indexes: by
wallet, by customer or the whole environment.
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone

from core import rawsql
from core.exceptions import NotFound, ValidationFailed
from customers import selectors as customer_selectors
from customers.models import Customer
from wallets.ledger import money, postings
from wallets.models import CreditAllocation, HoldEarmark, Wallet, WalletHold, WalletTransaction, WalletTransfer

# Ids are at most 50 characters (core.ids); anything longer, or holding characters a database
# string cannot (NUL), cannot name a row, and must not reach the database as a parameter.
MAX_ID_LENGTH = 255


def _usable_id(value: str) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and "\x00" not in value


@functools.cache
def _wallet_sql() -> str:
    return (
        f"SELECT {rawsql.columns(Wallet)}, {postings.expired_holdings_columns()} FROM wallets_wallet"
        " WHERE wallets_wallet.environment_id = %s AND wallets_wallet.id = %s AND wallets_wallet.status = 'published'"
    )


@dataclass(frozen=True)
class WalletRef:
    """A wallet the API names but has not read: the write service's row lock reads it, scoped as wallet_get is.

    One statement and round trip fewer on the hot write path (wallets.services.credits.wallet_top_up).
    """

    id: str
    environment_id: str

    def not_found(self) -> NotFound:
        return NotFound("Wallet not found", details={"wallet_id": self.id})


def wallet_ref(*, environment_id: str, wallet_id: str) -> WalletRef:
    """``wallet_id`` in the environment, unread; NotFound at once for an id no row can have."""
    ref = WalletRef(id=wallet_id, environment_id=environment_id)
    if not _usable_id(wallet_id):
        raise ref.not_found()
    return ref


def wallet_get(*, environment_id: str, wallet_id: str) -> Wallet:
    """The wallet with this id in the environment, whatever its status; NotFound otherwise.

    On every wallet route's path, so written out in SQL (core.rawsql says why); it also reads
    what the breakdown needs (wallets.ledger.postings.read_expired_holdings), so rendering asks nothing more.
    """
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    rows = rawsql.fetch(_wallet_sql(), [at, at, environment_id, wallet_id], model=Wallet) if _usable_id(wallet_id) else []
    if not rows:
        raise NotFound("Wallet not found", details={"wallet_id": wallet_id})
    wallet = rawsql.instance(Wallet, rows[0])
    postings.read_expired_holdings(wallet, rows[0], rawsql.width(Wallet), now=now)
    return wallet


# Wallet list ``sort`` values and the columns they order by.
WALLET_SORT_FIELDS = ("created_at", "updated_at", "credit_balance", "balance", "name", "currency")


def wallet_list(
    *,
    environment_id: str,
    wallet_ids: list[str] | None = None,
    wallet_status: str | None = None,
    wallet_type: str | None = None,
    alert_enabled: bool | None = None,
    sort: str = "created_at",
    order: str = "desc",
) -> QuerySet[Wallet]:
    """The environment's wallets, newest first unless ``sort``/``order`` say otherwise."""
    queryset = Wallet.objects.filter(environment_id=environment_id, status="published")
    if wallet_ids:
        queryset = queryset.filter(pk__in=[i for i in wallet_ids if _usable_id(i)])
    if wallet_status:
        queryset = queryset.filter(wallet_status=wallet_status)
    if wallet_type:
        queryset = queryset.filter(wallet_type=wallet_type)
    if alert_enabled is True:
        queryset = queryset.filter(alert_settings__alert_enabled=True)
    elif alert_enabled is False:
        queryset = queryset.exclude(alert_settings__alert_enabled=True)
    column = F(sort).asc() if order == "asc" else F(sort).desc()
    tiebreak = F("id").asc() if order == "asc" else F("id").desc()
    return queryset.order_by(column, tiebreak)


def wallet_owner_get(*, environment_id: str, customer_id: str | None = None, lookup_key: str | None = None) -> Customer:
    """The live customer whose wallets are asked for, by internal id or by lookup key (external id)."""
    if customer_id is not None:
        if not _usable_id(customer_id):
            raise NotFound(f"Customer with ID {customer_id} was not found", details={"customer_id": customer_id})
        return customer_selectors.customer_get(environment_id=environment_id, customer_id=customer_id)
    if _usable_id(lookup_key):
        try:
            return customer_selectors.customer_get_by_external_id(environment_id=environment_id, external_id=lookup_key)
        except NotFound:
            pass
    # Flexprice's wording for this route names the lookup key.
    raise NotFound(f"Customer with lookup key {lookup_key} was not found", details={"lookup_key": lookup_key})


@functools.cache
def _customer_wallets_sql(column: str) -> str:
    # One row per active wallet; a customer without one still gives a row (all wallet columns NULL).
    return (
        f"SELECT customers_customer.id, {rawsql.columns(Wallet)}, {postings.expired_holdings_columns()}"
        " FROM customers_customer"
        " LEFT JOIN wallets_wallet ON wallets_wallet.customer_id = customers_customer.id"
        " AND wallets_wallet.environment_id = customers_customer.environment_id"
        " AND wallets_wallet.wallet_status = 'active' AND wallets_wallet.status = 'published'"
        f" WHERE customers_customer.environment_id = %s AND customers_customer.{column} = %s"
        " AND customers_customer.status = 'published'"
        " ORDER BY wallets_wallet.created_at, wallets_wallet.id"
    )


def customer_active_wallets(
    *, environment_id: str, customer_id: str | None = None, lookup_key: str | None = None
) -> list[Wallet]:
    """The active wallets of the live customer named by id or lookup key, oldest first.

    Frozen and closed wallets are hidden. NotFound (worded as wallet_owner_get words it) when
    no such customer exists. One query, written out in SQL (core.rawsql says why).
    """
    column, value = ("id", customer_id) if customer_id is not None else ("external_id", lookup_key)
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    rows = rawsql.fetch(_customer_wallets_sql(column), [at, at, environment_id, value], model=Wallet) if _usable_id(value) else []
    if not rows:
        # Raises the route's own NotFound wording.
        wallet_owner_get(environment_id=environment_id, customer_id=customer_id, lookup_key=lookup_key)
    wallets = []
    for row in rows:
        if row[1] is not None:  # None: the customer has no active wallet
            wallet = rawsql.instance(Wallet, row, 1)
            postings.read_expired_holdings(wallet, row, 1 + rawsql.width(Wallet), now=now)
            wallets.append(wallet)
    return wallets


@dataclass(frozen=True)
class CreditsBreakdown:
    purchased: Decimal = money.ZERO
    free: Decimal = money.ZERO


@functools.cache
def _expired_holdings_sql(count: int) -> str:
    placeholders = ", ".join(["%s"] * count)
    reasons = ", ".join(["%s"] * len(postings.PURCHASED_REASONS))  # one parameter per purchased reason
    return (
        "SELECT wallet_id,"
        f" SUM(CASE WHEN transaction_reason IN ({reasons}) THEN credits_available ELSE 0 END),"
        f" SUM(CASE WHEN transaction_reason IN ({reasons}) THEN 0 ELSE credits_available END)"
        f" FROM wallets_wallettransaction WHERE wallet_id IN ({placeholders})"
        " AND type = 'credit' AND transaction_status = 'completed' AND credits_available > 0"
        " AND expiry_date IS NOT NULL AND expiry_date <= %s"
        " GROUP BY wallet_id"
    )


def credits_breakdown(wallets, *, now: datetime | None = None) -> dict[str, CreditsBreakdown]:
    """Spendable credits per wallet, split into purchased (PURCHASED_*) and free (the rest).

    Read from each wallet's own totals: its lots hold max(credit_balance, 0) credits (invariant
    I2 of wallets.ledger.integrity), purchased_credits_available of them purchased. Lots past their
    expiry that the sweep has not reached yet still hold credits a debit cannot spend, so what
    they hold is taken off. A wallet read by wallet_get, customer_active_wallets or
    wallets.ledger.postings.lock_wallet carries that already (as of its reading); for the others, one
    grouped query over the expiring-lots index, whose cost follows those lots, never every
    lot a wallet holds.
    """
    now = now or timezone.now()
    wallets = list(wallets)
    expired = {wallet.id: wallet.expired_holdings for wallet in wallets if hasattr(wallet, "expired_holdings")}
    unknown = [wallet.id for wallet in wallets if wallet.id not in expired]
    if unknown:
        reasons = [str(reason) for reason in postings.PURCHASED_REASONS]
        rows = rawsql.fetch(
            _expired_holdings_sql(len(unknown)),
            [*reasons, *reasons, *unknown, connection.ops.adapt_datetimefield_value(now)],
            model=WalletTransaction,  # read where the wallets were: inside a replica-routed view, the replica
        )
        credits = Wallet._meta.get_field("credit_balance")
        expired |= {row[0]: (rawsql.value(credits, row[1]), rawsql.value(credits, row[2])) for row in rows}
    result = {}
    for wallet in wallets:
        expired_purchased, expired_free = expired.get(wallet.id, (money.ZERO, money.ZERO))
        purchased = wallet.purchased_credits_available
        free = max(money.ZERO, wallet.credit_balance) - purchased
        result[wallet.id] = CreditsBreakdown(purchased=purchased - expired_purchased, free=free - expired_free)
    return result


# ---------------------------------------------------------------------------------------------
# Transaction search


class _Kind:
    TEXT = "text"
    DECIMAL = "decimal"
    INTEGER = "integer"
    TIME = "time"


# Ledger columns a filter or sort may name, by wire name (Flexprice's column names).
# ``metadata`` and ``tenant_id`` are left out: the first is a JSON map no operator fits, the
# second is implied by the API key.
TRANSACTION_FIELDS: dict[str, tuple[str, str]] = {
    "id": ("id", _Kind.TEXT),
    "status": ("status", _Kind.TEXT),
    "environment_id": ("environment_id", _Kind.TEXT),
    "wallet_id": ("wallet_id", _Kind.TEXT),
    "customer_id": ("customer_id", _Kind.TEXT),
    "type": ("type", _Kind.TEXT),
    "transaction_status": ("transaction_status", _Kind.TEXT),
    "transaction_reason": ("transaction_reason", _Kind.TEXT),
    "reference_type": ("reference_type", _Kind.TEXT),
    "reference_id": ("reference_id", _Kind.TEXT),
    "description": ("description", _Kind.TEXT),
    "currency": ("currency", _Kind.TEXT),
    "idempotency_key": ("idempotency_key", _Kind.TEXT),
    "parent_transaction_id": ("parent_transaction_id", _Kind.TEXT),
    "created_by": ("created_by", _Kind.TEXT),
    "updated_by": ("updated_by", _Kind.TEXT),
    "amount": ("amount", _Kind.DECIMAL),
    "credit_amount": ("credit_amount", _Kind.DECIMAL),
    "credit_balance_before": ("credit_balance_before", _Kind.DECIMAL),
    "credit_balance_after": ("credit_balance_after", _Kind.DECIMAL),
    "credits_available": ("credits_available", _Kind.DECIMAL),
    "conversion_rate": ("conversion_rate", _Kind.DECIMAL),
    "topup_conversion_rate": ("topup_conversion_rate", _Kind.DECIMAL),
    "priority": ("priority", _Kind.INTEGER),
    "created_at": ("created_at", _Kind.TIME),
    "updated_at": ("updated_at", _Kind.TIME),
    "expiry_date": ("expiry_date", _Kind.TIME),
}
FILTER_OPERATORS = ("eq", "contains", "not_contains", "gt", "lt", "gte", "in", "not_in", "before", "after")
# Which value member each kind of column compares with.
_VALUE_MEMBER = {_Kind.TEXT: "string", _Kind.DECIMAL: "number", _Kind.INTEGER: "number", _Kind.TIME: "date"}
# Operators each kind of column supports, and the ORM lookup each one becomes. Flexprice lists
# ``gte`` but builds no predicate for it (its filter is silently dropped); here it means ≥. An
# operator/value mismatch, which Flexprice also drops silently, is a 400 here.
_LOOKUPS = {
    _Kind.TEXT: {"eq": "exact", "contains": "icontains", "not_contains": "icontains", "in": "in", "not_in": "in"},
    _Kind.DECIMAL: {"eq": "exact", "gt": "gt", "lt": "lt", "gte": "gte"},
    _Kind.INTEGER: {"eq": "exact", "gt": "gt", "lt": "lt", "gte": "gte"},
    _Kind.TIME: {"eq": "exact", "gt": "gt", "lt": "lt", "gte": "gte", "before": "lt", "after": "gt"},
}
_NEGATED = ("not_contains", "not_in")
MAX_FILTERS = 20


@dataclass(frozen=True)
class FilterCondition:
    """One DSL condition; ``value`` holds the members the caller sent (string, number, date, array...)."""

    field: str
    operator: str
    value: dict


@dataclass(frozen=True)
class SortField:
    field: str
    direction: str = "asc"


@dataclass(frozen=True)
class TransactionQuery:
    """The filters of ``GET /wallets/{id}/transactions`` and ``POST /wallets/transactions/search``."""

    wallet_id: str | None = None
    type: str | None = None
    transaction_status: str | None = None
    transaction_reason: str | None = None
    reference_type: str | None = None
    reference_id: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    expiry_date_before: datetime | None = None
    expiry_date_after: datetime | None = None
    credits_available_gt: Decimal | None = None
    priority: int | None = None
    created_by: str | None = None
    status: str | None = None
    filters: list[FilterCondition] = field(default_factory=list)
    sort: list[SortField] = field(default_factory=list)
    order: str = "desc"

    def checked(self) -> "TransactionQuery":
        """Refuse combinations that can only be mistakes (Flexprice's rules)."""
        if bool(self.reference_type) != bool(self.reference_id):
            raise ValidationFailed("Reference type and reference id must be provided together", field="reference_type")
        if self.start_time and self.end_time and self.end_time < self.start_time:
            raise ValidationFailed("Please provide a valid time range: end_time is before start_time", field="end_time")
        if self.expiry_date_before and self.expiry_date_after and self.expiry_date_before < self.expiry_date_after:
            raise ValidationFailed("Expiry date before must be after expiry date after", field="expiry_date_before")
        if len(self.filters) > MAX_FILTERS:
            raise ValidationFailed(f"At most {MAX_FILTERS} filters are allowed", field="filters")
        return self


def _column(name: str, where: str) -> tuple[str, str]:
    if name not in TRANSACTION_FIELDS:
        raise ValidationFailed(
            f"Unknown field name '{name}' in wallet transaction query",
            field=where,
            details={"allowed": sorted(TRANSACTION_FIELDS)},
        )
    return TRANSACTION_FIELDS[name]


def _filter_q(condition: FilterCondition, index: int) -> Q:
    where = f"filters[{index}]"
    column, kind = _column(condition.field, f"{where}.field")
    lookup = _LOOKUPS[kind].get(condition.operator)
    if lookup is None:
        raise ValidationFailed(
            f"Operator {condition.operator} does not apply to {condition.field}",
            field=f"{where}.operator",
            details={"allowed": list(_LOOKUPS[kind])},
        )
    member = "array" if condition.operator in ("in", "not_in") else _VALUE_MEMBER[kind]
    value = condition.value.get(member)
    if value is None or value == [] or value == "":
        raise ValidationFailed(
            f"{where}.value.{member} is required for {condition.operator} on {condition.field}",
            field=f"{where}.value.{member}",
        )
    if kind == _Kind.DECIMAL:
        value = money.check_threshold(value, field=f"{where}.value.number")
    elif kind == _Kind.INTEGER:
        if value != value.to_integral_value() or abs(value) > 2**31:
            raise ValidationFailed(f"{where}.value.number must be an integer", field=f"{where}.value.number")
        value = int(value)
    q = Q(**{f"{column}__{lookup}": value})
    return ~q if condition.operator in _NEGATED else q


def wallet_transaction_search(*, environment_id: str, query: TransactionQuery, expand: frozenset = frozenset()) -> QuerySet:
    """Ledger rows of the environment matching ``query``, in its order (newest first by default).

    ``expand`` may hold ``customer`` and ``wallet``: those relations are joined in the same
    query, so rendering a page never issues one query per row.
    """
    query.checked()
    rows = WalletTransaction.objects.filter(environment_id=environment_id)
    if query.wallet_id is not None:
        rows = rows.filter(wallet_id=query.wallet_id) if _usable_id(query.wallet_id) else rows.none()
    exact = {
        "type": query.type,
        "transaction_status": query.transaction_status,
        "transaction_reason": query.transaction_reason,
        "reference_type": query.reference_type,
        "reference_id": query.reference_id,
        "priority": query.priority,
        "created_by": query.created_by,
        "status": query.status,
    }
    rows = rows.filter(**{column: value for column, value in exact.items() if value is not None})
    ranges = {
        "created_at__gte": query.start_time,
        "created_at__lte": query.end_time,
        "expiry_date__lte": query.expiry_date_before,
        "expiry_date__gte": query.expiry_date_after,
        "credits_available__gt": query.credits_available_gt,
    }
    rows = rows.filter(**{lookup: value for lookup, value in ranges.items() if value is not None})
    for index, condition in enumerate(query.filters):
        rows = rows.filter(_filter_q(condition, index))
    ordering = []
    for index, item in enumerate(query.sort):
        column, _ = _column(item.field, f"sort[{index}].field")
        ordering.append(F(column).desc(nulls_last=True) if item.direction == "desc" else F(column).asc(nulls_last=True))
    # created_at, then id, last: the order is total, so pages never overlap or skip rows.
    for column in ("created_at", "id"):
        ordering.append(F(column).asc() if query.order == "asc" else F(column).desc())
    related = [name for name in ("customer", "wallet") if name in expand]
    if related:
        rows = rows.select_related(*related)
    return rows.order_by(*ordering)


def wallet_transaction_get(*, environment_id: str, transaction_id: str) -> WalletTransaction:
    """The ledger row with this id in the environment; NotFound otherwise (a void's or refund's lot)."""
    row = (
        WalletTransaction.objects.filter(environment_id=environment_id, pk=transaction_id).first()
        if _usable_id(transaction_id)
        else None
    )
    if row is None:
        raise NotFound("Wallet transaction not found", details={"transaction_id": transaction_id})
    return row


# ---------------------------------------------------------------------------------------------
# Consumption: which lots paid for which debits (the allocation table, wallets.ledger.postings)


@dataclass(frozen=True)
class ConsumedLot:
    """``credits`` of credit lot ``credit_id`` went to a debit.

    ``overdraft_repayment``: written after the debit, when that credit repaid the overdraft a
    MANUAL_BALANCE_DEBIT left (the credit's ledger sequence is after the debit's); the debit's
    own lots come first, in consumption order.
    """

    credit_id: str
    credits: Decimal
    overdraft_repayment: bool


# Every page of the ledger with a debit on it runs this, as does every answer rendering a debit row
# (a void, a refund, a transfer, a transaction by id), so it is written out in SQL (core.rawsql
# says why): compiling the ORM's form, an IN list of the page's ids and a join, cost 1.2 ms of
# CPU for a 50-row page, about a seventh of the whole request. The ids travel as one array, so
# the statement is the same for any page and is prepared once. Ordered by id, the order written:
# a debit's lots in one statement, repayments later. Each lot's sequence is looked up by its key
# (a scalar subquery), never joined: a join may be planned as a merge along the whole ledger's
# primary key, and a prepared statement's generic plan does not know how few ids it is given.
_CONSUMPTION_SQL = (
    "SELECT allocation.debit_id, allocation.credit_id, allocation.credits,"
    " (SELECT lot.sequence FROM wallets_wallettransaction AS lot WHERE lot.id = allocation.credit_id)"
    " FROM wallets_creditallocation AS allocation"
    " WHERE allocation.debit_id = ANY(%s) ORDER BY allocation.id"
)


def consumption_breakdowns(rows: Iterable[WalletTransaction]) -> dict[str, list[ConsumedLot]]:
    """Each debit among ``rows`` (credits are skipped) with the lots that paid for it, in the order
    the ledger wrote them: its lots in consumption order, then any overdraft repayments.

    One query for any number of rows, none when there is no debit among them. A debit whose
    overdraft nothing has repaid yet sums to less than its credit_amount.
    """
    sequences = {row.id: row.sequence for row in rows if row.type == WalletTransaction.Type.DEBIT}
    if not sequences:
        return {}
    found = {debit_id: [] for debit_id in sequences}
    allocations = rawsql.fetch(_CONSUMPTION_SQL, [list(sequences)], model=CreditAllocation)
    for debit_id, credit_id, credits, credit_sequence in allocations:
        found[debit_id].append(ConsumedLot(credit_id, credits, credit_sequence > sequences[debit_id]))
    return found


def transaction_allocations(row: WalletTransaction, *, limit: int) -> list[CreditAllocation]:
    """A debit's allocations (the lots that paid for it, each with its lot), or a credit's (the
    debits it paid for, each with its debit), in the order written; at most ``limit`` of them."""
    if row.type == WalletTransaction.Type.DEBIT:
        allocations = CreditAllocation.objects.filter(debit=row).select_related("credit")
    else:
        allocations = CreditAllocation.objects.filter(credit=row).select_related("debit")
    return list(allocations.order_by("id")[:limit])


# ---------------------------------------------------------------------------------------------
# Transfers (wallets.services.transfers writes them)


@dataclass(frozen=True)
class TransferView:
    """A transfer with its rows, and both wallets' balances as they stood right after it."""

    transfer: WalletTransfer
    debit: WalletTransaction
    credits: list[WalletTransaction]
    from_wallet: Wallet
    to_wallet: Wallet


def _as_of(wallet: Wallet, credit_balance: Decimal) -> Wallet:
    wallet.credit_balance = credit_balance
    wallet.balance = money.credits_to_amount(credit_balance, rate=wallet.conversion_rate)
    return wallet


def transfer_view(transfer: WalletTransfer) -> TransferView:
    """``transfer`` as recorded: what a replay answers and what GET reads back.

    The balances are those the transfer's own rows end at, so the answer is the same however
    often and whenever it is read (an idempotent replay must not show later changes). The
    purchased part of the balance is today's: only the credit balance is recorded per row.
    """
    credits = list(transfer.debit.children.filter(reference_id=transfer.id).order_by("sequence", "id"))
    from_wallet = _as_of(transfer.from_wallet, transfer.debit.credit_balance_after)
    to_wallet = transfer.to_wallet
    if credits:
        to_wallet = _as_of(to_wallet, credits[-1].credit_balance_after)
    return TransferView(transfer=transfer, debit=transfer.debit, credits=credits, from_wallet=from_wallet, to_wallet=to_wallet)


def transfer_get(*, environment_id: str, transfer_id: str) -> TransferView:
    """The transfer with this id in the environment; NotFound otherwise."""
    transfer = (
        WalletTransfer.objects.select_related("debit", "from_wallet", "to_wallet")
        .filter(environment_id=environment_id, pk=transfer_id)
        .first()
        if _usable_id(transfer_id)
        else None
    )
    if transfer is None:
        raise NotFound("Transfer not found", details={"transfer_id": transfer_id})
    return transfer_view(transfer)


def transfer_destinations(wallet: Wallet) -> QuerySet:
    """Where ``wallet``'s credits may go: its customer's other active wallets of the same currency and rate."""
    return (
        Wallet.objects.filter(
            environment_id=wallet.environment_id,
            customer_id=wallet.customer_id,
            currency=wallet.currency,
            conversion_rate=wallet.conversion_rate,
            wallet_status=Wallet.Status.ACTIVE,
        )
        .exclude(pk=wallet.pk)
        .order_by("wallet_type", "pk")
    )


def transaction_transfer(row: WalletTransaction) -> TransferView | None:
    """The transfer a ledger row belongs to (its debit or one of its credits), or None."""
    if row.reference_type != WalletTransaction.ReferenceType.TRANSFER:
        return None
    transfer = (
        WalletTransfer.objects.select_related("debit", "from_wallet", "to_wallet")
        .filter(environment_id=row.environment_id, pk=row.reference_id)
        .first()
    )
    return transfer_view(transfer) if transfer is not None else None


# ---------------------------------------------------------------------------------------------
# Holds (wallets.services.holds writes them)

HOLD_STATUSES = tuple(WalletHold.Status.values)
_EARMARKS = Prefetch("earmarks", queryset=HoldEarmark.objects.order_by("position"))


def hold_get(*, environment_id: str, hold_id: str) -> WalletHold:
    """The hold with this id in the environment, with its earmarks; NotFound otherwise."""
    hold = (
        WalletHold.objects.filter(environment_id=environment_id, pk=hold_id).prefetch_related(_EARMARKS).first()
        if _usable_id(hold_id)
        else None
    )
    if hold is None:
        raise NotFound("Hold not found", details={"hold_id": hold_id})
    return hold


def wallet_holds(*, environment_id: str, wallet_id: str, status: str | None = None) -> QuerySet[WalletHold]:
    """The wallet's holds, newest first, with their earmarks (one more query per page)."""
    holds = WalletHold.objects.filter(environment_id=environment_id, wallet_id=wallet_id)
    if status:
        holds = holds.filter(hold_status=status)
    return holds.prefetch_related(_EARMARKS).order_by("-created_at", "-id")
