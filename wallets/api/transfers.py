"""/v1/wallets/transfers: move credits between two wallets of a customer, and read a transfer back.

The routes (wallets.api.urls) come before ``wallets/{id}``, so "transfers" is never read as a
wallet id. Both wallet ids are looked up in the API key's environment, so another environment's
wallet is a plain 404; the rules (same customer, currency and rate, both active) are
wallets.services.transfers'. A transfer answers 201, and so does its idempotent replay: the
same body as the first time.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.api.fields import StrictCharField
from wallets import selectors, services
from wallets.api import render
from wallets.api.fields import DecimalString, WireDecimalField
from wallets.api.serializers import WalletResponseSerializer, WalletTransactionResponseSerializer, _IdempotentInputSerializer
from wallets.api.views import IDEMPOTENCY_HEADER, _WalletApiView
from wallets.models import WalletTransfer

TAGS = ["Wallets"]
TRANSFER_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The transfer's id (xfer_...).")
MAX_WALLET_ID_LENGTH = 255


class WalletTransferInputSerializer(_IdempotentInputSerializer):
    from_wallet_id = StrictCharField(max_length=MAX_WALLET_ID_LENGTH, help_text="The wallet the credits leave.")
    to_wallet_id = StrictCharField(
        max_length=MAX_WALLET_ID_LENGTH,
        help_text="Another wallet of the same customer, currency and conversion_rate.",
    )
    credits = WireDecimalField(help_text="Credits to move: positive, at most 9 decimal places.")

    class Meta:
        ref_name = "TransferCredits"


class WalletTransferResponseSerializer(serializers.Serializer):
    """A transfer, its ledger rows, and both wallets as they stood right after it."""

    id = serializers.CharField(help_text="xfer_...; the reference_id of every row it wrote.")
    customer_id = serializers.CharField()
    from_wallet_id = serializers.CharField()
    to_wallet_id = serializers.CharField()
    credits = DecimalString()
    environment_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_blank=True)
    debit_transaction = WalletTransactionResponseSerializer(help_text="The TRANSFER_OUT debit of from_wallet.")
    credit_transactions = WalletTransactionResponseSerializer(
        many=True,
        help_text="One TRANSFER_IN (or TRANSFER_IN_PURCHASED, for purchased credits) per lot the debit took, "
        "in consumption order, each with that lot's expiry_date and priority.",
    )
    from_wallet = WalletResponseSerializer(help_text="Balances as of the transfer.")
    to_wallet = WalletResponseSerializer(help_text="Balances as of the transfer.")

    class Meta:
        ref_name = "WalletTransferResponse"


def transfer_data(view: selectors.TransferView) -> dict:
    transfer: WalletTransfer = view.transfer
    return {
        "id": transfer.id,
        "customer_id": transfer.customer_id,
        "from_wallet_id": transfer.from_wallet_id,
        "to_wallet_id": transfer.to_wallet_id,
        "credits": render.format_decimal(transfer.credits),
        "environment_id": transfer.environment_id,
        "created_at": render.timestamp(transfer.created_at),
        "created_by": transfer.created_by,
        "debit_transaction": render.transaction_data(view.debit),
        "credit_transactions": [render.transaction_data(row) for row in view.credits],
        "from_wallet": render.one_wallet_data(view.from_wallet),
        "to_wallet": render.one_wallet_data(view.to_wallet),
    }


@extend_schema(tags=TAGS)
class WalletTransferViewSet(_WalletApiView):
    queryset = WalletTransfer.objects.none()

    @extend_schema(
        operation_id="transferWalletCredits",
        summary="Move credits between two wallets of a customer",
        description="Both wallets active, of the same customer, currency and conversion_rate. The credits "
        "leave from_wallet in its consumption order and arrive lot by lot, keeping expiry and priority; "
        "purchased credits stay purchased. idempotency_key is required.",
        parameters=[IDEMPOTENCY_HEADER],
        request=WalletTransferInputSerializer,
        responses={201: WalletTransferResponseSerializer},
    )
    def create(self, request):
        data = self.parsed(WalletTransferInputSerializer, request.data).validated_data
        source = selectors.wallet_get(environment_id=self.environment_id, wallet_id=data["from_wallet_id"])
        destination = selectors.wallet_get(environment_id=self.environment_id, wallet_id=data["to_wallet_id"])
        result = services.wallet_transfer(
            source,
            destination,
            credits=data["credits"],
            idempotency_key=self.idempotency_key(data),
            description=data.get("description") or "",
            metadata=data.get("metadata"),
            actor=self.actor,
        )
        return Response(transfer_data(result), status=201)

    @extend_schema(
        operation_id="getWalletTransfer",
        summary="Read a transfer back",
        description="The same body the transfer answered, balances as of the transfer.",
        parameters=[TRANSFER_ID],
        responses={200: WalletTransferResponseSerializer},
    )
    def retrieve(self, request, id):
        return Response(transfer_data(selectors.transfer_get(environment_id=self.environment_id, transfer_id=id)))
