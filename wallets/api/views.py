"""The /v1 wallet endpoints, as Flexprice's SDK and seed pages call them.

Each view parses its input with a serializer, calls one selector (reads) or one service
(writes), and renders with wallets.api.render. Every lookup is scoped to the API key's
environment, so another environment's id is a plain 404. Every success is a 200.
"""

import contextlib
import dataclasses

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from core import inputs
from core.api.pagination import page_envelope, parse_page
from core.db.replica import replica_reads
from core.exceptions import NotFound, ServiceError, ValidationFailed
from wallets import selectors, services
from wallets.api import render
from wallets.api.serializers import (
    CustomerWalletResponseSerializer,
    CustomerWalletsQuerySerializer,
    TerminateResponseSerializer,
    TopUpResponseSerializer,
    TransactionFilterInputSerializer,
    TransactionSearchInputSerializer,
    WalletBalanceQuerySerializer,
    WalletBalanceResponseSerializer,
    WalletCreateInputSerializer,
    WalletDebitInputSerializer,
    WalletFilterInputSerializer,
    WalletFreezeInputSerializer,
    WalletListResponseSerializer,
    WalletResponseSerializer,
    WalletTopUpInputSerializer,
    WalletTransactionListResponseSerializer,
    WalletUnfreezeInputSerializer,
    WalletUpdateInputSerializer,
)
from wallets.models import TransactionReason, Wallet
from wallets.services import AutoTopUp

TAGS = ["Wallets"]
WALLET_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The wallet's id (wallet_...).")
CUSTOMER_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The customer's id (cust_...).")
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Read when the body carries no idempotency_key.",
)
WALLET_EXPANSIONS = ("credits_available_breakdown",)
TRANSACTION_EXPANSIONS = ("customer", "wallet", "created_by_user")
TERMINATED_MESSAGE = "wallet terminated successfully"


def parse_expand(raw: str | None, allowed: tuple[str, ...]) -> frozenset:
    """A comma list of expansions; anything not in ``allowed`` is a 400."""
    names = frozenset(part.strip() for part in (raw or "").split(",") if part.strip())
    unknown = sorted(names - set(allowed))
    if unknown:
        raise ValidationFailed(
            f"Field is not allowed to be expanded: {unknown[0]}", field="expand", details={"allowed": list(allowed)}
        )
    return names


class _WalletApiView(viewsets.GenericViewSet):
    # The schema generator reads the model behind {id} from here; lookups go through wallets.selectors.
    queryset = Wallet.objects.none()
    # A search is a read sent as POST: read-only keys may run it.
    read_only_actions = ("search",)

    @property
    def environment_id(self) -> str:
        return self.request.auth.environment_id

    @property
    def actor(self) -> str:
        return self.request.auth.id

    def get_object(self) -> Wallet:
        return selectors.wallet_get(environment_id=self.environment_id, wallet_id=self.kwargs["id"])

    def parsed(self, serializer_class, data):
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer

    @contextlib.contextmanager
    def not_found_first(self):
        """For a write given a WalletRef (its lock is its only read): a refused request looks the
        wallet up, so one the environment lacks answers 404 before a bad body's 400, as on every
        wallet route."""
        try:
            yield
        except (ServiceError, APIException):
            self.get_object()
            raise

    def idempotency_key(self, data: dict) -> str | None:
        """The body's key wins; an empty one counts as absent, then the header is read."""
        return data.get("idempotency_key") or self.request.headers.get("Idempotency-Key") or None


# ------------------------------------------------------------------------------------------------
# Settings translation: the seeds' flat forms and PUT's partial auto top-up


def _merge_auto_topup(current: AutoTopUp, wire: dict, *, on_create: bool) -> AutoTopUp:
    """Lay the members present in ``wire`` over ``current``; ``cooldown.value`` 0 clears it on update."""
    changes = {name: wire[name] for name in ("enabled", "threshold", "amount", "invoicing") if wire.get(name) is not None}
    cooldown = wire.get("cooldown")
    if cooldown is not None:
        value, unit = cooldown.get("value"), (cooldown.get("unit") or "").lower()
        if value == 0 and not on_create:
            changes.update(cooldown_value=None, cooldown_unit="")
        else:
            changes.update(cooldown_value=value, cooldown_unit=unit)
    return dataclasses.replace(current, **changes)


