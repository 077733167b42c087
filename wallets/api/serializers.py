"""Wire shapes of the /v1 wallet routes.

Request serializers (``*InputSerializer``, ``*QuerySerializer``) check the shape of bodies and
query strings: JSON types, enums, lengths. Ranges and business rules (positive credits, future
expiry, alert threshold order) are the services' checks, so the API and the admin agree.

Response serializers (``*ResponseSerializer``) only document what wallets.api.render builds;
they are never used to render, and a contract test keeps the two in step.
"""

from rest_framework import serializers

from core import inputs
from core.api.fields import QuerySerializer, StrictCharField, StrictDateTimeField, StrictIntegerField
from core.api.pagination import MAX_LIMIT, MAX_OFFSET
from core.api.schema import list_envelope
from core.api.serializers import InputSerializer
from customers.api.serializers import CustomerSerializer
from wallets.api.fields import AnyObjectField, DecimalString, MetadataField, StrictBooleanField, WireDecimalField
from wallets.ledger.idempotency import MAX_KEY_LENGTH
from wallets.models import TransactionReason, Wallet, WalletTransaction
from wallets.selectors import (
    FILTER_OPERATORS,
    TRANSACTION_FIELDS,
    WALLET_SORT_FIELDS,
    FilterCondition,
    SortField,
    TransactionQuery,
)
from wallets.services import TOP_UP_REASONS, alerts

ORDERS = ["asc", "desc"]
PRICE_TYPES = ["ALL", "USAGE", "FIXED"]
# Flexprice's code spells cooldown units in lower case, its design doc in upper case.
COOLDOWN_UNITS = Wallet.CooldownUnit.values + [unit.upper() for unit in Wallet.CooldownUnit.values]
ENTITY_STATUSES = ["published", "deleted", "archived"]
AUTO_TOPUP_TRIGGERS = ["disabled", "balance_below_threshold"]
MAX_NAME_LENGTH = 255
MAX_IDS = 1000


def _optional(field_class, **kwargs):
    """An optional body member where JSON ``null`` means the same as leaving it out."""
    return field_class(required=False, allow_null=True, **kwargs)


# --------------------------------------------------------------------------------------------
# Requests


class CooldownInputSerializer(serializers.Serializer):
    value = StrictIntegerField(min_value=0, max_value=10**6, help_text="On update, 0 clears the cooldown.")
    unit = serializers.ChoiceField(choices=COOLDOWN_UNITS, required=False)


class AutoTopUpInputSerializer(serializers.Serializer):
    """Auto top-up settings; ``threshold`` and ``amount`` are credits. On update, only the members sent change."""

    enabled = _optional(StrictBooleanField)
    threshold = _optional(WireDecimalField, help_text="Top up when the credit balance is at or below this.")
    amount = _optional(WireDecimalField, help_text="Credits to add each time.")
    invoicing = _optional(StrictBooleanField)
    cooldown = CooldownInputSerializer(required=False, allow_null=True)


class AlertThresholdInputSerializer(serializers.Serializer):
    threshold = WireDecimalField()
    condition = serializers.ChoiceField(choices=alerts.CONDITIONS, required=False, help_text="Default below.")


class AlertSettingsInputSerializer(serializers.Serializer):
    alert_enabled = _optional(StrictBooleanField)
    alert_threshold_type = serializers.ChoiceField(
        choices=["absolute"], required=False, help_text="Thresholds are absolute credit balances."
    )
    critical = AlertThresholdInputSerializer(required=False, allow_null=True)
    warning = AlertThresholdInputSerializer(required=False, allow_null=True)
    info = AlertThresholdInputSerializer(required=False, allow_null=True)


class AlertConfigThresholdInputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["amount"])
    value = WireDecimalField()


class AlertConfigInputSerializer(serializers.Serializer):
    """Seed 001's form of a critical threshold (condition below)."""

    threshold = AlertConfigThresholdInputSerializer()


class WalletConfigSerializer(serializers.Serializer):
    allowed_price_types = serializers.ListField(child=serializers.ChoiceField(choices=PRICE_TYPES), max_length=3)


