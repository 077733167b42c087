"""POST /v1/wallets/{id}/debit/preview: which lots a debit would consume, without debiting.

The body is the debit's (wallets.api.serializers.WalletDebitInputSerializer), with
``transaction_reason`` optional and ``idempotency_key`` accepted and unused (nothing is written).
The view calls wallets.services.previews and renders its answer with ``debit_preview_data``.
A preview only reads, so read-only keys may call it.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.api.errors import STATUS_BY_CODE, error_body
from core.api.schema import ErrorResponseSerializer
from wallets import selectors
from wallets.api.fields import DecimalString
from wallets.api.render import timestamp
from wallets.api.serializers import API_DEBIT_REASONS, WalletDebitInputSerializer
from wallets.api.views import WALLET_ID, _WalletApiView
from wallets.ledger.money import format_decimal
from wallets.models import TransactionReason
from wallets.services import previews

TAGS = ["Wallets"]


class DebitPreviewInputSerializer(WalletDebitInputSerializer):
    """The debit's body; the preview checks it as the debit does."""

    transaction_reason = serializers.ChoiceField(
        choices=API_DEBIT_REASONS, required=False, allow_null=True, help_text="Default MANUAL_BALANCE_DEBIT."
    )

    class Meta:
        ref_name = "PreviewDebit"


class PlannedLotResponseSerializer(serializers.Serializer):
    credit_transaction_id = serializers.CharField(help_text="The credit lot (wtxn_...).")
    credits = DecimalString(help_text="Credits the debit would take from this lot.")
    credits_available_before = DecimalString(help_text="What the lot holds spendable now (earmarked credits excluded).")
    credits_available_after = DecimalString()
    expiry_date = serializers.DateTimeField(allow_null=True)
    priority = serializers.IntegerField(allow_null=True)
    transaction_reason = serializers.ChoiceField(choices=TransactionReason.choices)
    purchased = serializers.BooleanField(help_text="Paid-for credits (counted as purchased in the balance breakdown).")

    class Meta:
        ref_name = "PlannedLot"


class DebitPreviewResponseSerializer(serializers.Serializer):
    wallet_id = serializers.CharField()
    credits = DecimalString()
    transaction_reason = serializers.ChoiceField(choices=TransactionReason.choices)
    would_succeed = serializers.BooleanField(help_text="Whether the debit would succeed if sent now.")
    error = ErrorResponseSerializer(
        allow_null=True, help_text="When it would not: the error the debit would answer (code, message, status)."
    )
    credit_balance = DecimalString(help_text="The wallet's credit balance now.")
    expiring_credits = DecimalString(help_text="Credits in lots past their expiry, which the debit would expire first.")
    credit_balance_before = DecimalString(help_text="credit_balance less expiring_credits: where the debit starts.")
    credit_balance_after = DecimalString(allow_null=True, help_text="credit_balance_before less credits; null if refused.")
    held_credits = DecimalString(help_text="Credits reserved by open holds: not spendable.")
    available_credit_balance = DecimalString(help_text="credit_balance_before less held_credits.")
    overdraft_credits = DecimalString(help_text="What the lots do not cover and a MANUAL_BALANCE_DEBIT would owe.")
    consumption = PlannedLotResponseSerializer(many=True, help_text="The lots the debit would take, in order.")
    previewed_at = serializers.DateTimeField(help_text="The instant the preview describes.")

    class Meta:
        ref_name = "DebitPreviewResponse"


def debit_preview_data(preview: previews.DebitPreview) -> dict:
    refusal, wallet = preview.refusal, preview.wallet
    after = preview.credit_balance_after
    return {
        "wallet_id": wallet.id,
        "credits": format_decimal(preview.credits),
        "transaction_reason": preview.reason,
        "would_succeed": preview.would_succeed,
        "error": None
        if refusal is None
        else error_body(refusal.code, refusal.message, STATUS_BY_CODE[refusal.code], refusal.details),
        "credit_balance": format_decimal(wallet.credit_balance),
        "expiring_credits": format_decimal(preview.expiring_credits),
        "credit_balance_before": format_decimal(preview.credit_balance_before),
        "credit_balance_after": None if after is None else format_decimal(after),
        "held_credits": format_decimal(wallet.held_credits),
        "available_credit_balance": format_decimal(preview.credit_balance_before - wallet.held_credits),
        "overdraft_credits": format_decimal(preview.overdraft_credits),
        "consumption": [
            {
                "credit_transaction_id": planned.lot.id,
                "credits": format_decimal(planned.credits),
                "credits_available_before": format_decimal(planned.available_before),
                "credits_available_after": format_decimal(planned.available_after),
                "expiry_date": timestamp(planned.lot.expiry_date),
                "priority": planned.lot.priority,
                "transaction_reason": planned.lot.transaction_reason,
                "purchased": planned.purchased,
            }
            for planned in preview.lots
        ],
        "previewed_at": timestamp(preview.now),
    }


@extend_schema(tags=TAGS)
class DebitPreviewViewSet(_WalletApiView):
    read_only_actions = ("preview",)

    @extend_schema(
        operation_id="previewWalletDebit",
        summary="Preview a debit",
        description="Answers which lots a debit of `credits` would consume, in consumption order, and the balance "
        "it would leave, writing nothing. The body is checked exactly as the debit's (400 naming the field); a "
        "debit the wallet would refuse (not active, insufficient balance) is still a 200, with would_succeed "
        "false and the debit's error. Lots past their expiry are left out (the debit expires them first) and "
        "credits held by open holds are not spendable. idempotency_key, description and metadata are checked "
        "and otherwise ignored.",
        parameters=[WALLET_ID],
        request=DebitPreviewInputSerializer,
        responses={200: DebitPreviewResponseSerializer},
    )
    def preview(self, request, id):
        wallet = selectors.wallet_ref(environment_id=self.environment_id, wallet_id=id)
        with self.not_found_first():
            data = self.parsed(DebitPreviewInputSerializer, request.data).validated_data
            preview = previews.wallet_debit_preview(
                wallet,
                credits=data["credits"],
                reason=data.get("transaction_reason") or TransactionReason.MANUAL_BALANCE_DEBIT,
                description=data.get("description") or "",
                metadata=data.get("metadata"),
            )
        return Response(debit_preview_data(preview))