_FLAT_AUTO_TOPUP = ("auto_topup_trigger", "auto_topup_min_balance", "auto_topup_amount")


def _create_auto_topup(data: dict) -> AutoTopUp:
    """Seed 004's flat fields mean the same as the nested object; both at once is ambiguous."""
    flat_given = any(data.get(name) is not None for name in _FLAT_AUTO_TOPUP)
    if flat_given and data.get("auto_topup") is not None:
        raise ValidationFailed("Give auto_topup or the flat auto_topup_* fields, not both", field="auto_topup")
    if flat_given:
        wire = {
            "enabled": data.get("auto_topup_trigger") == "balance_below_threshold",
            "threshold": data.get("auto_topup_min_balance"),
            "amount": data.get("auto_topup_amount"),
            "invoicing": False,
        }
    else:
        wire = data.get("auto_topup") or {}
    return _merge_auto_topup(AutoTopUp(), wire, on_create=True)


def _create_alert_settings(data: dict) -> dict | None:
    """Seed 001's ``alert_config`` + ``alert_enabled`` as alert_settings (a critical threshold, below)."""
    settings, config, enabled = data.get("alert_settings"), data.get("alert_config"), data.get("alert_enabled")
    if settings is not None and config is not None:
        raise ValidationFailed("Give alert_settings or alert_config, not both", field="alert_config")
    if config is not None:
        settings = {"critical": {"threshold": config["threshold"]["value"], "condition": "below"}}
    if enabled is not None:
        settings = {**(settings or {}), "alert_enabled": enabled}
    return settings


def _check_customer_ref(data: dict) -> tuple[str | None, str | None]:
    """Flexprice's format rules for the two ways of naming the wallet's customer."""
    customer_id, external_id = data.get("customer_id") or None, data.get("external_customer_id") or None
    if customer_id is None and external_id is None:
        raise ValidationFailed("customer_id or external_customer_id is required", field="customer_id")
    if customer_id is not None:
        if customer_id.startswith("_") or customer_id.endswith("_") or "%" in customer_id or " " in customer_id:
            raise ValidationFailed("invalid customer id", field="customer_id")
        return customer_id, None
    if "%" in external_id or " " in external_id:
        raise ValidationFailed("invalid external customer id", field="external_customer_id")
    return None, external_id


def _initial_credits_expiry(data: dict):
    if data.get("initial_credits_expiry_date_utc") is not None:
        return data["initial_credits_expiry_date_utc"]
    if data.get("initial_credits_to_load_expiry_date") is not None:
        return inputs.date_from_yyyymmdd(data["initial_credits_to_load_expiry_date"], field="initial_credits_to_load_expiry_date")
    return None


# ------------------------------------------------------------------------------------------------
# /v1/wallets