class WalletCreateInputSerializer(serializers.Serializer):
    """Seed 004 and Flexprice's CreateWalletRequest; give ``customer_id`` or ``external_customer_id``."""

    customer_id = _optional(StrictCharField, allow_blank=True, max_length=50)
    external_customer_id = _optional(StrictCharField, allow_blank=True, max_length=255)
    currency = StrictCharField(min_length=3, max_length=3, help_text="Three letters; stored lower-case.")
    wallet_type = _optional(serializers.ChoiceField, choices=Wallet.Type.choices, help_text="Default PRE_PAID.")
    name = _optional(StrictCharField, allow_blank=True, max_length=MAX_NAME_LENGTH)
    description = _optional(StrictCharField, allow_blank=True, max_length=inputs.MAX_DESCRIPTION_LENGTH)
    metadata = _optional(MetadataField)
    conversion_rate = _optional(WireDecimalField, help_text="Currency value of one credit; default 1 (0 means 1).")
    topup_conversion_rate = _optional(WireDecimalField, help_text="Price of one credit on top-up; default conversion_rate.")
    initial_credits_to_load = _optional(WireDecimalField, help_text="Free credits granted at creation (≤ 0: none).")
    initial_credits_to_load_expiry_date = _optional(
        StrictIntegerField, help_text="Expiry of the initial credits as the integer YYYYMMDD (00:00 UTC)."
    )
    initial_credits_expiry_date_utc = _optional(StrictDateTimeField, help_text="Wins over the integer form.")
    config = _optional(WalletConfigSerializer)
    auto_topup = _optional(AutoTopUpInputSerializer)
    auto_topup_trigger = _optional(serializers.ChoiceField, choices=AUTO_TOPUP_TRIGGERS)
    auto_topup_min_balance = _optional(WireDecimalField, help_text="Flat form of auto_topup.threshold.")
    auto_topup_amount = _optional(WireDecimalField, help_text="Flat form of auto_topup.amount.")
    alert_settings = _optional(AlertSettingsInputSerializer)
    alert_config = _optional(AlertConfigInputSerializer)
    alert_enabled = _optional(StrictBooleanField)
    price_unit = _optional(StrictCharField, max_length=255, help_text="No price units exist here: any code is a 404.")

    class Meta:
        ref_name = "CreateWallet"


class WalletUpdateInputSerializer(serializers.Serializer):
    name = _optional(StrictCharField, allow_blank=True, max_length=MAX_NAME_LENGTH, help_text="Empty: unchanged.")
    description = _optional(
        StrictCharField, allow_blank=True, max_length=inputs.MAX_DESCRIPTION_LENGTH, help_text="Empty: unchanged."
    )
    metadata = _optional(MetadataField, help_text="Replaces the whole map.")
    auto_topup = _optional(AutoTopUpInputSerializer, help_text="Merged member by member onto the current settings.")
    config = _optional(WalletConfigSerializer)
    alert_settings = _optional(AlertSettingsInputSerializer, help_text="Replaces the whole object.")

    class Meta:
        ref_name = "UpdateWallet"


class _IdempotentInputSerializer(InputSerializer):
    idempotency_key = _optional(
        StrictCharField,
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_KEY_LENGTH,
        help_text="Same key and parameters replay the first result; other parameters are a 409. "
        "An Idempotency-Key header is read when the body has none.",
    )
    description = _optional(StrictCharField, allow_blank=True, trim_whitespace=False, max_length=inputs.MAX_DESCRIPTION_LENGTH)
    metadata = _optional(MetadataField)


class WalletTopUpInputSerializer(_IdempotentInputSerializer):
    """Seed 003 and Flexprice's TopUpWalletRequest. ``effective_date``, ``bonus_credits_*``,
    ``force_sync_invoice`` and ``coupons`` are accepted and ignored."""

    credits_to_add = _optional(WireDecimalField, help_text="Credits to add; when non-zero it wins over amount.")
    amount = _optional(WireDecimalField, help_text="Currency to convert at topup_conversion_rate.")
    transaction_reason = serializers.ChoiceField(choices=[str(reason) for reason in TOP_UP_REASONS])
    expiry_date_utc = _optional(StrictDateTimeField, help_text="The credits are spendable strictly before this.")
    priority = _optional(StrictIntegerField, min_value=0, max_value=inputs.MAX_PRIORITY, help_text="Lower is spent first.")
    checkout = _optional(
        AnyObjectField,
        help_text="Only with PURCHASED_CREDIT_INVOICED, and then ignored: no payment provider is connected, "
        "so the purchase is invoiced and no checkout session is created.",
    )

    class Meta:
        ref_name = "TopUpWallet"


