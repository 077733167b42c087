"""POST /v1/wallets/transactions/{id}/void and .../refund: take back what one credit lot has left.

Each parses its body, calls one service (wallets.services.voids) and answers with the debit it
wrote, the wallet as of that debit and, for a refund, the credit note. A lot of another
environment is a plain 404, like every other lookup.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.api.fields import StrictCharField
from core.api.serializers import InputSerializer
from invoices.api.render import credit_note_data
from invoices.api.serializers import CreditNoteResponseSerializer
from wallets import services
from wallets.api import render
from wallets.api.fields import MetadataField
from wallets.api.serializers import WalletResponseSerializer, WalletTransactionResponseSerializer
from wallets.api.views import TAGS, _WalletApiView
from wallets.ledger.idempotency import MAX_KEY_LENGTH
from wallets.services.voids import MAX_REASON_LENGTH, VoidResult

LOT_ID = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="The credit lot's transaction id (wtxn_...): a completed credit."
)


class LotVoidInputSerializer(InputSerializer):
    reason = StrictCharField(max_length=MAX_REASON_LENGTH, help_text="Why; kept as the debit's description.")
    idempotency_key = StrictCharField(
        max_length=MAX_KEY_LENGTH,
        trim_whitespace=False,
        help_text="Required. Same key and body replay the first result; another body is a 409.",
    )
    metadata = MetadataField(required=False, allow_null=True)

    class Meta:
        ref_name = "VoidCredits"


class LotVoidResponseSerializer(serializers.Serializer):
    wallet_transaction = WalletTransactionResponseSerializer(help_text="The CREDIT_VOID or CREDIT_REFUND debit.")
    wallet = WalletResponseSerializer(help_text="The wallet as of that debit.")

    class Meta:
        ref_name = "VoidCreditsResponse"


class LotRefundResponseSerializer(LotVoidResponseSerializer):
    credit_note = CreditNoteResponseSerializer()

    class Meta:
        ref_name = "RefundCreditsResponse"


@extend_schema(tags=TAGS)
class LotVoidViewSet(_WalletApiView):
    def _call(self, service, request, id) -> VoidResult:
        data = self.parsed(LotVoidInputSerializer, request.data).validated_data
        return service(
            environment_id=self.environment_id,
            transaction_id=id,
            reason=data["reason"],
            idempotency_key=data["idempotency_key"],
            metadata=data.get("metadata"),
            actor=self.actor,
        )

    @staticmethod
    def _body(result: VoidResult) -> dict:
        return {
            "wallet_transaction": render.transaction_data(result.transaction),
            "wallet": render.one_wallet_data(result.wallet),
        }

    @extend_schema(
        operation_id="voidWalletCredits",
        summary="Void what a credit lot has left",
        description="One CREDIT_VOID debit of the lot's unconsumed credits; what was consumed stays. "
        "Refused (400 invalid_operation) for a pending, failed, expired or empty lot, a debit, or a closed wallet; "
        "a frozen wallet may be voided.",
        parameters=[LOT_ID],
        request=LotVoidInputSerializer,
        responses={200: LotVoidResponseSerializer},
    )
    def void(self, request, id):
        return Response(self._body(self._call(services.credit_void, request, id)))

    @extend_schema(
        operation_id="refundWalletCredits",
        summary="Refund what a paid purchased lot has left, with a credit note",
        description="A CREDIT_REFUND debit of the lot's unconsumed credits and a credit note against its paid "
        "invoice, for the invoice's price of those credits. Only PURCHASED_CREDIT_INVOICED lots; a direct "
        "purchase has no invoice and is refused: void it instead.",
        parameters=[LOT_ID],
        request=LotVoidInputSerializer,
        responses={200: LotRefundResponseSerializer},
    )
    def refund(self, request, id):
        result = self._call(services.credit_refund, request, id)
        return Response({**self._body(result), "credit_note": credit_note_data(result.credit_note)})