@extend_schema(tags=TAGS)
class WalletViewSet(_WalletApiView):
    def _wallet_page(self, data: dict) -> Response:
        parse_expand(data.get("expand"), WALLET_EXPANSIONS)
        limit, offset = parse_page(data.get("limit"), data.get("offset"))
        wallets = selectors.wallet_list(
            environment_id=self.environment_id,
            wallet_ids=data.get("wallet_ids"),
            wallet_status=data.get("status") or None,
            wallet_type=data.get("wallet_type") or None,
            alert_enabled=data.get("alert_enabled"),
            sort=data.get("sort") or "created_at",
            order=data.get("order") or "desc",
        )
        items = render.wallets_data(wallets[offset : offset + limit])
        return Response(page_envelope(items, total=wallets.count(), limit=limit, offset=offset))

    @extend_schema(
        operation_id="createWallet",
        summary="Create a wallet",
        description="Opens a wallet for a customer of this environment (200, not 201). "
        "Seed 004's flat auto_topup_* fields and seed 001's alert_config/alert_enabled are accepted "
        "as alternatives to auto_topup and alert_settings.",
        request=WalletCreateInputSerializer,
        responses={200: WalletResponseSerializer},
    )
    def create(self, request):
        data = self.parsed(WalletCreateInputSerializer, request.data).validated_data
        customer_id, external_id = _check_customer_ref(data)
        auto_topup = _create_auto_topup(data)
        alert_settings = _create_alert_settings(data)
        if data.get("price_unit"):
            raise NotFound(f"Price unit with code {data['price_unit']} was not found", details={"price_unit": data["price_unit"]})
        customer = selectors.wallet_owner_get(environment_id=self.environment_id, customer_id=customer_id, lookup_key=external_id)
        wallet = services.wallet_create(
            customer,
            currency=data["currency"],
            wallet_type=data.get("wallet_type") or Wallet.Type.PRE_PAID,
            name=data.get("name") or "",
            description=data.get("description") or "",
            metadata=data.get("metadata"),
            conversion_rate=data.get("conversion_rate"),
            topup_conversion_rate=data.get("topup_conversion_rate"),
            config=data.get("config"),
            auto_topup=auto_topup,
            alert_settings=alert_settings,
            initial_credits=data.get("initial_credits_to_load"),
            initial_credits_expiry=_initial_credits_expiry(data),
            actor=self.actor,
        )
        return Response(render.one_wallet_data(wallet))

    @extend_schema(
        operation_id="listWallets",
        summary="List wallets",
        description="Newest first; wallet_ids may repeat.",
        parameters=[WalletFilterInputSerializer],
        responses={200: WalletListResponseSerializer},
    )
    @replica_reads
    def list_wallets(self, request):
        # Not named "list": the schema generator would then document the envelope as an array of it.
        return self._wallet_page(self.parsed(WalletFilterInputSerializer, request.query_params).validated_data)

    @extend_schema(
        operation_id="queryWallet",
        summary="Search wallets",
        description="The body's status is the wallet_status. An empty body lists every wallet.",
        request=WalletFilterInputSerializer,
        responses={200: WalletListResponseSerializer},
    )
    @replica_reads
    def search(self, request):
        return self._wallet_page(self.parsed(WalletFilterInputSerializer, request.data).validated_data)

    @extend_schema(
        operation_id="getWallet",
        summary="Get a wallet",
        parameters=[WALLET_ID],
        responses={200: WalletResponseSerializer},
    )
    def retrieve(self, request, id):
        return Response(render.one_wallet_data(self.get_object()))

    @extend_schema(
        operation_id="updateWallet",
        summary="Update a wallet's settings",
        description="metadata and alert_settings replace; auto_topup merges member by member "
        "(cooldown {value: 0} clears the cooldown); empty name or description leaves them unchanged.",
        parameters=[WALLET_ID],
        request=WalletUpdateInputSerializer,
        responses={200: WalletResponseSerializer},
    )
    def update(self, request, id):
        wallet = self.get_object()
        data = self.parsed(WalletUpdateInputSerializer, request.data).validated_data
        changes = {
            name: data[name]
            for name in ("name", "description", "metadata", "config", "alert_settings")
            if data.get(name) is not None
        }
        auto_topup = None
        if data.get("auto_topup") is not None:
            wire = data["auto_topup"]

            def auto_topup(current: AutoTopUp) -> AutoTopUp:  # merged under the wallet lock
                return _merge_auto_topup(current, wire, on_create=False)

        wallet = services.wallet_update(wallet, auto_topup=auto_topup, actor=self.actor, **changes)
        return Response(render.one_wallet_data(wallet))

    @extend_schema(
        operation_id="topUpWallet",
        summary="Top up a wallet",
        description="Adds credits (credits_to_add, or amount ÷ topup_conversion_rate). The response is the "
        "wallet at the top level (seed 003) plus wallet_transaction and wallet. PURCHASED_CREDIT_INVOICED "
        "writes a pending credit and an invoice (invoice_id); the credit completes when the invoice is paid. "
        "A replay with the same idempotency key and parameters answers 200 with the original transaction; "
        "other parameters, 409. effective_date, bonus_credits_*, force_sync_invoice and coupons are ignored.",
        parameters=[WALLET_ID, IDEMPOTENCY_HEADER],
        request=WalletTopUpInputSerializer,
        responses={200: TopUpResponseSerializer},
    )
    def top_up(self, request, id):
        wallet = selectors.wallet_ref(environment_id=self.environment_id, wallet_id=id)
        with self.not_found_first():
            data = self.parsed(WalletTopUpInputSerializer, request.data).validated_data
            reason = data["transaction_reason"]
            if data.get("checkout") is not None and reason != TransactionReason.PURCHASED_CREDIT_INVOICED:
                raise ValidationFailed("Omit checkout, or set transaction_reason to PURCHASED_CREDIT_INVOICED", field="checkout")
            result = services.wallet_top_up(
                wallet,
                reason=reason,
                credits=data.get("credits_to_add"),
                amount=data.get("amount"),
                expiry_date=data.get("expiry_date_utc"),
                priority=data.get("priority"),
                idempotency_key=self.idempotency_key(data),
                description=data.get("description") or "",
                metadata=data.get("metadata"),
                actor=self.actor,
            )
        wallet_data = render.one_wallet_data(result.wallet)
        body = {**wallet_data, "wallet_transaction": render.transaction_data(result.transaction), "wallet": wallet_data}
        if result.invoice_id:
            body["invoice_id"] = result.invoice_id
        return Response(body)

    @extend_schema(
        operation_id="debitWallet",
        summary="Debit a wallet manually",
        description="MANUAL_BALANCE_DEBIT may take the wallet below zero; idempotency_key is required.",
        parameters=[WALLET_ID, IDEMPOTENCY_HEADER],
        request=WalletDebitInputSerializer,
        responses={200: WalletResponseSerializer},
    )
    def debit(self, request, id):
        wallet = selectors.wallet_ref(environment_id=self.environment_id, wallet_id=id)
        with self.not_found_first():
            data = self.parsed(WalletDebitInputSerializer, request.data).validated_data
            result = services.wallet_debit(
                wallet,
                credits=data["credits"],
                reason=data["transaction_reason"],
                idempotency_key=self.idempotency_key(data),
                description=data.get("description") or "",
                metadata=data.get("metadata"),
                actor=self.actor,
            )
        return Response(render.one_wallet_data(result.wallet))

    @extend_schema(
        operation_id="terminateWallet",
        summary="Terminate a wallet",
        description="Forfeits the remaining credits (WALLET_TERMINATION) and closes the wallet. No body.",
        parameters=[WALLET_ID],
        request=None,
        responses={200: TerminateResponseSerializer},
    )
    def terminate(self, request, id):
        result = services.wallet_terminate(self.get_object(), actor=self.actor)
        return Response({**render.one_wallet_data(result.wallet), "message": TERMINATED_MESSAGE})

    @extend_schema(
        operation_id="freezeWallet",
        summary="Freeze a wallet",
        description="Top-ups and debits are refused until it is unfrozen (or until `until`).",
        parameters=[WALLET_ID],
        request=WalletFreezeInputSerializer,
        responses={200: WalletResponseSerializer},
    )
    def freeze(self, request, id):
        wallet = self.get_object()
        data = self.parsed(WalletFreezeInputSerializer, request.data).validated_data
        wallet = services.wallet_freeze(wallet, reason=data["reason"], until=data.get("until"), actor=self.actor)
        return Response(render.one_wallet_data(wallet))

    @extend_schema(
        operation_id="unfreezeWallet",
        summary="Unfreeze a wallet",
        parameters=[WALLET_ID],
        request=WalletUnfreezeInputSerializer,
        responses={200: WalletResponseSerializer},
    )
    def unfreeze(self, request, id):
        wallet = self.get_object()
        data = self.parsed(WalletUnfreezeInputSerializer, request.data).validated_data
        wallet = services.wallet_unfreeze(wallet, reason=data["reason"], actor=self.actor)
        return Response(render.one_wallet_data(wallet))

    @extend_schema(
        operation_id="getWalletBalance",
        summary="Get a wallet's real-time balance",
        parameters=[WALLET_ID, WalletBalanceQuerySerializer],
        responses={200: WalletBalanceResponseSerializer},
    )
    def real_time_balance(self, request, id):
        wallet = self.get_object()
        parse_expand(
            self.parsed(WalletBalanceQuerySerializer, request.query_params).validated_data.get("expand"), WALLET_EXPANSIONS
        )
        return Response(render.with_real_time_balance(render.one_wallet_data(wallet), wallet))

    @extend_schema(
        operation_id="getWalletBalanceCached",
        summary="Get a wallet's real-time balance (cache-first)",
        description="Balances are cheap to compute here, so this answers exactly as /balance/real-time; "
        "the x-max-live header is accepted and is_cached_fallback is always false.",
        parameters=[WALLET_ID, WalletBalanceQuerySerializer],
        responses={200: WalletBalanceResponseSerializer},
    )
    def real_time_balance_cached(self, request, id):
        return self.real_time_balance(request, id)

    @extend_schema(
        operation_id="getWalletTransactions",
        summary="List a wallet's transactions",
        description="Newest first. The query `id` is ignored: the path names the wallet.",
        parameters=[WALLET_ID, TransactionFilterInputSerializer],
        responses={200: WalletTransactionListResponseSerializer},
    )
    @replica_reads
    def transactions(self, request, id):
        wallet = self.get_object()
        serializer = self.parsed(TransactionFilterInputSerializer, request.query_params)
        expand = parse_expand(serializer.validated_data.get("expand"), TRANSACTION_EXPANSIONS)
        return transaction_page(self.environment_id, serializer.to_query(wallet_id=wallet.id), serializer, expand)