# What a caller may debit with through the API (the service also takes the system's reasons).
API_DEBIT_REASONS = [TransactionReason.MANUAL_BALANCE_DEBIT.value]


class WalletDebitInputSerializer(_IdempotentInputSerializer):
    credits = WireDecimalField()
    transaction_reason = serializers.ChoiceField(choices=API_DEBIT_REASONS)

    class Meta:
        ref_name = "DebitWallet"


class WalletFreezeInputSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=2000)
    until = _optional(StrictDateTimeField, help_text="Unfreeze automatically at this time.")

    class Meta:
        ref_name = "FreezeWallet"


class WalletUnfreezeInputSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=2000)

    class Meta:
        ref_name = "UnfreezeWallet"


class _PageInputSerializer(QuerySerializer):
    limit = _optional(StrictIntegerField, min_value=0, max_value=MAX_LIMIT, help_text="1..1000; absent or 0 means 50.")
    offset = _optional(StrictIntegerField, min_value=0, max_value=MAX_OFFSET)
    order = _optional(serializers.ChoiceField, choices=ORDERS, allow_blank=True, help_text="Default desc.")


class WalletFilterInputSerializer(_PageInputSerializer):
    """The query string of GET /v1/wallets and the body of POST /v1/wallets/search."""

    wallet_ids = serializers.ListField(child=StrictCharField(max_length=255), required=False, max_length=MAX_IDS)
    status = _optional(serializers.ChoiceField, choices=Wallet.Status.choices, allow_blank=True, help_text="The wallet_status.")
    wallet_type = _optional(serializers.ChoiceField, choices=Wallet.Type.choices, allow_blank=True)
    alert_enabled = _optional(StrictBooleanField, help_text="Whether the wallet's balance alerts are on.")
    sort = _optional(serializers.ChoiceField, choices=WALLET_SORT_FIELDS, allow_blank=True, help_text="Default created_at.")
    expand = _optional(StrictCharField, allow_blank=True, max_length=200, help_text="credits_available_breakdown")

    class Meta:
        ref_name = "WalletFilter"


class _FilterValueInputSerializer(serializers.Serializer):
    string = _optional(StrictCharField, allow_blank=True, trim_whitespace=False, max_length=1000)
    number = _optional(WireDecimalField)
    boolean = _optional(StrictBooleanField)
    date = _optional(StrictDateTimeField)
    array = serializers.ListField(
        child=StrictCharField(max_length=255, trim_whitespace=False), required=False, allow_null=True, max_length=MAX_IDS
    )

    class Meta:
        ref_name = "WalletTransactionFilterValue"


def _transaction_column() -> serializers.ChoiceField:
    """A ledger column name, as filters and sorts name them (Flexprice's column names)."""
    return serializers.ChoiceField(
        choices=sorted(TRANSACTION_FIELDS),
        error_messages={"invalid_choice": "Unknown field name '{input}' in wallet transaction query"},
    )


class _FilterConditionInputSerializer(serializers.Serializer):
    field = _transaction_column()
    operator = serializers.ChoiceField(choices=FILTER_OPERATORS)
    data_type = _optional(serializers.ChoiceField, choices=["string", "number", "boolean", "date", "array"])
    value = _FilterValueInputSerializer()

    class Meta:
        ref_name = "WalletTransactionFilterCondition"


class _SortInputSerializer(serializers.Serializer):
    field = _transaction_column()
    direction = serializers.ChoiceField(choices=ORDERS, default="asc")

    class Meta:
        ref_name = "WalletTransactionSort"


