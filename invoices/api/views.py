"""The /v1 invoice and payment endpoints: reads through invoices.selectors, writes through
invoices.services, every lookup scoped to the API key's environment."""

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from core.api.pagination import page_envelope, parse_page
from core.db.replica import replica_reads
from core.exceptions import NotFound, ValidationFailed
from invoices import selectors, services
from invoices.api.render import invoice_data, payment_data
from invoices.api.serializers import (
    InvoiceListResponseSerializer,
    InvoiceResponseSerializer,
    InvoiceSearchInputSerializer,
    InvoiceVoidResponseSerializer,
    PaymentCreateInputSerializer,
    PaymentResponseSerializer,
)
from invoices.models import Invoice


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema(tags=["Invoices"])
class InvoiceViewSet(viewsets.GenericViewSet):
    queryset = Invoice.objects.none()  # for the schema generator; lookups go through selectors
    read_only_actions = ("search",)

    def _invoice(self, invoice_id: str) -> Invoice:
        return selectors.invoice_get(environment_id=self.request.auth.environment_id, invoice_id=invoice_id)

    @extend_schema(operation_id="getInvoice", summary="Get an invoice", responses=InvoiceResponseSerializer)
    def retrieve(self, request, id: str):
        return Response(invoice_data(self._invoice(id)))

    @extend_schema(
        operation_id="queryInvoice",
        summary="Search invoices",
        request=InvoiceSearchInputSerializer,
        responses=InvoiceListResponseSerializer,
    )
    @replica_reads
    def search(self, request):
        query = _validated(InvoiceSearchInputSerializer, request.data)
        limit, offset = parse_page(query.pop("limit", None), query.pop("offset", None))
        invoices = selectors.invoice_search(environment_id=request.auth.environment_id, **query)
        items = [invoice_data(invoice) for invoice in invoices[offset : offset + limit]]
        return Response(page_envelope(items, total=invoices.count(), limit=limit, offset=offset))

    @extend_schema(
        operation_id="voidInvoice",
        summary="Void an unpaid invoice (its pending credit fails)",
        request=None,
        responses=InvoiceVoidResponseSerializer,
    )
    def void(self, request, id: str):
        invoice = services.invoice_void(self._invoice(id), actor=request.auth.id)
        return Response({**invoice_data(self._invoice(invoice.id)), "message": "invoice voided successfully"})


@extend_schema(tags=["Payments"])
class PaymentViewSet(viewsets.GenericViewSet):
    queryset = Invoice.objects.none()

    @extend_schema(
        operation_id="createPayment",
        summary="Record an offline payment of an invoice (completes its purchased credits)",
        request=PaymentCreateInputSerializer,
        responses={201: PaymentResponseSerializer},
    )
    def create(self, request):
        data = _validated(PaymentCreateInputSerializer, request.data)
        try:
            invoice = selectors.invoice_get(environment_id=request.auth.environment_id, invoice_id=data["destination_id"])
        except NotFound:
            raise NotFound("Invoice not found", details={"destination_id": data["destination_id"]}) from None
        if data["currency"].lower() != invoice.currency:
            raise ValidationFailed(f"currency must be the invoice's ({invoice.currency})", field="currency")
        payment = services.invoice_pay(
            invoice,
            amount=data["amount"],
            method=data["payment_method_type"],
            idempotency_key=data.get("idempotency_key") or None,
            metadata=data.get("metadata"),
            actor=request.auth.id,
        )
        return Response(payment_data(payment), status=status.HTTP_201_CREATED)