def transaction_page(environment_id: str, query, serializer, expand: frozenset) -> Response:
    limit, offset = parse_page(serializer.validated_data.get("limit"), serializer.validated_data.get("offset"))
    rows = selectors.wallet_transaction_search(environment_id=environment_id, query=query, expand=expand)
    items = render.transactions_data(rows[offset : offset + limit], expand=expand)
    return Response(page_envelope(items, total=rows.count(), limit=limit, offset=offset))


@extend_schema(tags=TAGS)
class WalletTransactionViewSet(_WalletApiView):
    @extend_schema(
        operation_id="queryWalletTransaction",
        summary="Search wallet transactions",
        description="Seed 002. `id` filters by WALLET id; filters/sort use ledger column names; "
        "operator gte means ≥ (upstream ignores it). `?expand=` wins over the body's expand.",
        parameters=[
            OpenApiParameter(
                "expand",
                str,
                OpenApiParameter.QUERY,
                required=False,
                description="Comma list of customer, wallet, created_by_user; wins over the body.",
            )
        ],
        request=TransactionSearchInputSerializer,
        responses={200: WalletTransactionListResponseSerializer},
    )
    @replica_reads
    def search(self, request):
        serializer = self.parsed(TransactionSearchInputSerializer, request.data)
        raw_expand = request.query_params.get("expand")
        if raw_expand is None:
            raw_expand = serializer.validated_data.get("expand")
        expand = parse_expand(raw_expand, TRANSACTION_EXPANSIONS)
        return transaction_page(self.environment_id, serializer.to_query(), serializer, expand)