class TransactionFilterInputSerializer(_PageInputSerializer):
    """The query string of GET /v1/wallets/{id}/transactions (upstream §2.13)."""

    id = _optional(
        StrictCharField,
        allow_blank=True,
        max_length=255,
        help_text="A WALLET id filter (Flexprice's name). On /wallets/{id}/transactions the path id wins.",
    )
    type = _optional(serializers.ChoiceField, choices=WalletTransaction.Type.choices, allow_blank=True)
    transaction_status = _optional(serializers.ChoiceField, choices=WalletTransaction.Status.choices, allow_blank=True)
    transaction_reason = _optional(serializers.ChoiceField, choices=TransactionReason.choices, allow_blank=True)
    reference_type = _optional(StrictCharField, allow_blank=True, max_length=20, help_text="Only with reference_id.")
    reference_id = _optional(StrictCharField, allow_blank=True, max_length=255, help_text="Only with reference_type.")
    start_time = _optional(StrictDateTimeField, help_text="created_at ≥ start_time")
    end_time = _optional(StrictDateTimeField, help_text="created_at ≤ end_time")
    expiry_date_before = _optional(StrictDateTimeField, help_text="expiry_date ≤ this")
    expiry_date_after = _optional(StrictDateTimeField, help_text="expiry_date ≥ this")
    credits_available_gt = _optional(WireDecimalField, help_text="credits_available > this (strictly)")
    priority = _optional(StrictIntegerField, min_value=0, max_value=inputs.MAX_PRIORITY)
    created_by = _optional(StrictCharField, allow_blank=True, max_length=100, help_text="The API key id that wrote the row.")
    status = _optional(serializers.ChoiceField, choices=ENTITY_STATUSES, allow_blank=True)
    expand = _optional(
        StrictCharField, allow_blank=True, max_length=200, help_text="Comma list of customer, wallet, created_by_user."
    )

    class Meta:
        ref_name = "WalletTransactionQuery"

    def to_query(self, *, wallet_id: str | None = None) -> TransactionQuery:
        data = {key: value for key, value in self.validated_data.items() if value not in (None, "")}
        return TransactionQuery(
            wallet_id=wallet_id if wallet_id is not None else data.get("id"),
            type=data.get("type"),
            transaction_status=data.get("transaction_status"),
            transaction_reason=data.get("transaction_reason"),
            reference_type=data.get("reference_type"),
            reference_id=data.get("reference_id"),
            start_time=data.get("start_time"),
            end_time=data.get("end_time"),
            expiry_date_before=data.get("expiry_date_before"),
            expiry_date_after=data.get("expiry_date_after"),
            credits_available_gt=data.get("credits_available_gt"),
            priority=data.get("priority"),
            created_by=data.get("created_by"),
            status=data.get("status"),
            filters=[
                FilterCondition(
                    field=item["field"],
                    operator=item["operator"],
                    value={member: value for member, value in item["value"].items() if value is not None},
                )
                for item in data.get("filters", [])
            ],
            sort=[SortField(field=item["field"], direction=item["direction"]) for item in data.get("sort", [])],
            order=data.get("order", "desc"),
        )


class TransactionSearchInputSerializer(TransactionFilterInputSerializer):
    """The body of POST /v1/wallets/transactions/search (seed 002, upstream §2.14)."""

    filters = _FilterConditionInputSerializer(many=True, required=False, max_length=20)
    sort = _SortInputSerializer(many=True, required=False, max_length=10)

    class Meta:
        ref_name = "WalletTransactionFilter"


class CustomerWalletsQuerySerializer(QuerySerializer):
    id = _optional(StrictCharField, allow_blank=True, max_length=255, help_text="The customer's id; or give lookup_key.")
    lookup_key = _optional(StrictCharField, allow_blank=True, max_length=255, help_text="The customer's external_id.")
    include_real_time_balance = _optional(StrictBooleanField)
    from_cache = _optional(StrictBooleanField, help_text="Accepted; balances are always computed live here.")
    expand = _optional(StrictCharField, allow_blank=True, max_length=200, help_text="credits_available_breakdown")


class WalletBalanceQuerySerializer(QuerySerializer):
    expand = _optional(StrictCharField, allow_blank=True, max_length=200, help_text="credits_available_breakdown")
    from_cache = _optional(StrictBooleanField, help_text="Accepted; balances are always computed live here.")


# --------------------------------------------------------------------------------------------
# Responses (documentation only: wallets.api.render builds the bodies)


class CooldownResponseSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    unit = serializers.ChoiceField(choices=Wallet.CooldownUnit.choices)

    class Meta:
        ref_name = "AutoTopUpCooldown"


class AutoTopUpResponseSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    threshold = DecimalString(allow_null=True)
    amount = DecimalString(allow_null=True)
    invoicing = serializers.BooleanField()
    cooldown = CooldownResponseSerializer(allow_null=True)

    class Meta:
        ref_name = "AutoTopUp"


class AlertThresholdResponseSerializer(serializers.Serializer):
    threshold = DecimalString()
    condition = serializers.ChoiceField(choices=alerts.CONDITIONS)

    class Meta:
        ref_name = "AlertThreshold"


class AlertSettingsResponseSerializer(serializers.Serializer):
    alert_enabled = serializers.BooleanField()
    critical = AlertThresholdResponseSerializer(allow_null=True)
    warning = AlertThresholdResponseSerializer(allow_null=True)
    info = AlertThresholdResponseSerializer(allow_null=True)

    class Meta:
        ref_name = "AlertSettings"


class AlertConfigThresholdResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["amount"])
    value = DecimalString()

    class Meta:
        ref_name = "AlertConfigThreshold"


class AlertConfigResponseSerializer(serializers.Serializer):
    threshold = AlertConfigThresholdResponseSerializer()

    class Meta:
        ref_name = "AlertConfig"


class CreditsBreakdownResponseSerializer(serializers.Serializer):
    purchased = DecimalString(help_text="Spendable credits from PURCHASED_* top-ups.")
    free = DecimalString(help_text="Spendable credits from every other kind of credit.")

    class Meta:
        ref_name = "CreditsAvailableBreakdown"


class WalletResponseSerializer(serializers.Serializer):
    """A wallet: seeds 001/004 and the SDK's WalletResponse, with both the nested and flat settings."""

    id = serializers.CharField()
    customer_id = serializers.CharField()
    currency = serializers.CharField(help_text="Lower-case ISO 4217 code.")
    name = serializers.CharField()
    description = serializers.CharField()
    metadata = serializers.DictField(child=serializers.CharField())
    balance = DecimalString(help_text="credit_balance × conversion_rate, in the wallet's currency.")
    credit_balance = DecimalString(help_text="Credits held; negative only after a manual overdraft.")
    held_credits = DecimalString(help_text="Credits reserved by open holds (part of credit_balance).")
    available_credit_balance = DecimalString(help_text="credit_balance − held_credits: what a debit or a new hold may take.")
    wallet_status = serializers.ChoiceField(choices=Wallet.Status.choices)
    wallet_type = serializers.ChoiceField(choices=Wallet.Type.choices)
    conversion_rate = DecimalString()
    topup_conversion_rate = DecimalString()
    config = WalletConfigSerializer()
    auto_topup = AutoTopUpResponseSerializer()
    auto_topup_trigger = serializers.ChoiceField(choices=AUTO_TOPUP_TRIGGERS)
    auto_topup_min_balance = DecimalString(allow_null=True)
    auto_topup_amount = DecimalString(allow_null=True)
    alert_settings = AlertSettingsResponseSerializer(allow_null=True)
    alert_config = AlertConfigResponseSerializer(allow_null=True)
    alert_enabled = serializers.BooleanField()
    alert_state = serializers.ChoiceField(choices=Wallet.AlertState.choices)
    credits_available_breakdown = CreditsBreakdownResponseSerializer()
    tenant_id = serializers.CharField()
    environment_id = serializers.CharField()
    status = serializers.ChoiceField(choices=ENTITY_STATUSES)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    updated_by = serializers.CharField()

    class Meta:
        ref_name = "WalletResponse"


class WalletBalanceResponseSerializer(WalletResponseSerializer):
    """A wallet with its real-time balance (no usage engine: an active wallet's real-time balance is its balance)."""

    real_time_balance = DecimalString(help_text="0 for a frozen or closed wallet.")
    real_time_credit_balance = DecimalString(help_text="0 for a frozen or closed wallet.")
    balance_updated_at = serializers.DateTimeField()
    current_period_usage = DecimalString()
    unpaid_invoices_amount = DecimalString()
    is_cached_fallback = serializers.BooleanField()

    class Meta:
        ref_name = "WalletBalanceResponse"


