"""Request parsing and response schemas for the invoice and payment routes.

Responses are built by invoices.api.render; the response serializers here only describe them
to the OpenAPI document.
"""

from rest_framework import serializers

from core.api.fields import StrictCharField, StrictDateTimeField, StrictIntegerField
from core.api.schema import list_envelope
from invoices.models import Invoice, Payment
from wallets.api.fields import DecimalString, MetadataField, WireDecimalField


class InvoiceSearchInputSerializer(serializers.Serializer):
    invoice_ids = serializers.ListField(child=StrictCharField(max_length=50), required=False, max_length=1000)
    customer_id = StrictCharField(required=False, max_length=50)
    external_customer_id = StrictCharField(required=False, max_length=255)
    wallet_id = StrictCharField(required=False, max_length=50)
    invoice_status = serializers.ListField(child=serializers.ChoiceField(Invoice.Status.values), required=False)
    payment_status = serializers.ListField(child=serializers.ChoiceField(Invoice.PaymentStatus.values), required=False)
    billing_reason = serializers.ChoiceField(Invoice.BillingReason.values, required=False)
    start_time = StrictDateTimeField(required=False)
    end_time = StrictDateTimeField(required=False)
    order = serializers.ChoiceField(["asc", "desc"], required=False, default="desc")
    limit = StrictIntegerField(required=False, min_value=0, max_value=1000)
    offset = StrictIntegerField(required=False, min_value=0)

    def validate(self, attrs):
        if attrs.get("start_time") and attrs.get("end_time") and attrs["end_time"] < attrs["start_time"]:
            raise serializers.ValidationError({"end_time": "end_time must not be before start_time"})
        return attrs


class PaymentCreateInputSerializer(serializers.Serializer):
    amount = WireDecimalField()
    currency = StrictCharField(max_length=3, min_length=3)
    destination_id = StrictCharField(max_length=50)
    destination_type = serializers.ChoiceField(["INVOICE"], help_text="Only invoice payments are recorded here.")
    payment_method_type = serializers.ChoiceField(Payment.MethodType.values)
    idempotency_key = StrictCharField(required=False, max_length=255, allow_blank=True)
    metadata = MetadataField(required=False)
    process_payment = serializers.BooleanField(required=False, help_text="Accepted; payments are recorded, not processed.")


class InvoiceLineItemResponseSerializer(serializers.Serializer):
    id = serializers.CharField()
    invoice_id = serializers.CharField()
    customer_id = serializers.CharField()
    display_name = serializers.CharField()
    quantity = DecimalString()
    price_unit_amount = DecimalString()
    amount = DecimalString()
    currency = serializers.CharField()
    created_at = serializers.DateTimeField()


class CreditNoteResponseSerializer(serializers.Serializer):
    """A refund's credit note: the credits a CREDIT_REFUND took back and the money owed for them."""

    id = serializers.CharField(help_text="cn_...")
    invoice_id = serializers.CharField()
    wallet_transaction_id = serializers.CharField(help_text="The CREDIT_REFUND debit.")
    credits = DecimalString()
    amount = DecimalString(help_text="The invoice's price of the credits: amount_paid × credits / the lot's credits.")
    currency = serializers.CharField()
    reason = serializers.CharField()
    tenant_id = serializers.CharField()
    environment_id = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "CreditNoteResponse"


class InvoiceResponseSerializer(serializers.Serializer):
    id = serializers.CharField()
    tenant_id = serializers.CharField()
    environment_id = serializers.CharField()
    customer_id = serializers.CharField()
    wallet_id = serializers.CharField()
    wallet_transaction_id = serializers.CharField()
    invoice_number = serializers.CharField()
    invoice_type = serializers.ChoiceField(["ONE_OFF"])
    invoice_status = serializers.ChoiceField(Invoice.Status.values)
    payment_status = serializers.ChoiceField(Invoice.PaymentStatus.values)
    billing_reason = serializers.ChoiceField(Invoice.BillingReason.values)
    currency = serializers.CharField()
    amount_due = DecimalString()
    amount_paid = DecimalString()
    amount_remaining = DecimalString()
    subtotal = DecimalString()
    total = DecimalString()
    description = serializers.CharField()
    metadata = serializers.DictField(child=serializers.CharField())
    idempotency_key = serializers.CharField()
    line_items = InvoiceLineItemResponseSerializer(many=True)
    credit_notes = CreditNoteResponseSerializer(many=True, help_text="Refunds of the purchased credits, oldest first.")
    issue_date = serializers.DateTimeField()
    due_date = serializers.DateTimeField()
    finalized_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    voided_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    updated_by = serializers.CharField()


class InvoiceVoidResponseSerializer(InvoiceResponseSerializer):
    message = serializers.CharField()


class PaymentResponseSerializer(serializers.Serializer):
    id = serializers.CharField()
    tenant_id = serializers.CharField()
    environment_id = serializers.CharField()
    destination_type = serializers.ChoiceField(["INVOICE"])
    destination_id = serializers.CharField()
    amount = DecimalString()
    currency = serializers.CharField()
    payment_method_type = serializers.ChoiceField(Payment.MethodType.values)
    payment_status = serializers.ChoiceField(["SUCCEEDED"])
    idempotency_key = serializers.CharField(allow_null=True)
    metadata = serializers.DictField(child=serializers.CharField())
    succeeded_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    created_by = serializers.CharField()


InvoiceListResponseSerializer = list_envelope(InvoiceResponseSerializer, "InvoiceList")