# ------------------------------------------------------------------------------------------------
# /v1/customers/.../wallets


@extend_schema(tags=TAGS)
class CustomerWalletViewSet(_WalletApiView):
    @extend_schema(
        operation_id="getCustomerWallets",
        summary="Get a customer's active wallets by id or lookup key",
        description="Seed 001: a bare JSON array. Give exactly one of id and lookup_key.",
        parameters=[CustomerWalletsQuerySerializer],
        responses={200: CustomerWalletResponseSerializer(many=True)},
    )
    def by_lookup(self, request):
        data = self.parsed(CustomerWalletsQuerySerializer, request.query_params).validated_data
        customer_id, lookup_key = data.get("id") or None, data.get("lookup_key") or None
        if customer_id is None and lookup_key is None:
            raise ValidationFailed("Please provide either id or lookup_key", field="id")
        if customer_id is not None and lookup_key is not None:
            raise ValidationFailed("Please provide either 'id' or 'lookup_key', but not both.", field="lookup_key")
        parse_expand(data.get("expand"), WALLET_EXPANSIONS)
        wallets = selectors.customer_active_wallets(
            environment_id=self.environment_id, customer_id=customer_id, lookup_key=lookup_key
        )
        items = render.wallets_data(wallets, is_cached_fallback=False)
        if data.get("include_real_time_balance"):
            items = [render.with_real_time_balance(item, wallet) for item, wallet in zip(items, wallets, strict=True)]
        return Response(items)

    @extend_schema(
        operation_id="getWalletsByCustomerId",
        summary="Get a customer's active wallets",
        parameters=[
            CUSTOMER_ID,
            OpenApiParameter("expand", str, OpenApiParameter.QUERY, required=False, description="credits_available_breakdown"),
        ],
        responses={200: WalletResponseSerializer(many=True)},
    )
    def by_customer(self, request, id):
        parse_expand(request.query_params.get("expand"), WALLET_EXPANSIONS)
        wallets = selectors.customer_active_wallets(environment_id=self.environment_id, customer_id=id)
        return Response(render.wallets_data(wallets))
