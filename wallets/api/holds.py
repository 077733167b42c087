"""The /v1 hold routes: reserve credits on a wallet, then capture or release them.

``POST /wallets/{id}/holds`` places a hold (201), ``GET /wallets/{id}/holds`` lists a wallet's
holds, ``GET /holds/{id}`` reads one, ``POST /holds/{id}/capture`` and
``.../release`` close it. A hold has its own top-level path, like a ledger row's id: it names the
wallet it belongs to. Each view parses its input, calls one selector or service
(wallets.services.holds), and renders the hold with ``hold_data``.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.api.fields import QuerySerializer, StrictCharField, StrictDateTimeField, StrictIntegerField
from core.api.pagination import MAX_LIMIT, MAX_OFFSET, page_envelope, parse_page
from core.api.schema import list_envelope
from core.api.serializers import InputSerializer
from wallets import selectors
from wallets.api.fields import DecimalString, MetadataField, WireDecimalField
from wallets.api.render import timestamp
from wallets.api.views import IDEMPOTENCY_HEADER, WALLET_ID, _WalletApiView
from wallets.ledger.idempotency import MAX_KEY_LENGTH
from wallets.ledger.money import format_decimal
from wallets.models import WalletHold
from wallets.services import holds

TAGS = ["Holds"]
HOLD_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The hold's id (hold_...).")


def _optional(field_class, **kwargs):
    return field_class(required=False, allow_null=True, **kwargs)


def _key_field():
    return _optional(
        StrictCharField,
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_KEY_LENGTH,
        help_text="Required (here or in the Idempotency-Key header). Same key and parameters replay the hold; "
        "other parameters are a 409.",
    )


class HoldCreateInputSerializer(InputSerializer):
    credits = WireDecimalField(help_text="Credits to reserve; the spendable lots must hold them.")
    idempotency_key = _key_field()
    expires_at = _optional(StrictDateTimeField, help_text="When the workers release the hold; or give expires_in_seconds.")
    expires_in_seconds = _optional(
        StrictIntegerField,
        min_value=holds.MIN_HOLD_SECONDS,
        max_value=holds.MAX_HOLD_SECONDS,
        help_text=f"Default {holds.DEFAULT_HOLD_SECONDS} (a day); at most {holds.MAX_HOLD_SECONDS} (7 days).",
    )
    description = _optional(StrictCharField, allow_blank=True, trim_whitespace=False, max_length=5000)
    metadata = _optional(MetadataField)

    class Meta:
        ref_name = "CreateHold"


class HoldCaptureInputSerializer(InputSerializer):
    credits = _optional(WireDecimalField, help_text="Credits to debit, at most the hold's; default all of them.")
    idempotency_key = _key_field()

    class Meta:
        ref_name = "CaptureHold"


class HoldReleaseInputSerializer(InputSerializer):
    idempotency_key = _key_field()

    class Meta:
        ref_name = "ReleaseHold"


class HoldListQuerySerializer(QuerySerializer):
    limit = _optional(StrictIntegerField, min_value=0, max_value=MAX_LIMIT, help_text="1..1000; absent or 0 means 50.")
    offset = _optional(StrictIntegerField, min_value=0, max_value=MAX_OFFSET)
    status = _optional(serializers.ChoiceField, choices=selectors.HOLD_STATUSES, allow_blank=True)


class HoldEarmarkResponseSerializer(serializers.Serializer):
    credit_transaction_id = serializers.CharField(help_text="The credit lot (wtxn_...) the credits were reserved from.")
    credits = DecimalString(help_text="Credits reserved from it (kept after the hold closes, as its record).")

    class Meta:
        ref_name = "HoldEarmark"


class HoldResponseSerializer(serializers.Serializer):
    id = serializers.CharField()
    wallet_id = serializers.CharField()
    customer_id = serializers.CharField()
    credits = DecimalString()
    captured_credits = DecimalString()
    status = serializers.ChoiceField(choices=selectors.HOLD_STATUSES)
    expires_at = serializers.DateTimeField()
    capture_transaction_id = serializers.CharField(allow_null=True, help_text="The HOLD_CAPTURE debit, once captured.")
    earmarks = HoldEarmarkResponseSerializer(many=True)
    idempotency_key = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    metadata = serializers.DictField(child=serializers.CharField())
    closed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_blank=True)
    updated_by = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "Hold"


HoldListResponseSerializer = list_envelope(HoldResponseSerializer, "ListHoldsResponse")


def hold_data(hold: WalletHold) -> dict:
    return {
        "id": hold.id,
        "wallet_id": hold.wallet_id,
        "customer_id": hold.customer_id,
        "credits": format_decimal(hold.credits),
        "captured_credits": format_decimal(hold.captured_credits),
        "status": hold.hold_status,
        "expires_at": timestamp(hold.expires_at),
        "capture_transaction_id": hold.capture_transaction_id,
        "earmarks": [
            {"credit_transaction_id": earmark.lot_id, "credits": format_decimal(earmark.earmarked)}
            for earmark in hold.earmarks.all()
        ],
        "idempotency_key": hold.idempotency_key,
        "description": hold.description,
        "metadata": hold.metadata or {},
        "closed_at": timestamp(hold.closed_at),
        "created_at": timestamp(hold.created_at),
        "updated_at": timestamp(hold.updated_at),
        "created_by": hold.created_by,
        "updated_by": hold.updated_by,
    }


@extend_schema(tags=TAGS)
class HoldViewSet(_WalletApiView):
    def _hold(self) -> WalletHold:
        return selectors.hold_get(environment_id=self.environment_id, hold_id=self.kwargs["id"])

    def _render(self, hold: WalletHold, *, created: bool = False) -> Response:
        # Re-read with its earmarks, as a GET would answer.
        hold = selectors.hold_get(environment_id=self.environment_id, hold_id=hold.id)
        return Response(hold_data(hold), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        operation_id="createHold",
        summary="Reserve credits on a wallet",
        description="Earmarks the wallet's spendable lots in consumption order; the credits stay in credit_balance "
        "but leave available_credit_balance until captured or released. 201 with the hold (a replay answers 201 "
        "with the same hold). The workers release it at expires_at.",
        parameters=[WALLET_ID, IDEMPOTENCY_HEADER],
        request=HoldCreateInputSerializer,
        responses={201: HoldResponseSerializer},
    )
    def create(self, request, id):
        wallet = self.get_object()
        data = self.parsed(HoldCreateInputSerializer, request.data).validated_data
        result = holds.hold_place(
            wallet,
            credits=data["credits"],
            idempotency_key=self.idempotency_key(data),
            expires_at=data.get("expires_at"),
            expires_in_seconds=data.get("expires_in_seconds"),
            description=data.get("description") or "",
            metadata=data.get("metadata"),
            actor=self.actor,
        )
        return self._render(result.hold, created=True)

    @extend_schema(
        operation_id="listWalletHolds",
        summary="List a wallet's holds",
        description="Newest first; status filters by held, captured, released or expired.",
        parameters=[WALLET_ID, HoldListQuerySerializer],
        responses={200: HoldListResponseSerializer},
    )
    def list_holds(self, request, id):
        wallet = self.get_object()
        data = self.parsed(HoldListQuerySerializer, request.query_params).validated_data
        limit, offset = parse_page(data.get("limit"), data.get("offset"))
        rows = selectors.wallet_holds(environment_id=self.environment_id, wallet_id=wallet.id, status=data.get("status") or None)
        items = [hold_data(hold) for hold in rows[offset : offset + limit]]
        return Response(page_envelope(items, total=rows.count(), limit=limit, offset=offset))

    @extend_schema(operation_id="getHold", summary="Get a hold", parameters=[HOLD_ID], responses={200: HoldResponseSerializer})
    def retrieve(self, request, id):
        return Response(hold_data(self._hold()))

    @extend_schema(
        operation_id="captureHold",
        summary="Capture a hold",
        description="Debits credits (default: all the hold's) as one HOLD_CAPTURE transaction drawn from the earmarked "
        "lots; the rest returns to them. Refused on a frozen or closed wallet and after expires_at.",
        parameters=[HOLD_ID, IDEMPOTENCY_HEADER],
        request=HoldCaptureInputSerializer,
        responses={200: HoldResponseSerializer},
    )
    def capture(self, request, id):
        hold = self._hold()
        data = self.parsed(HoldCaptureInputSerializer, request.data).validated_data
        result = holds.hold_capture(
            hold, credits=data.get("credits"), idempotency_key=self.idempotency_key(data), actor=self.actor
        )
        return self._render(result.hold)

    @extend_schema(
        operation_id="releaseHold",
        summary="Release a hold",
        description="Returns every reserved credit to its lot (also on a frozen wallet).",
        parameters=[HOLD_ID, IDEMPOTENCY_HEADER],
        request=HoldReleaseInputSerializer,
        responses={200: HoldResponseSerializer},
    )
    def release(self, request, id):
        hold = self._hold()
        data = self.parsed(HoldReleaseInputSerializer, request.data).validated_data
        result = holds.hold_release(hold, idempotency_key=self.idempotency_key(data), actor=self.actor)
        return self._render(result.hold)