class CustomerWalletResponseSerializer(WalletResponseSerializer):
    """An item of GET /v1/customers/wallets: real-time fields only with include_real_time_balance=true."""

    real_time_balance = DecimalString(required=False)
    real_time_credit_balance = DecimalString(required=False)
    balance_updated_at = serializers.DateTimeField(required=False)
    current_period_usage = DecimalString(required=False)
    unpaid_invoices_amount = DecimalString(required=False)
    is_cached_fallback = serializers.BooleanField()

    class Meta:
        ref_name = "CustomerWalletResponse"


class CreatedByUserResponseSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=["api_key", "system"])

    class Meta:
        ref_name = "CreatedByUser"


class ConsumedLotResponseSerializer(serializers.Serializer):
    credit_transaction_id = serializers.CharField(help_text="The credit lot (wtxn_...) that paid.")
    credits = DecimalString(help_text="Credits it gave to this debit.")
    overdraft_repayment = serializers.BooleanField(
        help_text="A credit that arrived after the debit and repaid the overdraft it left (MANUAL_BALANCE_DEBIT)."
    )

    class Meta:
        ref_name = "ConsumedLot"


class WalletTransactionResponseSerializer(serializers.Serializer):
    """A ledger row (upstream §2.15 WalletTransactionResponse); expansions only when asked for."""

    id = serializers.CharField()
    wallet_id = serializers.CharField()
    customer_id = serializers.CharField()
    type = serializers.ChoiceField(choices=WalletTransaction.Type.choices)
    amount = DecimalString(help_text="Currency value of the row.")
    credit_amount = DecimalString(help_text="Credits moved (always positive).")
    credit_balance_before = DecimalString()
    credit_balance_after = DecimalString()
    credits_available = DecimalString(help_text="On a credit: what is left of it to spend.")
    transaction_status = serializers.ChoiceField(choices=WalletTransaction.Status.choices)
    transaction_reason = serializers.ChoiceField(choices=TransactionReason.choices)
    reference_type = serializers.ChoiceField(choices=WalletTransaction.ReferenceType.choices, allow_blank=True)
    reference_id = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    metadata = serializers.DictField(child=serializers.CharField())
    expiry_date = serializers.DateTimeField(allow_null=True)
    priority = serializers.IntegerField(allow_null=True)
    currency = serializers.CharField()
    conversion_rate = DecimalString(allow_null=True, help_text="Set on debits.")
    topup_conversion_rate = DecimalString(allow_null=True, help_text="Set on credits.")
    idempotency_key = serializers.CharField(allow_null=True)
    parent_transaction_id = serializers.CharField(allow_null=True)
    tenant_id = serializers.CharField()
    environment_id = serializers.CharField()
    status = serializers.ChoiceField(choices=ENTITY_STATUSES)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_blank=True)
    updated_by = serializers.CharField(allow_blank=True)
    consumption_breakdown = ConsumedLotResponseSerializer(
        many=True,
        required=False,
        help_text="Debits only: the lots that paid for it, in consumption order, then any later credits that "
        "repaid its overdraft. Sums to credit_amount unless an overdraft is still owed. Credits omit it.",
    )
    customer = CustomerSerializer(required=False, help_text="With expand=customer.")
    wallet = WalletResponseSerializer(required=False, help_text="With expand=wallet.")
    created_by_user = CreatedByUserResponseSerializer(required=False, allow_null=True, help_text="With expand=created_by_user.")

    class Meta:
        ref_name = "WalletTransactionResponse"


class TopUpResponseSerializer(WalletResponseSerializer):
    """Seed 003's wallet fields at the top level, plus the SDK's TopUpWalletResponse members."""

    wallet_transaction = WalletTransactionResponseSerializer()
    wallet = WalletResponseSerializer()
    invoice_id = serializers.CharField(required=False, help_text="Only for invoiced purchases.")

    class Meta:
        ref_name = "TopUpWalletResponse"


class TerminateResponseSerializer(WalletResponseSerializer):
    message = serializers.CharField(help_text='"wallet terminated successfully"')

    class Meta:
        ref_name = "TerminateWalletResponse"


WalletListResponseSerializer = list_envelope(WalletResponseSerializer, "ListWalletsResponse")
WalletTransactionListResponseSerializer = list_envelope(WalletTransactionResponseSerializer, "ListWalletTransactionsResponse")
